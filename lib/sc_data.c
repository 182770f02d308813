#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sc_data.h"
#include "sc_error.h"

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

			return sc_fail("%s: %s", path, zerr == Z_ERRNO ?
			    strerror(errno) : msg);
		}
		if (got == 0)
			return sc_fail("%s: truncated: file ends inside the %s",
			    path, what);
		p += got;
		len -= (size_t)got;
	}
	return 0;
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
	data = malloc(total);
	if (data == NULL) {
		sc_fail("%s: out of memory for %zu bytes", path, total);
		goto fail;
	}
	if (read_fully(f, path, data, total, "data") < 0)
		goto fail;
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

/* Find "dir/name.gz" or "dir/name"; fills path. */
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
load_split(struct sc_dataset *d, struct sc_split *s, const char *dir,
    const char *prefix)
{
	char path[4096], name[64];
	uint32_t idims[3], ldims[1];

	snprintf(name, sizeof(name), "%s-images-idx3-ubyte", prefix);
	if (find_file(path, sizeof(path), dir, name) < 0)
		return -1;
	s->pixels = sc_idx_read(path, 3, idims);
	if (s->pixels == NULL)
		return -1;

	snprintf(name, sizeof(name), "%s-labels-idx1-ubyte", prefix);
	if (find_file(path, sizeof(path), dir, name) < 0)
		return -1;
	s->labels = sc_idx_read(path, 1, ldims);
	if (s->labels == NULL)
		return -1;

	if (idims[0] != ldims[0])
		return sc_fail("%s: %u labels for %u images", path,
		    (unsigned)ldims[0], (unsigned)idims[0]);
	if (d->shape.h != 0 && (d->shape.h != (int)idims[1] ||
	    d->shape.w != (int)idims[2]))
		return sc_fail("%s: images are %ux%u, the training set's "
		    "%dx%d", path, (unsigned)idims[1], (unsigned)idims[2],
		    d->shape.h, d->shape.w);
	d->shape = (struct sc_shape){ 1, (int)idims[1], (int)idims[2] };
	s->n = (int)idims[0];
	for (int i = 0; i < s->n; i++)
		if (s->labels[i] >= d->n_classes)
			return sc_fail("%s: label %u of item %d is outside "
			    "0..%d", path, s->labels[i], i, d->n_classes - 1);
	return 0;
}

/* Per-channel mean and standard deviation of the training pixels in
 * [0, 1], and the byte -> normalised lookup table built from them. */
static void
compute_normalisation(struct sc_dataset *d)
{
	size_t plane = (size_t)d->shape.h * d->shape.w;

	for (int c = 0; c < d->shape.c; c++) {
		double sum = 0.0, sq = 0.0, count;

		for (int i = 0; i < d->train.n; i++) {
			const uint8_t *p = d->train.pixels +
			    ((size_t)i * d->shape.c + c) * plane;

			for (size_t j = 0; j < plane; j++) {
				sum += p[j];
				sq += (double)p[j] * p[j];
			}
		}
		count = (double)d->train.n * plane;
		sum /= count * 255.0;
		sq /= count * 255.0 * 255.0;
		d->mean[c] = (float)sum;
		d->std[c] = (float)sqrt(sq - sum * sum);
		if (!(d->std[c] > 1e-6f))
			d->std[c] = 1.0f;
		for (int v = 0; v < 256; v++)
			d->lut[c][v] = (float)((v / 255.0 - d->mean[c]) /
			    d->std[c]);
	}
}

int
sc_data_load(struct sc_dataset *d, const char *spec)
{
	const char *dir = spec;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", spec);
	d->n_classes = 10;
	if (strcmp(spec, "fashion-mnist") == 0) {
		dir = getenv("SUPERCONV_DATA");
		if (dir == NULL || *dir == '\0')
			dir = SC_FASHION_MNIST_DIR;
	}
	if (load_split(d, &d->train, dir, "train") < 0 ||
	    load_split(d, &d->test, dir, "t10k") < 0) {
		sc_fail_prefix("data '%s'", spec);
		sc_data_free(d);
		return -1;
	}
	compute_normalisation(d);
	return 0;
}

void
sc_data_free(struct sc_dataset *d)
{
	free(d->train.pixels);
	free(d->train.labels);
	free(d->test.pixels);
	free(d->test.labels);
	d->train.pixels = d->train.labels = NULL;
	d->test.pixels = d->test.labels = NULL;
}

void
sc_data_gather(const struct sc_dataset *d, const struct sc_split *s,
    const uint32_t *idx, int n, float *x, uint8_t *y)
{
	size_t plane = (size_t)d->shape.h * d->shape.w;
	size_t size = plane * d->shape.c;

	for (int r = 0; r < n; r++) {
		const uint8_t *src = s->pixels + (size_t)idx[r] * size;
		float *dst = x + (size_t)r * size;

		for (int c = 0; c < d->shape.c; c++) {
			const float *lut = d->lut[c];

			for (size_t j = 0; j < plane; j++)
				dst[c * plane + j] = lut[src[c * plane + j]];
		}
		y[r] = s->labels[idx[r]];
	}
}
