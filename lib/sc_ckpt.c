/*
 * Model files and training checkpoints: writing them through a running
 * CRC, and checking and taking apart the bytes of either kind.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sc_ckpt.h"
#include "sc_error.h"
#include "sc_io.h"
#include "sc_train.h"

static const char model_magic[8] = "SCMODEL";
static const char run_magic[8] = "SCCKPT";

/* The largest JSON header read back: far more than a configuration. */
#define MAX_HEADER (1u << 24)

/* Writes through a running CRC. */
struct crc_writer {
	FILE *f;
	uLong crc;
};

/* crc extended by n bytes at p; zlib takes lengths as uInt, so they go
 * in pieces. */
static uLong
crc_add(uLong crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t done = 0; done < n;) {
		size_t k = n - done < (1u << 30) ? n - done : (1u << 30);

		crc = crc32(crc, b + done, (uInt)k);
		done += k;
	}
	return crc;
}

static void
put(struct crc_writer *w, const void *p, size_t n)
{
	w->crc = crc_add(w->crc, p, n);
	fwrite(p, 1, n, w->f);
}

static void
put_u32(struct crc_writer *w, uint32_t v)
{
	unsigned char b[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(w, b, 4);
}

static void
put_u64(struct crc_writer *w, uint64_t v)
{
	put_u32(w, (uint32_t)v);
	put_u32(w, (uint32_t)(v >> 32));
}

/* A tensor of n values of 4 bytes.  Floats and u32s are written as their
 * bytes: x86-64 and ARM are little-endian, as the format is. */
static void
put_tensor(struct crc_writer *w, const void *p, size_t n)
{
	put_u64(w, n);
	if (n > 0)
		put(w, p, n * 4);
}

/* Open path, write the magic, the version and the header; the caller
 * writes the tensors and calls finish(). */
static int
start(struct sc_out *out, struct crc_writer *w, const char *path,
    const char *magic, const cJSON *header)
{
	char *json = cJSON_PrintUnformatted(header);

	if (json == NULL)
		return sc_fail("%s: out of memory", path);
	if (sc_out_open(out, path) < 0) {
		free(json);
		return -1;
	}
	w->f = out->f;
	w->crc = crc32(0L, Z_NULL, 0);
	put(w, magic, 8);
	put_u32(w, SC_CKPT_VERSION);
	put_u32(w, (uint32_t)strlen(json));
	put(w, json, strlen(json));
	free(json);
	return 0;
}

/* The CRC, then the file synced and renamed into place, and the rename
 * made durable. */
static int
finish(struct sc_out *out, struct crc_writer *w)
{
	uint32_t crc = (uint32_t)w->crc;
	int is_file = out->tmp[0] != '\0';

	put_u32(w, crc);
	if (sc_out_commit(out) < 0)
		return -1;
	return is_file ? sc_io_sync_dir(out->path) : 0;
}

int
sc_ckpt_save(const char *path, const struct sc_model *m,
    const cJSON *header)
{
	struct crc_writer w;
	struct sc_out out;

	if (start(&out, &w, path, model_magic, header) < 0)
		return -1;
	put_tensor(&w, m->theta, m->n_theta);
	put_tensor(&w, m->state, m->n_state);
	return finish(&out, &w);
}

static uint32_t
le32(const unsigned char *b)
{
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static uint64_t
le64(const unsigned char *b)
{
	return le32(b) | (uint64_t)le32(b + 4) << 32;
}

static uLong
crc_of(const unsigned char *p, size_t n)
{
	return crc_add(crc32(0L, Z_NULL, 0), p, n);
}

int
sc_ckpt_parse(const void *buf, size_t len, const char *name,
    struct sc_ckpt_view *v)
{
	const unsigned char *b = buf, *at, *end;
	uint32_t version, head_len;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (len >= 8 && memcmp(b, model_magic, 8) == 0) {
		v->kind = SC_CKPT_MODEL;
		v->n_tensors = 2;
	} else if (len >= 8 && memcmp(b, run_magic, 8) == 0) {
		v->kind = SC_CKPT_RUN;
		v->n_tensors = SC_CKPT_MAX_TENSORS;
	} else {
		return sc_fail("%s: not a superconv model or checkpoint (bad "
		    "magic)", name);
	}
	if (len < 16 + 4)
		return sc_fail("%s: truncated", name);
	version = le32(b + 8);
	if (version != SC_CKPT_VERSION)
		return sc_fail("%s: format version %" PRIu32 ", this build "
		    "reads version %d only", name, version, SC_CKPT_VERSION);

	/* Every length must lie within the bytes before the CRC. */
	end = b + len - 4;
	head_len = le32(b + 12);
	at = b + 16;
	if (head_len > MAX_HEADER || head_len > (size_t)(end - at))
		return sc_fail("%s: truncated, or a header of %" PRIu32
		    " bytes", name, head_len);
	at += head_len;
	for (int i = 0; i < v->n_tensors; i++) {
		uint64_t count;

		if (end - at < 8)
			return sc_fail("%s: truncated", name);
		count = le64(at);
		at += 8;
		if (count > (uint64_t)(end - at) / 4)
			return sc_fail("%s: truncated (a tensor of %" PRIu64
			    " values)", name, count);
		v->t[i].p = at;
		v->t[i].count = count;
		at += count * 4;
	}
	if (at != end)
		return sc_fail("%s: %zu bytes more than its contents", name,
		    (size_t)(end - at));
	if (le32(end) != (uint32_t)crc_of(b, len - 4))
		return sc_fail("%s: checksum mismatch: the file is damaged",
		    name);

	v->header = cJSON_ParseWithLength((const char *)b + 16, head_len);
	if (!cJSON_IsObject(v->header))
		return sc_fail("%s: the header is not a JSON object", name);
	return 0;
}

/* The whole of a file, of any kind (a pipe too), in a buffer of its own. */
static int
read_all(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL, *grown;
	size_t used = 0, cap = 0;

	if (f == NULL)
		return sc_fail("%s: %s", path, strerror(errno));
	for (;;) {
		size_t got;

		if (used == cap) {
			cap = cap > 0 ? 2 * cap : 1 << 16;
			if ((grown = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return sc_fail("%s: out of memory", path);
			}
			buf = grown;
		}
		got = fread(buf + used, 1, cap - used, f);
		used += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return sc_fail("%s: read failed: %s", path, strerror(errno));
	}
	fclose(f);
	*out = buf;
	*len = used;
	return 0;
}

int
sc_ckpt_read(const char *path, struct sc_ckpt_view *v)
{
	unsigned char *buf = NULL;
	size_t len = 0;

	memset(v, 0, sizeof(*v));
	if (read_all(path, &buf, &len) < 0)
		return -1;
	if (sc_ckpt_parse(buf, len, path, v) < 0) {
		sc_ckpt_view_free(v);
		free(buf);
		return -1;
	}
	v->owned = buf;
	return 0;
}

int
sc_ckpt_file_kind(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "rb");
	int kind = -1;

	if (f == NULL)
		return -1;
	if (fread(magic, 1, 8, f) == 8) {
		if (memcmp(magic, run_magic, 8) == 0)
			kind = SC_CKPT_RUN;
		else if (memcmp(magic, model_magic, 8) == 0)
			kind = SC_CKPT_MODEL;
	}
	fclose(f);
	return kind;
}

int
sc_ckpt_is_run_file(const char *path)
{
	return sc_ckpt_file_kind(path) == SC_CKPT_RUN;
}

void
sc_ckpt_view_free(struct sc_ckpt_view *v)
{
	cJSON_Delete(v->header);
	free(v->owned);
	v->header = NULL;
	v->owned = NULL;
}

/* Declared in sc_nn.h with the model's functions; defined here, as the
 * file readers built apart from the network code (the fuzz targets) call
 * it when a file's network is not the model's. */
void
sc_model_describe(const struct sc_model *m, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%zu",
	    sc_shape_size(m->input));

	for (int i = 0; i < m->n_layers && used < len; i++)
		if (m->layers[i].n_w > 0)
			used += (size_t)snprintf(buf + used, len - used,
			    "-%zu", sc_shape_size(m->layers[i].out));
}

/* The network as a configuration names it, " (written for NAME LAYERS,
 * and this network is NAME LAYERS)", or "" where the file does not say. */
static void
networks(const struct sc_ckpt_view *v, const struct sc_model *m, char *buf,
    size_t len)
{
	const cJSON *config = v->kind == SC_CKPT_RUN ?
	    cJSON_GetObjectItemCaseSensitive(v->header, "config") : v->header;
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(config, "model");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(config,
	    "layers");
	char desc[256];

	buf[0] = '\0';
	if (!cJSON_IsString(model) || !cJSON_IsString(layers))
		return;
	sc_model_describe(m, desc, sizeof(desc));
	snprintf(buf, len, " (written for %.200s %.200s; this one is %.200s "
	    "%.200s)",
	    model->valuestring, layers->valuestring,
	    strcmp(m->spec.name, "file") == 0 ? m->spec.path : m->spec.name,
	    desc);
}

/* Tensor i must hold n values; what is which names it in the message. */
static int
expect(const struct sc_ckpt_view *v, int i, size_t n, const char *what,
    const char *here)
{
	if (v->t[i].count == n)
		return 0;
	return sc_fail("%s: holds %" PRIu64 " %s, %s has %zu",
	    v->name, v->t[i].count, what, here, n);
}

/* As expect, for the model's own tensors, with the two networks named. */
static int
expect_model(const struct sc_ckpt_view *v, const struct sc_model *m, int i,
    size_t n, const char *what)
{
	char names[1024];

	if (v->t[i].count == n)
		return 0;
	networks(v, m, names, sizeof(names));
	return sc_fail("%s: holds %" PRIu64 " %s, the model has %zu%s",
	    v->name, v->t[i].count, what, n, names);
}

int
sc_ckpt_restore_model(const struct sc_ckpt_view *v, struct sc_model *m)
{
	if (expect_model(v, m, SC_CKPT_THETA, m->n_theta, "parameters") < 0 ||
	    expect_model(v, m, SC_CKPT_STATE, m->n_state,
	    "running statistics") < 0)
		return -1;
	memcpy(m->theta, v->t[SC_CKPT_THETA].p, m->n_theta * sizeof(float));
	memcpy(m->state, v->t[SC_CKPT_STATE].p, m->n_state * sizeof(float));
	return 0;
}

int
sc_ckpt_load(const char *path, struct sc_model *m, cJSON **config)
{
	struct sc_ckpt_view v;
	cJSON *c;

	if (sc_ckpt_read(path, &v) < 0)
		return -1;
	if (sc_ckpt_restore_model(&v, m) < 0) {
		sc_ckpt_view_free(&v);
		return -1;
	}
	if (config != NULL) {
		/* A model's header is its configuration; a checkpoint
		 * keeps it under "config". */
		if (v.kind == SC_CKPT_RUN)
			c = cJSON_DetachItemFromObjectCaseSensitive(v.header,
			    "config");
		else {
			c = v.header;
			v.header = NULL;
		}
		*config = c != NULL ? c : cJSON_CreateObject();
	}
	sc_ckpt_view_free(&v);
	return 0;
}

/* A generator's state as 64 hexadecimal digits, and back. */
static void
rng_text(const struct sc_rng *r, char *buf)
{
	for (int i = 0; i < 4; i++)
		snprintf(buf + 16 * i, 17, "%016" PRIx64, r->s[i]);
}

static int
rng_parse(const char *text, struct sc_rng *r)
{
	if (text == NULL || strlen(text) != 64)
		return -1;
	for (int i = 0; i < 4; i++) {
		char word[17], *end;

		memcpy(word, text + 16 * i, 16);
		word[16] = '\0';
		if (strspn(word, "0123456789abcdef") != 16)
			return -1;
		r->s[i] = strtoull(word, &end, 16);
	}
	return 0;
}

/* Doubles that must come back to the same bits go as C99 hexadecimal
 * floating point text ("0x1.8p+3"), which strtod reads exactly. */
static void
add_exact(cJSON *o, const char *key, double x)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%a", x);
	cJSON_AddStringToObject(o, key, buf);
}

static int
get_exact(const cJSON *o, const char *key, double *x)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	char *end;

	if (!cJSON_IsString(it))
		return -1;
	*x = strtod(it->valuestring, &end);
	return end != it->valuestring && *end == '\0' ? 0 : -1;
}

/* A whole number from 0 to max. */
static int
get_count(const cJSON *o, const char *key, double max, long *n)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0.0) ||
	    it->valuedouble > max || it->valuedouble != floor(it->valuedouble))
		return -1;
	*n = (long)it->valuedouble;
	return 0;
}

static cJSON *
run_header(const struct sc_trainer *tr, const cJSON *config)
{
	cJSON *h = cJSON_CreateObject(), *rng, *row, *est;
	char text[65];

	if (h == NULL)
		return NULL;
	cJSON_AddItemToObject(h, "config", cJSON_Duplicate(config, 1));
	cJSON_AddNumberToObject(h, "update", (double)tr->update);
	cJSON_AddNumberToObject(h, "epoch", (double)tr->update /
	    tr->steps_per_epoch);
	cJSON_AddNumberToObject(h, "batches", (double)tr->batches);
	cJSON_AddNumberToObject(h, "steps_per_epoch",
	    (double)tr->steps_per_epoch);
	rng = cJSON_AddObjectToObject(h, "rng");
	rng_text(&tr->rng, text);
	cJSON_AddStringToObject(rng, "data", text);
	rng_text(&tr->model->rng, text);
	cJSON_AddStringToObject(rng, "dropout", text);
	row = cJSON_AddObjectToObject(h, "row");
	add_exact(row, "loss_sum", tr->row_loss_sum);
	cJSON_AddNumberToObject(row, "correct", (double)tr->row_correct);
	cJSON_AddNumberToObject(row, "seen", (double)tr->row_seen);
	if (tr->est.snap[0] != NULL) {
		est = cJSON_AddObjectToObject(h, "estimator");
		cJSON_AddNumberToObject(est, "every", (double)tr->est.every);
		cJSON_AddNumberToObject(est, "snapshots", tr->est.n_snaps);
		add_exact(est, "value", tr->est.value);
	}
	return h;
}

int
sc_ckpt_save_run(const char *path, const struct sc_trainer *tr,
    const cJSON *config)
{
	const struct sc_model *m = tr->model;
	const struct sc_lr_estimator *e = &tr->est;
	cJSON *header = run_header(tr, config);
	struct crc_writer w;
	struct sc_out out;
	int rc;

	if (header == NULL)
		return sc_fail("%s: out of memory", path);
	rc = start(&out, &w, path, run_magic, header);
	cJSON_Delete(header);
	if (rc < 0)
		return -1;
	put_tensor(&w, m->theta, m->n_theta);
	put_tensor(&w, m->state, m->n_state);
	put_tensor(&w, m->velocity, m->n_theta);
	put_tensor(&w, tr->order, tr->data.train.n);
	/* The snapshots, oldest first, as the estimator uses them. */
	put_u64(&w, e->snap[0] != NULL ? (uint64_t)e->n_snaps * e->n : 0);
	for (int i = 0; e->snap[0] != NULL && i < e->n_snaps; i++)
		put(&w, e->snap[i], e->n * sizeof(float));
	return finish(&out, &w);
}

/* The order of the current epoch: a permutation of the training set,
 * checked as one since its values index the data. */
static int
restore_order(const struct sc_ckpt_view *v, struct sc_trainer *tr)
{
	uint32_t n = (uint32_t)tr->data.train.n;
	unsigned char *seen = calloc(n > 0 ? n : 1, 1);
	int rc = 0;

	if (seen == NULL)
		return sc_fail("out of memory");
	memcpy(tr->order, v->t[SC_CKPT_ORDER].p, (size_t)n * sizeof(uint32_t));
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		if (tr->order[i] >= n || seen[tr->order[i]])
			rc = sc_fail("%s: the data order is not a permutation "
			    "of the training set", v->name);
		else
			seen[tr->order[i]] = 1;
	}
	free(seen);
	return rc;
}

/* The LR estimate, when this run makes one: the snapshots and value
 * saved, or a fresh start when the checkpoint's run made none. */
static int
restore_estimator(const struct sc_ckpt_view *v, struct sc_trainer *tr)
{
	struct sc_lr_estimator *e = &tr->est;
	const struct sc_ckpt_tensor *t = &v->t[SC_CKPT_SNAPSHOTS];
	const cJSON *saved = cJSON_GetObjectItemCaseSensitive(v->header,
	    "estimator");
	long n_snaps;

	if (e->snap[0] == NULL)
		return 0;
	e->n_snaps = 0;
	e->value = NAN;
	if (saved == NULL)
		return 0;
	if (get_count(saved, "snapshots", 2, &n_snaps) < 0 ||
	    get_exact(saved, "value", &e->value) < 0 ||
	    t->count != (uint64_t)n_snaps * e->n)
		return sc_fail("%s: the LR estimate's state is malformed",
		    v->name);
	for (long i = 0; i < n_snaps; i++)
		memcpy(e->snap[i], t->p + i * e->n * sizeof(float),
		    e->n * sizeof(float));
	e->n_snaps = (int)n_snaps;
	return 0;
}

int
sc_ckpt_restore_run(const struct sc_ckpt_view *v, struct sc_trainer *tr)
{
	struct sc_model *m = tr->model;
	const cJSON *h = v->header, *rng, *row;
	long update, batches, correct, seen;
	double loss_sum;

	if (v->kind != SC_CKPT_RUN)
		return sc_fail("%s: a saved model, not a training checkpoint: "
		    "it has no optimiser state or position to resume from "
		    "(--checkpoint writes those)", v->name);
	if (sc_ckpt_restore_model(v, m) < 0 ||
	    expect(v, SC_CKPT_VELOCITY, m->n_theta, "velocities",
	    "the model") < 0 ||
	    expect(v, SC_CKPT_ORDER, (size_t)tr->data.train.n,
	    "training samples in its data order", "the data") < 0)
		return -1;

	rng = cJSON_GetObjectItemCaseSensitive(h, "rng");
	row = cJSON_GetObjectItemCaseSensitive(h, "row");
	if (get_count(h, "update", 0x1p53, &update) < 0 ||
	    get_count(h, "batches", 0x1p53, &batches) < 0 ||
	    rng_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    rng, "data")), &tr->rng) < 0 ||
	    rng_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    rng, "dropout")), &m->rng) < 0 ||
	    get_exact(row, "loss_sum", &loss_sum) < 0 ||
	    get_count(row, "correct", 0x1p53, &correct) < 0 ||
	    get_count(row, "seen", 0x1p53, &seen) < 0)
		return sc_fail("%s: the header lacks where the run stands, or "
		    "holds it malformed", v->name);
	memcpy(m->velocity, v->t[SC_CKPT_VELOCITY].p,
	    m->n_theta * sizeof(float));
	if (restore_order(v, tr) < 0 || restore_estimator(v, tr) < 0)
		return -1;
	tr->update = update;
	tr->batches = batches;
	tr->row_loss_sum = loss_sum;
	tr->row_correct = correct;
	tr->row_seen = seen;
	return 0;
}

/* Leaves of a configuration that name things rather than decide them. */
static int
ignored(const char *key)
{
	return strcmp(key, "schedule") == 0 || strcmp(key, "blas_core") == 0;
}

static void
append_diff(char *buf, size_t len, const char *key, const cJSON *a,
    const cJSON *b)
{
	char *ta = a != NULL ? cJSON_PrintUnformatted(a) : NULL;
	char *tb = b != NULL ? cJSON_PrintUnformatted(b) : NULL;
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s%s: %s in the checkpoint, "
		    "%s here", used > 0 ? "; " : "", key,
		    ta != NULL ? ta : "none", tb != NULL ? tb : "none");
	free(ta);
	free(tb);
}

/* The "schedule" leaves (a file's name, or the options that computed
 * the rows), appended where they differ. */
static void
schedule_diff(char *buf, size_t len, const cJSON *saved, const cJSON *now)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(saved, "schedule");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(now, "schedule");

	if (cJSON_IsString(a) && cJSON_IsString(b) && !cJSON_Compare(a, b, 1))
		append_diff(buf, len, "schedule", a, b);
}

int
sc_ckpt_config_diff(const cJSON *saved, const cJSON *now, char *buf,
    size_t len)
{
	const cJSON *it;
	int n = 0;

	if (len > 0)
		buf[0] = '\0';
	cJSON_ArrayForEach(it, saved) {
		const cJSON *other;

		if (it->string == NULL || ignored(it->string))
			continue;
		other = cJSON_GetObjectItemCaseSensitive(now, it->string);
		if (other == NULL || !cJSON_Compare(it, other, 1)) {
			append_diff(buf, len, it->string, it, other);
			n++;
			/* Other rows: what the schedules were made from,
			 * where that differs too, says how. */
			if (strcmp(it->string, "schedule_crc") == 0)
				schedule_diff(buf, len, saved, now);
		}
	}
	cJSON_ArrayForEach(it, now) {
		if (it->string == NULL || ignored(it->string) ||
		    cJSON_GetObjectItemCaseSensitive(saved, it->string) != NULL)
			continue;
		append_diff(buf, len, it->string, NULL, it);
		n++;
	}
	return n;
}
