/*
 * Readers and writers: CSV by column name, IDX through zlib, the model
 * file and training checkpoints, outputs that are complete or absent,
 * the seeded RNG, and the suggestion rules on crafted curves.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "sc_blas.h"
#include "sc_ckpt.h"
#include "sc_csv.h"
#include "sc_data.h"
#include "sc_error.h"
#include "sc_io.h"
#include "sc_rng.h"
#include "sc_suggest.h"
#include "sc_train.h"

static char dir[] = "/tmp/sc-test-io-XXXXXX";

static const char *
path_in(const char *name)
{
	static char buf[4][256];
	static int turn;

	turn = (turn + 1) % 4;
	snprintf(buf[turn], sizeof(buf[turn]), "%s/%s", dir, name);
	return buf[turn];
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	fputs(text, f);
	fclose(f);
}

struct sums {
	int col_b;
	double b_total;
	long rows;
};

static int
sum_header(void *ctx, const char *path, int n, char **names)
{
	struct sums *s = ctx;

	(void)path;
	s->col_b = sc_csv_find(n, names, "b");
	return s->col_b < 0 ? sc_fail("no b") : 0;
}

static int
sum_row(void *ctx, const struct sc_csv_row *row)
{
	struct sums *s = ctx;
	double v;

	if (sc_csv_number(row, s->col_b, &v) < 0)
		return -1;
	s->b_total += v;
	s->rows++;
	return 0;
}

static void
test_csv(void)
{
	const char *p = path_in("a.csv");
	struct sums s = { 0 };

	/* BOM, CRLF, columns found by name, a quoted header cell. */
	write_text(p, "\xEF\xBB\xBF\"a\",b,c\r\n1,2,3\r\n4,5.5,6\r\n");
	CHECK(sc_csv_read(p, sum_header, sum_row, &s) == 0);
	CHECK(s.rows == 2);
	CHECK(s.b_total == 7.5);

	write_text(p, "a,b\n1,2\n3\n");
	memset(&s, 0, sizeof(s));
	CHECK(sc_csv_read(p, sum_header, sum_row, &s) < 0);
	CHECK(strstr(sc_error(), "line 3") != NULL);

	write_text(p, "a,b\n1,2\n3,x\n");
	memset(&s, 0, sizeof(s));
	CHECK(sc_csv_read(p, sum_header, sum_row, &s) < 0);
	CHECK(strstr(sc_error(), "line 3") != NULL);
	CHECK(strstr(sc_error(), "'b'") != NULL);

	write_text(p, "");
	CHECK(sc_csv_read(p, sum_header, sum_row, &s) < 0);
	CHECK(strstr(sc_error(), "empty") != NULL);

	CHECK(sc_csv_read(path_in("missing.csv"), NULL, sum_row, &s) < 0);
	CHECK(strstr(sc_error(), "missing.csv") != NULL);
}

static void
write_gz(const char *path, const unsigned char *data, size_t len)
{
	gzFile f = gzopen(path, "wb");

	gzwrite(f, data, (unsigned)len);
	gzclose(f);
}

static void
test_idx(void)
{
	/* Two 2x3 images. */
	unsigned char img[16 + 12] = { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2,
		0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	uint32_t dims[3];
	uint8_t *data;

	write_gz(path_in("img.gz"), img, sizeof(img));
	data = sc_idx_read(path_in("img.gz"), 3, dims);
	if (CHECK(data != NULL)) {
		CHECK(dims[0] == 2 && dims[1] == 2 && dims[2] == 3);
		CHECK(data[0] == 1 && data[11] == 12);
		free(data);
	}

	write_gz(path_in("short.gz"), img, sizeof(img) - 1);
	CHECK(sc_idx_read(path_in("short.gz"), 3, dims) == NULL);
	CHECK(strstr(sc_error(), "truncated") != NULL);

	img[2] = 9;
	write_gz(path_in("magic.gz"), img, sizeof(img));
	CHECK(sc_idx_read(path_in("magic.gz"), 3, dims) == NULL);
	CHECK(strstr(sc_error(), "not an IDX file") != NULL);
}

static void
test_model_file(void)
{
	struct sc_model_spec spec;
	struct sc_shape in = { 5, 1, 1 };
	struct sc_model *a, *b;
	struct sc_rng rng;
	cJSON *head = cJSON_CreateObject(), *back = NULL;
	const char *p = path_in("m.scm");
	FILE *f;

	cJSON_AddStringToObject(head, "model", "mlp");
	sc_model_spec_parse(&spec, "mlp", "4");
	a = sc_model_create(&spec, in, 3, 2);
	b = sc_model_create(&spec, in, 3, 2);
	sc_rng_seed(&rng, 3);
	sc_model_init(a, &rng);
	CHECK(sc_ckpt_save(p, a, head) == 0);
	CHECK(sc_ckpt_load(p, b, &back) == 0);
	CHECK(memcmp(a->theta, b->theta, a->n_theta * sizeof(float)) == 0);
	CHECK(back != NULL && strcmp(cJSON_GetObjectItem(back, "model")
	    ->valuestring, "mlp") == 0);
	cJSON_Delete(back);

	/* Flip one byte of a parameter: the checksum must catch it. */
	f = fopen(p, "r+b");
	fseek(f, -17, SEEK_END);
	fputc(0x5a, f);
	fclose(f);
	CHECK(sc_ckpt_load(p, b, NULL) < 0);
	CHECK(strstr(sc_error(), "checksum") != NULL);

	write_text(p, "not a model at all, really");
	CHECK(sc_ckpt_load(p, b, NULL) < 0);
	CHECK(strstr(sc_error(), "magic") != NULL);
	cJSON_Delete(head);
	sc_model_free(a);
	sc_model_free(b);
}

/* The rows a run logs, and where it is to stop. */
struct log {
	struct sc_log_row rows[64];
	int n;
	long stop_at;
	const char *ckpt;
	const cJSON *config;
};

static int
keep_row(void *ctx, const struct sc_log_row *row)
{
	struct log *lg = ctx;

	if (lg->n < 64)
		lg->rows[lg->n++] = *row;
	return 0;
}

static int
stop_with_checkpoint(void *ctx, struct sc_trainer *tr)
{
	struct log *lg = ctx;

	if (tr->update != lg->stop_at)
		return 0;
	return sc_ckpt_save_run(lg->ckpt, tr, lg->config) < 0 ? -1 : 1;
}

static struct sc_trainer *
table_trainer(const char *table)
{
	struct sc_train_config c;
	char spec[300];

	sc_train_config_default(&c);
	snprintf(spec, sizeof(spec), "csv:%s", table);
	sc_train_option(&c, "data", spec);
	sc_train_option(&c, "val-split", "0.25");
	sc_train_option(&c, "hidden", "4");
	sc_train_option(&c, "batch", "7");
	sc_train_option(&c, "threads", "1");
	c.log_every = 3;
	c.estimate_every = 2;
	if (sc_train_config_finish(&c) < 0)
		return NULL;
	return sc_trainer_create(&c);
}

/* A run stopped with a checkpoint and resumed by another trainer logs
 * the rows and ends with the weights of the run never stopped; the
 * checkpoint's bytes are refused whenever they are cut or altered. */
static void
test_checkpoint_file(void)
{
	const char *table = path_in("t.csv"), *p = path_in("run.ckpt");
	struct sc_trainer *a, *b, *c;
	struct sc_train_result res;
	struct sc_train_hooks hooks = { keep_row, NULL, NULL, NULL, NULL };
	struct sc_ckpt_view v;
	static struct log full, first, rest;
	double lr[25];
	cJSON *config = cJSON_CreateObject();
	unsigned char *bytes;
	size_t len;
	FILE *f;
	int refused = 0;

	f = fopen(table, "w");
	fprintf(f, "x,y,label\n");
	for (int i = 0; i < 48; i++)
		fprintf(f, "%d,%g,%d\n", i % 5, (i * 37 % 11) / 3.0, i % 3);
	fclose(f);
	for (int i = 0; i < 25; i++)
		lr[i] = 0.05 + 0.01 * (i % 7);
	cJSON_AddStringToObject(config, "model", "mlp");

	a = table_trainer(table);
	b = table_trainer(table);
	c = table_trainer(table);
	if (!CHECK(a != NULL && b != NULL && c != NULL))
		goto done;
	hooks.ctx = &full;
	CHECK(sc_train_run(a, 25, lr, NULL, &hooks, &res) == 0);

	first.stop_at = 11;
	first.ckpt = p;
	first.config = config;
	hooks.ctx = &first;
	hooks.after_update = stop_with_checkpoint;
	CHECK(sc_train_run(b, 25, lr, NULL, &hooks, &res) == 1);
	CHECK(b->update == 11);

	CHECK(sc_ckpt_read(p, &v) == 0);
	CHECK(v.kind == SC_CKPT_RUN);
	CHECK(sc_ckpt_restore_run(&v, c) == 0);
	sc_ckpt_view_free(&v);
	CHECK(c->update == 11);
	hooks.ctx = &rest;
	hooks.after_update = NULL;
	CHECK(sc_train_run(c, 25, lr, NULL, &hooks, &res) == 0);
	CHECK(first.n + rest.n == full.n);
	for (int i = 0; i < rest.n && first.n + i < full.n; i++) {
		const struct sc_log_row *x = &rest.rows[i];
		const struct sc_log_row *y = &full.rows[first.n + i];

		CHECK(x->iter == y->iter && x->loss == y->loss &&
		    x->acc == y->acc && x->val_loss == y->val_loss &&
		    x->lr_estimate == y->lr_estimate);
	}
	CHECK(memcmp(a->model->theta, c->model->theta,
	    a->model->n_theta * sizeof(float)) == 0);
	CHECK(memcmp(a->model->velocity, c->model->velocity,
	    a->model->n_theta * sizeof(float)) == 0);

	/* Every cut of the file, and a byte too many, is refused. */
	f = fopen(p, "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	bytes = malloc(len + 1);
	CHECK(fread(bytes, 1, len, f) == len);
	fclose(f);
	for (size_t cut = 0; cut < len; cut++) {
		refused += sc_ckpt_parse(bytes, cut, "cut", &v) < 0;
		sc_ckpt_view_free(&v);
	}
	CHECK(refused == (int)len);
	bytes[len] = 0;
	CHECK(sc_ckpt_parse(bytes, len + 1, "long", &v) < 0);
	sc_ckpt_view_free(&v);
	CHECK(strstr(sc_error(), "long: 1 bytes more") != NULL);
	CHECK(sc_ckpt_parse(bytes, len, "whole", &v) == 0);
	sc_ckpt_view_free(&v);
	bytes[8] = 2;
	CHECK(sc_ckpt_parse(bytes, len, "v2", &v) < 0);
	sc_ckpt_view_free(&v);
	CHECK(strstr(sc_error(), "v2: format version 2") != NULL);
	bytes[8] = 1;
	bytes[len / 2] ^= 1;
	CHECK(sc_ckpt_parse(bytes, len, "flip", &v) < 0);
	sc_ckpt_view_free(&v);
	CHECK(strstr(sc_error(), "checksum") != NULL);
	free(bytes);

	/* A checkpoint also gives a network its weights, as a model
	 * file does. */
	CHECK(sc_ckpt_load(p, a->model, NULL) == 0);
done:
	cJSON_Delete(config);
	sc_trainer_free(a);
	sc_trainer_free(b);
	sc_trainer_free(c);
}

static void
test_config_diff(void)
{
	cJSON *x = cJSON_Parse("{\"batch\": 64, \"seed\": 1, "
	    "\"schedule\": \"a.csv\", \"hidden\": \"32\"}");
	cJSON *y = cJSON_Parse("{\"batch\": 32, \"seed\": 1, "
	    "\"schedule\": \"b.csv\", \"nesterov\": true}");
	char buf[256];

	CHECK(sc_ckpt_config_diff(x, x, buf, sizeof(buf)) == 0);
	CHECK(sc_ckpt_config_diff(x, y, buf, sizeof(buf)) == 3);
	CHECK(strcmp(buf, "batch: 64 in the checkpoint, 32 here; hidden: "
	    "\"32\" in the checkpoint, none here; nesterov: none in the "
	    "checkpoint, true here") == 0);
	cJSON_Delete(x);
	cJSON_Delete(y);
	/* Rows that differ are shown with what they were made from, when
	 * that differs too; the names alone count for nothing. */
	x = cJSON_Parse("{\"schedule\": \"--max-lr 0.1\", "
	    "\"schedule_crc\": \"0a\"}");
	y = cJSON_Parse("{\"schedule\": \"--max-lr 0.2\", "
	    "\"schedule_crc\": \"0b\"}");
	CHECK(sc_ckpt_config_diff(x, y, buf, sizeof(buf)) == 1);
	CHECK(strcmp(buf, "schedule_crc: \"0a\" in the checkpoint, \"0b\" "
	    "here; schedule: \"--max-lr 0.1\" in the checkpoint, \"--max-lr "
	    "0.2\" here") == 0);
	cJSON_Delete(y);
	y = cJSON_Parse("{\"schedule\": \"--max-lr 0.1\", "
	    "\"schedule_crc\": \"0b\"}");
	CHECK(sc_ckpt_config_diff(x, y, buf, sizeof(buf)) == 1);
	CHECK(strcmp(buf, "schedule_crc: \"0a\" in the checkpoint, \"0b\" "
	    "here") == 0);
	cJSON_Delete(x);
	cJSON_Delete(y);
}

/* A name twice in one object, at the top or inside, is found; the same
 * name in two objects is not a repeat. */
static void
test_json_repeated(void)
{
	static const char *const cases[][2] = {
		{ "{\"a\": 1, \"b\": 2}", NULL },
		{ "{\"a\": 1, \"b\": 2, \"a\": 3}", "a" },
		{ "{\"l\": [{\"u\": 1}, {\"u\": 2}]}", NULL },
		{ "{\"l\": [{\"u\": 1}, {\"v\": 2, \"v\": 3}]}", "v" },
		{ "[{\"x\": {\"y\": 1, \"z\": 2, \"y\": 3}}]", "y" },
		{ "[1, 2, 1]", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = cJSON_Parse(cases[i][0]);
		const char *got = sc_json_repeated(o);

		if (!CHECK(cases[i][1] == NULL ? got == NULL : got != NULL &&
		    strcmp(got, cases[i][1]) == 0))
			fprintf(stderr, "  %s: %s\n", cases[i][0],
			    got != NULL ? got : "none");
		cJSON_Delete(o);
	}
}

static void
test_outputs(void)
{
	const char *p = path_in("out.txt");
	struct sc_out o;
	char buf[64] = "";
	FILE *f;

	write_text(p, "old\n");
	CHECK(sc_out_open(&o, p) == 0);
	fputs("new\n", o.f);
	sc_out_abort(&o);		/* the old file stays */
	f = fopen(p, "r");
	CHECK(fgets(buf, sizeof(buf), f) != NULL && strcmp(buf, "old\n")
	    == 0);
	fclose(f);

	CHECK(sc_out_open(&o, p) == 0);
	fputs("new\n", o.f);
	CHECK(sc_out_commit(&o) == 0);
	f = fopen(p, "r");
	CHECK(fgets(buf, sizeof(buf), f) != NULL && strcmp(buf, "new\n")
	    == 0);
	fclose(f);

	CHECK(sc_out_open(&o, "/nonexistent-dir/x.csv") < 0);
	CHECK(strstr(sc_error(), "/nonexistent-dir/x.csv") != NULL);
}

static void
test_rng(void)
{
	struct sc_rng a, b;
	uint32_t idx[100], seen[100] = { 0 };
	int same = 1;

	sc_rng_seed(&a, 9);
	sc_rng_seed(&b, 9);
	for (int i = 0; i < 1000; i++)
		same &= sc_rng_next(&a) == sc_rng_next(&b);
	CHECK(same);
	for (int i = 0; i < 100; i++)
		idx[i] = (uint32_t)i;
	sc_rng_shuffle(&a, idx, 100);
	for (int i = 0; i < 100; i++)
		seen[idx[i]]++;
	for (int i = 0; i < 100; i++)
		same &= seen[i] == 1;
	CHECK(same);			/* a permutation */
	for (int i = 0; i < 1000; i++) {
		double u = sc_rng_uniform(&a);

		same &= u >= 0.0 && u < 1.0 && sc_rng_below(&a, 7) < 7;
	}
	CHECK(same);
}

/* A curve as a CSV: n rows, loss from f, val_acc every 5 rows. */
static void
write_curve(const char *p, int n, double (*loss)(double), int with_val,
    double (*acc)(double))
{
	FILE *f = fopen(p, "w");

	fprintf(f, with_val ? "iter,lr,loss,val_acc\n" : "iter,lr,loss\n");
	for (int i = 0; i < n; i++) {
		double lr = 1e-3 * pow(1e4, (double)i / (n - 1));

		fprintf(f, "%d,%.17g,%.17g", i, lr, loss(lr));
		if (with_val) {
			if (i % 5 == 4)
				fprintf(f, ",%.17g", acc(lr));
			else
				fprintf(f, ",");
		}
		fprintf(f, "\n");
	}
	fclose(f);
}

/* Falls fastest near lr 0.1, lowest near 1, then climbs. */
static double
clean_loss(double lr)
{
	double x = log10(lr);

	return 2.0 - 1.5 / (1.0 + exp(-4.0 * (x + 1.0))) +
	    (x > 0.0 ? 3.0 * x * x : 0.0);
}

static double
rising_loss(double lr)
{
	return 2.0 + lr;
}

static double
peaked_acc(double lr)
{
	double x = log10(lr);

	return 0.9 - 0.1 * (x - 0.0) * (x - 0.0) / 4.0;
}

static int
suggest_with(const char *file, const char *method, double tolerance,
    cJSON **out)
{
	struct sc_suggest_opts o = { method, 10.0, -1, -1, tolerance };
	struct sc_curve c;
	int rc;

	if (sc_curve_load(file, 0.98, &c) < 0)
		return -1;
	rc = sc_suggest(&c, &o, out);
	sc_curve_free(&c);
	return rc;
}

static int
suggest(const char *file, const char *method, cJSON **out)
{
	return suggest_with(file, method, SC_PEAK_TOLERANCE, out);
}

static void
test_suggest(void)
{
	const char *p = path_in("curve.csv");
	cJSON *o = NULL;
	double max_lr;

	write_curve(p, 200, clean_loss, 0, NULL);
	CHECK(suggest(p, "steep", &o) == 0);
	max_lr = cJSON_GetObjectItem(o, "max_lr")->valuedouble;
	CHECK(max_lr > 0.03 && max_lr < 0.3);
	CHECK_NEAR(cJSON_GetObjectItem(o, "min_lr")->valuedouble,
	    max_lr / 10.0, 1e-15);
	cJSON_Delete(o);

	CHECK(suggest(p, "peak", &o) == 0);	/* lowest smoothed loss */
	max_lr = cJSON_GetObjectItem(o, "max_lr")->valuedouble;
	CHECK(max_lr > 0.3 && max_lr < 3.0);
	cJSON_Delete(o);

	write_curve(p, 200, rising_loss, 0, NULL);
	CHECK(suggest(p, "steep", &o) == 1);
	CHECK(cJSON_GetObjectItem(o, "reason") != NULL);
	CHECK(cJSON_GetObjectItem(o, "max_lr") == NULL);
	cJSON_Delete(o);
	CHECK(suggest(p, "peak", &o) == 1);
	CHECK(cJSON_GetObjectItem(o, "max_lr") == NULL);
	cJSON_Delete(o);

	write_curve(p, 200, clean_loss, 1, peaked_acc);
	CHECK(suggest(p, "peak", &o) == 0);
	max_lr = cJSON_GetObjectItem(o, "peak_lr")->valuedouble;
	CHECK(max_lr > 0.7 && max_lr < 1.4);
	CHECK(strcmp(cJSON_GetObjectItem(o, "source")->valuestring,
	    "val_acc") == 0);
	cJSON_Delete(o);

	write_curve(p, 4, clean_loss, 0, NULL);
	CHECK(suggest(p, "steep", &o) < 0);	/* too few rows */
	CHECK(strstr(sc_error(), "at least 5") != NULL);
}

/* Rises to 0.8 at lr 0.1, then ragged a little below it up to lr 1, a
 * higher spike between 1 and 2, and a collapse past it. */
static double
ragged_acc(double lr)
{
	if (lr <= 0.1)
		return 0.5 + 0.15 * (log10(lr) + 3.0);
	if (lr < 1.0)
		return 0.75;
	return lr < 2.0 ? 0.9 : 0.7;
}

/* Stays within 0.02 of its best once it has risen: never falls far. */
static double
plateau_acc(double lr)
{
	if (lr <= 0.1)
		return 0.5 + 0.15 * (log10(lr) + 3.0);
	return lr < 3.0 ? 0.79 : 0.81;
}

/* Rises up to lr 0.003, inside the rows trimmed at the start, and falls
 * right after. */
static double
early_acc(double lr)
{
	if (lr <= 0.003)
		return 0.5 + 0.2 * (log10(lr) + 3.0) / log10(3.0);
	return lr < 0.005 ? 0.65 : 0.6;
}

/* Falls from the first scored row on, then rises high. */
static double
dip_acc(double lr)
{
	return lr < 0.1 ? 0.7 - 0.1 * (log10(lr) + 3.0) : 0.95;
}

static double
field(const cJSON *o, const char *name)
{
	const cJSON *x = cJSON_GetObjectItem(o, name);

	return x != NULL ? x->valuedouble : NAN;
}

/* peak ends its search where held-out accuracy first falls more than
 * the tolerance below its best so far. */
static void
test_peak_fall(void)
{
	const char *p = path_in("ragged.csv");
	cJSON *o = NULL;

	write_curve(p, 300, clean_loss, 1, ragged_acc);
	CHECK(suggest(p, "peak", &o) == 0);
	CHECK(field(o, "max_lr") > 0.07 && field(o, "max_lr") <= 0.1);
	CHECK(field(o, "peak_lr") == field(o, "max_lr"));
	CHECK_NEAR(field(o, "peak_val_acc"), 0.8, 0.01);
	CHECK(field(o, "fall_lr") > 0.1 && field(o, "fall_lr") < 0.15);
	CHECK(field(o, "fall_val_acc") == 0.75);
	CHECK(field(o, "highest_lr") >= 1.0 && field(o, "highest_lr") < 2.0);
	CHECK(field(o, "tolerance") == SC_PEAK_TOLERANCE);
	cJSON_Delete(o);

	/* A tolerance above the ragged stretch's fall reaches the spike,
	 * and the collapse after it is the fall. */
	CHECK(suggest_with(p, "peak", 0.06, &o) == 0);
	CHECK(field(o, "max_lr") >= 1.0 && field(o, "max_lr") < 2.0);
	CHECK(field(o, "fall_lr") >= 2.0);
	cJSON_Delete(o);

	/* A tolerance of 1 never ends the search: the highest row. */
	CHECK(suggest_with(p, "peak", 1.0, &o) == 0);
	CHECK(field(o, "max_lr") == field(o, "highest_lr"));
	CHECK(cJSON_GetObjectItem(o, "fall_lr") == NULL);
	cJSON_Delete(o);

	/* Never more than 0.02 below the best: the highest row, no fall. */
	write_curve(p, 300, clean_loss, 1, plateau_acc);
	CHECK(suggest(p, "peak", &o) == 0);
	CHECK(field(o, "max_lr") >= 3.0);
	CHECK(field(o, "max_lr") == field(o, "highest_lr"));
	CHECK(cJSON_GetObjectItem(o, "fall_lr") == NULL);
	cJSON_Delete(o);

	/* A rise before the window counts: the peak is the window's first
	 * scored row, just past lr 0.0025 where the window starts. */
	write_curve(p, 300, clean_loss, 1, early_acc);
	CHECK(suggest(p, "peak", &o) == 0);
	CHECK(field(o, "max_lr") > 0.0025 && field(o, "max_lr") <= 0.003);
	CHECK(field(o, "fall_lr") > 0.003 && field(o, "fall_lr") < 0.005);
	cJSON_Delete(o);

	/* A fall before any rise: a refusal that says so, even though the
	 * accuracy climbs later. */
	write_curve(p, 300, clean_loss, 1, dip_acc);
	CHECK(suggest(p, "peak", &o) == 1);
	CHECK(strstr(cJSON_GetObjectItem(o, "reason")->valuestring,
	    "falls") != NULL);
	cJSON_Delete(o);
	CHECK(suggest_with(p, "peak", 1.0, &o) == 0);
	CHECK(field(o, "peak_val_acc") == 0.95);
	cJSON_Delete(o);
}

/* The crafted curves every method is tried on. */
static double noise_amp, shift;
static int spike_row = -1, nan_row = -1, row_no;

static double
shaped_loss(double lr)
{
	static struct sc_rng rng;
	double v;

	if (row_no == 0)
		sc_rng_seed(&rng, 99);
	v = clean_loss(lr) + shift + noise_amp * sc_rng_normal(&rng);
	if (row_no == spike_row)
		v = shift + 0.01;		/* a lucky batch */
	if (row_no == nan_row)
		v = NAN;
	row_no++;
	return v;
}

static void
curve(const char *p, double noise, double offset, int spike, int nan)
{
	noise_amp = noise, shift = offset, spike_row = spike, nan_row = nan;
	row_no = 0;
	write_curve(p, 300, shaped_loss, 0, NULL);
}

/* Each method answers inside [lo, hi] on the curve in p. */
static void
expect_all(const char *p, const char *what)
{
	static const struct { const char *m; double lo, hi; } want[] = {
		{ "peak", 0.3, 3.0 },		/* the lowest loss */
		{ "minimum", 0.03, 0.3 },	/* a tenth of it */
		{ "steep", 0.03, 0.3 },		/* the sigmoid's middle */
		{ "valley", 0.01, 1.0 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		cJSON *o = NULL;
		double lr;

		if (!CHECK(suggest(p, want[i].m, &o) == 0)) {
			fprintf(stderr, "  %s, %s: %s\n", what, want[i].m,
			    o != NULL ? cJSON_PrintUnformatted(o) : sc_error());
			cJSON_Delete(o);
			continue;
		}
		lr = cJSON_GetObjectItem(o, "max_lr")->valuedouble;
		if (!CHECK(lr >= want[i].lo && lr <= want[i].hi))
			fprintf(stderr, "  %s, %s: max_lr %g\n", what,
			    want[i].m, lr);
		cJSON_Delete(o);
	}
}

static void
test_crafted_curves(void)
{
	const char *p = path_in("crafted.csv");
	static const char *const all[] = { "peak", "minimum", "steep",
		"valley" };
	cJSON *o = NULL;

	curve(p, 0.0, 0.0, -1, -1);
	expect_all(p, "clean");
	curve(p, 0.15, 0.0, -1, -1);
	expect_all(p, "noisy");
	curve(p, 0.0, -10.0, -1, -1);
	expect_all(p, "all negative");
	curve(p, 0.0, 0.0, 40, -1);
	expect_all(p, "early spike");
	curve(p, 0.05, 0.0, -1, 150);
	expect_all(p, "NaN in the middle");

	/* A curve that never falls: every method refuses, and so does
	 * "all", with a reason each. */
	write_curve(p, 200, rising_loss, 0, NULL);
	for (size_t i = 0; i < 4; i++) {
		CHECK(suggest(p, all[i], &o) == 1);
		CHECK(cJSON_GetObjectItem(o, "reason") != NULL);
		CHECK(cJSON_GetObjectItem(o, "max_lr") == NULL);
		cJSON_Delete(o);
	}
	CHECK(suggest(p, "all", &o) == 1);
	CHECK(cJSON_GetObjectItem(o, "max_lr") == NULL);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o,
	    "methods"), "valley"), "reason") != NULL);
	cJSON_Delete(o);

	/* "all" reports each method and takes its bounds from peak. */
	curve(p, 0.0, 0.0, -1, -1);
	CHECK(suggest(p, "all", &o) == 0);
	CHECK(strcmp(cJSON_GetObjectItem(o, "chosen")->valuestring, "peak")
	    == 0);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o,
	    "methods"), "steep"), "steepest_lr") != NULL);
	cJSON_Delete(o);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL || sc_blas_init(1) < 0) {
		fprintf(stderr, "test_io: set-up failed\n");
		return 1;
	}
	test_csv();
	test_idx();
	test_model_file();
	test_checkpoint_file();
	test_config_diff();
	test_json_repeated();
	test_outputs();
	test_rng();
	test_suggest();
	test_peak_fall();
	test_crafted_curves();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_io: could not remove %s\n", dir);
	return check_report("test_io");
}
