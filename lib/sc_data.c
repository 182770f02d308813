#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sc_csv.h"
#include "sc_data.h"
#include "sc_error.h"

/* Reading gzip'd or plain files. */

static int
read_fully(gzFile f, const char *path, void *buf, size_t len,
    const char *what)
{
	unsigned char *p = buf;

	while (len > 0) {
		unsigned chunk = len > (1u << 30) ? (1u << 30) : (unsigned)len;
		int got = gzread(f, p, chunk);

		if (got < 0) {
			int zerr;
			const char *msg = gzerror(f, &zerr);

			/* zlib's message names the file already. */
			return zerr == Z_ERRNO ? sc_fail("%s: %s", path,
			    strerror(errno)) : sc_fail("%s", msg);
		}
		if (got == 0)
			return sc_fail("%s: truncated: file ends inside the %s",
			    path, what);
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

/* A whole file (decompressed when gzip'd) into memory. */
static uint8_t *
read_all(const char *path, size_t *len)
{
	size_t cap = 1 << 20, used = 0;
	uint8_t *buf = malloc(cap);
	gzFile f = gzopen(path, "rb");
	int got;

	if (f == NULL || buf == NULL) {
		sc_fail("%s: %s", path, f == NULL ? strerror(errno) :
		    "out of memory");
		goto fail;
	}
	while ((got = gzread(f, buf + used, (unsigned)(cap - used))) > 0) {
		used += (size_t)got;
		if (used == cap) {
			uint8_t *p = cap < ((size_t)1 << 34) ?
			    realloc(buf, cap * 2) : NULL;

			if (p == NULL) {
				sc_fail("%s: too large", path);
				goto fail;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (got < 0) {
		int zerr;
		const char *msg = gzerror(f, &zerr);

		if (zerr == Z_ERRNO)
			sc_fail("%s: %s", path, strerror(errno));
		else
			sc_fail("%s", msg);
		goto fail;
	}
	gzclose(f);
	*len = used;
	return buf;
fail:
	if (f != NULL)
		gzclose(f);
	free(buf);
	return NULL;
}

uint8_t *
sc_idx_read(const char *path, int n_dims, uint32_t *dims)
{
	unsigned char head[4], raw[4];
	uint8_t *data = NULL;
	size_t total = 1;
	gzFile f;

	f = gzopen(path, "rb");
	if (f == NULL) {
		sc_fail("%s: %s", path, errno ? strerror(errno) :
		    "cannot open");
		return NULL;
	}
	if (read_fully(f, path, head, 4, "header") < 0)
		goto fail;
	/* IDX magic: two zero bytes, type 0x08 (unsigned byte), dims. */
	if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 ||
	    head[3] != n_dims) {
		sc_fail("%s: not an IDX file of unsigned bytes with %d "
		    "dimensions (magic %02x%02x%02x%02x)", path, n_dims,
		    head[0], head[1], head[2], head[3]);
		goto fail;
	}
	for (int i = 0; i < n_dims; i++) {
		if (read_fully(f, path, raw, 4, "header") < 0)
			goto fail;
		dims[i] = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
		    (uint32_t)raw[2] << 8 | raw[3];
		if (dims[i] == 0 || dims[i] > (1u << 28)) {
			sc_fail("%s: dimension %d is %u", path, i + 1,
			    (unsigned)dims[i]);
			goto fail;
		}
		total *= dims[i];
	}
	if (total > ((size_t)1 << 34)) {
		sc_fail("%s: %zu bytes of data is too large", path, total);
		goto fail;
	}
	/* The buffer grows as the data arrives, so a header that promises
	 * gigabytes in a short file costs no more than the file. */
	for (size_t used = 0, cap = 0; used < total; ) {
		size_t step;
		uint8_t *p;

		if (used == cap) {
			cap = cap == 0 ? (1u << 20) : cap * 2;
			cap = cap < total ? cap : total;
			p = realloc(data, cap);
			if (p == NULL) {
				sc_fail("%s: out of memory for %zu bytes",
				    path, total);
				goto fail;
			}
			data = p;
		}
		step = cap - used;
		if (read_fully(f, path, data + used, step, "data") < 0)
			goto fail;
		used += step;
	}
	if (gzread(f, raw, 1) != 0) {
		sc_fail("%s: data past the %zu bytes the header gives", path,
		    total);
		goto fail;
	}
	gzclose(f);
	return data;

fail:
	free(data);
	gzclose(f);
	return NULL;
}

/* IDX images and labels. */

static int
check_labels(const char *path, const uint8_t *labels, int n, int n_classes)
{
	for (int i = 0; i < n; i++)
		if (labels[i] >= n_classes)
			return sc_fail("%s: label %u of item %d is outside "
			    "0..%d", path, labels[i], i, n_classes - 1);
	return 0;
}

static int
load_idx_pair(struct sc_dataset *d, struct sc_split *s, const char *images,
    const char *labels)
{
	uint32_t idims[3], ldims[1];

	s->pixels = sc_idx_read(images, 3, idims);
	if (s->pixels == NULL)
		return -1;
	s->labels = sc_idx_read(labels, 1, ldims);
	if (s->labels == NULL)
		return -1;
	if (idims[0] != ldims[0])
		return sc_fail("%s: %u labels for the %u images of %s", labels,
		    (unsigned)ldims[0], (unsigned)idims[0], images);
	if (d->shape.h != 0 && (d->shape.h != (int)idims[1] ||
	    d->shape.w != (int)idims[2]))
		return sc_fail("%s: images are %ux%u, the training set's "
		    "%dx%d", images, (unsigned)idims[1], (unsigned)idims[2],
		    d->shape.h, d->shape.w);
	d->shape = (struct sc_shape){ 1, (int)idims[1], (int)idims[2] };
	s->n = (int)idims[0];
	return check_labels(labels, s->labels, s->n, d->n_classes);
}

/* "dir/name.gz" or "dir/name", whichever exists. */
static int
find_file(char *path, size_t len, const char *dir, const char *name)
{
	FILE *f;

	snprintf(path, len, "%s/%s.gz", dir, name);
	if ((f = fopen(path, "rb")) != NULL) {
		fclose(f);
		return 0;
	}
	snprintf(path, len, "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) != NULL) {
		fclose(f);
		return 0;
	}
	return sc_fail("%s/%s(.gz): %s", dir, name, strerror(errno));
}

static int
load_mnist_dir(struct sc_dataset *d, const char *dir)
{
	char img[4096], lbl[4096];

	if (find_file(img, sizeof(img), dir, "train-images-idx3-ubyte") < 0 ||
	    find_file(lbl, sizeof(lbl), dir, "train-labels-idx1-ubyte") < 0 ||
	    load_idx_pair(d, &d->train, img, lbl) < 0)
		return -1;
	if (find_file(img, sizeof(img), dir, "t10k-images-idx3-ubyte") < 0 ||
	    find_file(lbl, sizeof(lbl), dir, "t10k-labels-idx1-ubyte") < 0)
		return -1;
	return load_idx_pair(d, &d->test, img, lbl);
}

/* idx:IMG,LBL[,IMG,LBL] */
static int
load_idx_spec(struct sc_dataset *d, const char *list)
{
	char copy[1024], *part[5];
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *p = strtok(copy, ","); p != NULL && n < 5;
	    p = strtok(NULL, ","))
		part[n++] = p;
	if (n != 2 && n != 4)
		return sc_fail_usage("expected 2 files, IMAGES,LABELS, or 4, "
		    "IMAGES,LABELS,TEST_IMAGES,TEST_LABELS; %s%d given",
		    n == 5 ? "more than " : "", n == 5 ? 4 : n);
	if (load_idx_pair(d, &d->train, part[0], part[1]) < 0)
		return -1;
	return n == 4 ? load_idx_pair(d, &d->test, part[2], part[3]) : 0;
}

/* CIFAR-10 binary batches: records of a label byte and a 32x32 image as
 * three 1024-byte planes (red, green, blue), kept here as HWC. */
#define CIFAR_SIDE 32
#define CIFAR_RECORD (1 + 3 * CIFAR_SIDE * CIFAR_SIDE)

static int
append_cifar(struct sc_dataset *d, struct sc_split *s, const char *path)
{
	size_t len, plane = CIFAR_SIDE * CIFAR_SIDE, count;
	uint8_t *raw = read_all(path, &len), *px, *lb;

	if (raw == NULL)
		return -1;
	if (len == 0 || len % CIFAR_RECORD != 0) {
		free(raw);
		return sc_fail("%s: %zu bytes is not a whole number of "
		    "%d-byte records: truncated or not a CIFAR-10 batch", path,
		    len, CIFAR_RECORD);
	}
	count = len / CIFAR_RECORD;
	px = realloc(s->pixels, (s->n + count) * 3 * plane);
	if (px != NULL)
		s->pixels = px;
	lb = px != NULL ? realloc(s->labels, s->n + count) : NULL;
	if (lb == NULL) {
		free(raw);
		return sc_fail("%s: out of memory", path);
	}
	s->labels = lb;
	for (size_t r = 0; r < count; r++) {
		const uint8_t *rec = raw + r * CIFAR_RECORD;
		uint8_t *dst = s->pixels + (s->n + r) * 3 * plane;

		if (rec[0] >= d->n_classes) {
			unsigned label = rec[0];

			free(raw);
			return sc_fail("%s: record %zu has label %u, outside "
			    "0..9", path, r, label);
		}
		s->labels[s->n + r] = rec[0];
		for (size_t p = 0; p < plane; p++)
			for (int c = 0; c < 3; c++)
				dst[p * 3 + c] = rec[1 + c * plane + p];
	}
	s->n += (int)count;
	free(raw);
	return 0;
}

static int
load_cifar(struct sc_dataset *d, const char *dir)
{
	char path[4096];
	FILE *f;

	d->shape = (struct sc_shape){ 3, CIFAR_SIDE, CIFAR_SIDE };
	for (int i = 1; i <= 5; i++) {
		snprintf(path, sizeof(path), "%s/data_batch_%d.bin", dir, i);
		if (i > 1 && (f = fopen(path, "rb")) == NULL)
			continue;
		if (i > 1)
			fclose(f);
		if (append_cifar(d, &d->train, path) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/test_batch.bin", dir);
	if ((f = fopen(path, "rb")) == NULL)
		return 0;	/* then --val-split must say what to hold out */
	fclose(f);
	return append_cifar(d, &d->test, path);
}

/* CSV tables: every column but the label is a numeric feature. */
struct table_ctx {
	struct sc_dataset *d;
	const char *label;
	int col_label, n_cols;
	size_t cap;
	float *values;
	char **names;		/* label strings, one per row */
	size_t n;
};

static int
table_header(void *ctx, const char *path, int n_cols, char **names)
{
	struct table_ctx *t = ctx;

	t->col_label = sc_csv_find(n_cols, names, t->label);
	if (t->col_label < 0)
		return sc_fail("%s: line 1: no label column '%s' (give it "
		    "with --label)", path, t->label);
	if (n_cols < 2)
		return sc_fail("%s: line 1: no feature columns besides '%s'",
		    path, t->label);
	t->n_cols = n_cols;
	t->d->shape = (struct sc_shape){ n_cols - 1, 1, 1 };
	return 0;
}

static int
table_row(void *ctx, const struct sc_csv_row *row)
{
	struct table_ctx *t = ctx;
	size_t k = (size_t)t->n_cols - 1;
	float *out;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		float *v = realloc(t->values, cap * k * sizeof(float));
		char **nm = v != NULL ? realloc(t->names, cap *
		    sizeof(char *)) : NULL;

		if (v != NULL)
			t->values = v;
		if (nm == NULL)
			return sc_fail("%s: out of memory", row->path);
		t->names = nm;
		t->cap = cap;
	}
	out = t->values + t->n * k;
	for (int c = 0; c < row->n_fields; c++) {
		double v;

		if (c == t->col_label)
			continue;
		if (sc_csv_number(row, c, &v) < 0)
			return -1;
		if (!isfinite(v))
			return sc_fail("%s: line %ld: column '%s' is not "
			    "finite", row->path, row->line, row->names[c]);
		*out++ = (float)v;
	}
	if (row->fields[t->col_label][0] == '\0')
		return sc_fail("%s: line %ld: the label '%s' is empty",
		    row->path, row->line, t->label);
	t->names[t->n] = strdup(row->fields[t->col_label]);
	if (t->names[t->n] == NULL)
		return sc_fail("%s: out of memory", row->path);
	t->n++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Labels that are all small non-negative integers are the classes
 * themselves; otherwise the distinct strings, sorted, are numbered. */
static int
number_labels(struct table_ctx *t, const char *path, uint8_t *labels)
{
	char **sorted;
	size_t n_distinct = 0;
	int numeric = 1, max = 0;

	for (size_t i = 0; i < t->n && numeric; i++) {
		char *end;
		long v = strtol(t->names[i], &end, 10);

		numeric = *end == '\0' && end != t->names[i] && v >= 0 &&
		    v < 256;
		if (numeric) {
			labels[i] = (uint8_t)v;
			max = v > max ? (int)v : max;
		}
	}
	if (numeric) {
		t->d->n_classes = max + 1;
		return 0;
	}
	sorted = malloc(t->n * sizeof(char *));
	if (sorted == NULL)
		return sc_fail("%s: out of memory", path);
	memcpy(sorted, t->names, t->n * sizeof(char *));
	qsort(sorted, t->n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < t->n; i++)
		if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
			sorted[n_distinct++] = sorted[i];
	if (n_distinct > 255) {
		free(sorted);
		return sc_fail("%s: %zu distinct labels; at most 255 classes",
		    path, n_distinct);
	}
	for (size_t i = 0; i < t->n; i++) {
		char **hit = bsearch(&t->names[i], sorted, n_distinct,
		    sizeof(char *), cmp_str);

		labels[i] = (uint8_t)(hit - sorted);
	}
	t->d->n_classes = (int)n_distinct;
	free(sorted);
	return 0;
}

static int
load_table(struct sc_dataset *d, const char *path, const char *label)
{
	struct table_ctx t = { d, label, -1, 0, 0, NULL, NULL, 0 };
	int rc = sc_csv_read(path, table_header, table_row, &t);

	if (rc == 0 && t.n < 2)
		rc = sc_fail("%s: %zu data rows; a table needs at least 2",
		    path, t.n);
	if (rc == 0 && (d->train.labels = malloc(t.n)) == NULL)
		rc = sc_fail("%s: out of memory", path);
	if (rc == 0)
		rc = number_labels(&t, path, d->train.labels);
	if (rc == 0 && d->n_classes < 2)
		rc = sc_fail("%s: every row has the same label", path);
	for (size_t i = 0; i < t.n; i++)
		free(t.names[i]);
	free(t.names);
	d->train.values = t.values;
	d->train.n = (int)t.n;
	d->is_table = 1;
	return rc;
}

/* Move a seeded share of the training samples to the held-out split. */
static int
split_validation(struct sc_dataset *d, double share, uint64_t seed)
{
	size_t size = sc_shape_size(d->shape);
	size_t esz = d->is_table ? sizeof(float) : 1;
	int n = d->train.n, n_val = (int)floor(n * share + 0.5);
	struct sc_split tr = { 0 }, va = { 0 };
	uint32_t *order = malloc((size_t)n * sizeof(uint32_t));
	uint8_t *src = d->is_table ? (uint8_t *)d->train.values :
	    d->train.pixels;
	uint8_t *dst_tr, *dst_va;
	struct sc_rng rng;

	if (n_val < 1 || n_val >= n) {
		free(order);
		return sc_fail_usage("--val-split: %g of %d samples leaves %d for "
		    "training and %d held out", share, n, n - n_val, n_val);
	}
	dst_tr = malloc((size_t)(n - n_val) * size * esz);
	dst_va = malloc((size_t)n_val * size * esz);
	tr.labels = malloc((size_t)(n - n_val));
	va.labels = malloc((size_t)n_val);
	if (order == NULL || dst_tr == NULL || dst_va == NULL ||
	    tr.labels == NULL || va.labels == NULL) {
		free(order), free(dst_tr), free(dst_va);
		free(tr.labels), free(va.labels);
		return sc_fail("out of memory for the held-out split");
	}
	for (int i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	sc_rng_seed(&rng, seed ^ 0x5917a1dULL);
	sc_rng_shuffle(&rng, order, (size_t)n);
	for (int i = 0; i < n; i++) {
		int held = i < n_val;
		uint8_t *to = held ? dst_va + (size_t)i * size * esz :
		    dst_tr + (size_t)(i - n_val) * size * esz;

		memcpy(to, src + (size_t)order[i] * size * esz, size * esz);
		if (held)
			va.labels[i] = d->train.labels[order[i]];
		else
			tr.labels[i - n_val] = d->train.labels[order[i]];
	}
	free(order);
	sc_data_free(d);
	tr.n = n - n_val;
	va.n = n_val;
	if (d->is_table) {
		tr.values = (float *)dst_tr;
		va.values = (float *)dst_va;
	} else {
		tr.pixels = dst_tr;
		va.pixels = dst_va;
	}
	d->train = tr;
	d->test = va;
	return 0;
}

/* Per-channel (images) or per-column (tables) mean and standard
 * deviation of the training samples; images get a byte lookup table,
 * tables are normalised in place. */
static void
normalise(struct sc_dataset *d)
{
	int C = d->shape.c;
	size_t per = sc_shape_size(d->shape);
	size_t n = (size_t)d->train.n * per / C;
	double scale = d->is_table ? 1.0 : 255.0;

	for (int c = 0; c < C; c++) {
		double sum = 0.0, sq = 0.0, mean, var;

		for (size_t j = (size_t)c; j < (size_t)d->train.n * per;
		    j += C) {
			double v = d->is_table ? d->train.values[j] :
			    d->train.pixels[j] / scale;

			sum += v;
			sq += v * v;
		}
		mean = sum / n;
		var = sq / n - mean * mean;
		if (c < SC_MAX_CHANNELS) {
			d->mean[c] = (float)mean;
			d->std[c] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
		}
		if (d->is_table) {
			float sd = var > 1e-12 ? (float)sqrt(var) : 1.0f;
			struct sc_split *splits[2] = { &d->train, &d->test };

			for (int k = 0; k < 2; k++)
				for (size_t j = (size_t)c; j <
				    (size_t)splits[k]->n * per; j += C)
					splits[k]->values[j] =
					    (splits[k]->values[j] -
					    (float)mean) / sd;
			continue;
		}
		for (int v = 0; v < 256; v++)
			d->lut[c][v] = (float)((v / 255.0 - d->mean[c]) /
			    d->std[c]);
	}
}

static int
load_any(struct sc_dataset *d, const struct sc_data_options *o)
{
	const char *spec = o->spec, *dir;

	if (strcmp(spec, "fashion-mnist") == 0) {
		snprintf(d->name, sizeof(d->name), "fashion-mnist");
		dir = getenv("SUPERCONV_DATA");
		return load_mnist_dir(d, dir != NULL && *dir != '\0' ? dir :
		    SC_FASHION_MNIST_DIR);
	}
	if (strncmp(spec, "idx:", 4) == 0) {
		snprintf(d->name, sizeof(d->name), "idx");
		return load_idx_spec(d, spec + 4);
	}
	if (strncmp(spec, "cifar10:", 8) == 0) {
		snprintf(d->name, sizeof(d->name), "cifar10");
		return load_cifar(d, spec + 8);
	}
	if (strncmp(spec, "csv:", 4) == 0) {
		snprintf(d->name, sizeof(d->name), "csv");
		return load_table(d, spec + 4, o->label);
	}
	snprintf(d->name, sizeof(d->name), "idx");
	return load_mnist_dir(d, spec);
}

int
sc_data_load(struct sc_dataset *d, const struct sc_data_options *o)
{
	memset(d, 0, sizeof(d[0]));
	d->n_classes = 10;
	if (load_any(d, o) < 0)
		goto fail;
	if (o->val_split > 0.0) {
		if (split_validation(d, o->val_split, o->seed) < 0)
			goto fail;
	} else if (d->test.n == 0) {
		sc_fail_usage("no test set: give --val-split to hold out part of "
		    "the training data");
		goto fail;
	}
	if (d->shape.c > SC_MAX_CHANNELS && !d->is_table) {
		sc_fail("%d channels; at most %d", d->shape.c,
		    SC_MAX_CHANNELS);
		goto fail;
	}
	normalise(d);
	return 0;
fail:
	sc_fail_prefix("--data %s", o->spec);
	sc_data_free(d);
	return -1;
}

void
sc_data_free(struct sc_dataset *d)
{
	struct sc_split *splits[2] = { &d->train, &d->test };

	for (int k = 0; k < 2; k++) {
		free(splits[k]->pixels);
		free(splits[k]->values);
		free(splits[k]->labels);
		memset(splits[k], 0, sizeof(*splits[k]));
	}
}

int
sc_augment_parse(struct sc_augment *a, const char *spec)
{
	char copy[256];

	memset(a, 0, sizeof(*a));
	if (strcmp(spec, "none") == 0)
		return 0;
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *p = strtok(copy, ","); p != NULL; p = strtok(NULL, ",")) {
		char *end;
		long v;

		if ((strcmp(p, "flip") == 0 && a->flip) ||
		    (strncmp(p, "crop:", 5) == 0 && a->crop_pad > 0))
			return sc_fail("--augment: %s given twice", *p == 'f' ?
			    "flip" : "crop");
		if (strcmp(p, "flip") == 0) {
			a->flip = 1;
			continue;
		}
		if (strncmp(p, "crop:", 5) == 0) {
			v = strtol(p + 5, &end, 10);
			if (end != p + 5 && *end == '\0' && v >= 1 && v <= 64) {
				a->crop_pad = (int)v;
				continue;
			}
		}
		return sc_fail("--augment: '%s' is not crop:PAD (1 to 64) or "
		    "flip", p);
	}
	return 0;
}

/* One image, shifted by (dy, dx) with zero padding and maybe mirrored. */
static void
gather_augmented(const struct sc_dataset *d, const uint8_t *src, float *dst,
    int dy, int dx, int flip)
{
	int H = d->shape.h, W = d->shape.w, C = d->shape.c;

	for (int h = 0; h < H; h++)
		for (int w = 0; w < W; w++) {
			int sh = h + dy, sw = (flip ? W - 1 - w : w) + dx;
			float *out = dst + ((size_t)h * W + w) * C;

			for (int c = 0; c < C; c++)
				out[c] = sh < 0 || sh >= H || sw < 0 ||
				    sw >= W ? d->lut[c][0] : d->lut[c][src[
				    ((size_t)sh * W + sw) * C + c]];
		}
}

/* One image of bytes into normalised floats. */
static void
gather_plain(const struct sc_dataset *d, const uint8_t *src, float *dst)
{
	size_t size = sc_shape_size(d->shape);
	int C = d->shape.c;

	if (C == 1) {
		const float *lut = d->lut[0];

		for (size_t j = 0; j < size; j++)
			dst[j] = lut[src[j]];
		return;
	}
	for (size_t p = 0; p < size; p += C)
		for (int c = 0; c < C; c++)
			dst[p + c] = d->lut[c][src[p + c]];
}

/*
 * Samples are converted in parallel, GATHER_BLOCK at a time; the
 * augmentation's random shifts and flips are drawn first, in sample
 * order, so the stream is used as by a single thread.
 */
#define GATHER_BLOCK 64

void
sc_data_gather(const struct sc_dataset *d, const struct sc_split *s,
    const uint32_t *idx, int n, float *x, uint8_t *y,
    const struct sc_augment *aug, struct sc_rng *rng)
{
	size_t size = sc_shape_size(d->shape);
	int augment = !d->is_table && aug != NULL &&
	    (aug->crop_pad > 0 || aug->flip);

	for (int r0 = 0; r0 < n; r0 += GATHER_BLOCK) {
		int m = n - r0 < GATHER_BLOCK ? n - r0 : GATHER_BLOCK;
		int dy[GATHER_BLOCK], dx[GATHER_BLOCK], flip[GATHER_BLOCK];

		for (int r = 0; augment && r < m; r++) {
			int p = aug->crop_pad;

			dy[r] = p ? (int)sc_rng_below(rng, 2 * p + 1) - p : 0;
			dx[r] = p ? (int)sc_rng_below(rng, 2 * p + 1) - p : 0;
			flip[r] = aug->flip && (sc_rng_next(rng) >> 63);
		}
		#pragma omp parallel for schedule(static)
		for (int r = 0; r < m; r++) {
			uint32_t i = idx[r0 + r];
			float *dst = x + (size_t)(r0 + r) * size;

			y[r0 + r] = s->labels[i];
			if (d->is_table)
				memcpy(dst, s->values + (size_t)i * size,
				    size * sizeof(float));
			else if (augment)
				gather_augmented(d, s->pixels + (size_t)i *
				    size, dst, dy[r], dx[r], flip[r]);
			else
				gather_plain(d, s->pixels + (size_t)i * size,
				    dst);
		}
	}
}
