#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sc_ckpt.h"
#include "sc_error.h"
#include "sc_io.h"

static const char magic[8] = "SCMODEL";

/* Writes through a running CRC. */
struct crc_writer {
	FILE *f;
	uLong crc;
};

static void
put(struct crc_writer *w, const void *p, size_t n)
{
	w->crc = crc32(w->crc, p, (uInt)n);
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

int
sc_ckpt_save(const char *path, const struct sc_model *m,
    const cJSON *header)
{
	struct crc_writer w;
	struct sc_out out;
	char *json;
	uint32_t crc;

	json = cJSON_PrintUnformatted(header);
	if (json == NULL)
		return sc_fail("%s: out of memory", path);
	if (sc_out_open(&out, path) < 0) {
		free(json);
		return -1;
	}
	w.f = out.f;
	w.crc = crc32(0L, Z_NULL, 0);
	put(&w, magic, sizeof(magic));
	put_u32(&w, SC_CKPT_VERSION);
	put_u32(&w, (uint32_t)strlen(json));
	put(&w, json, strlen(json));
	put_u64(&w, m->n_theta);
	/* Floats are written as their bytes: x86-64 and ARM are
	 * little-endian, as the format is. */
	put(&w, m->theta, m->n_theta * sizeof(float));
	put_u64(&w, m->n_state);
	put(&w, m->state, m->n_state * sizeof(float));
	crc = (uint32_t)w.crc;
	put_u32(&w, crc);
	free(json);
	return sc_out_commit(&out);
}

static int
get(FILE *f, const char *path, void *p, size_t n, uLong *crc)
{
	if (fread(p, 1, n, f) != n)
		return sc_fail("%s: truncated", path);
	if (crc != NULL)
		*crc = crc32(*crc, p, (uInt)n);
	return 0;
}

static uint32_t
le32(const unsigned char *b)
{
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

int
sc_ckpt_load(const char *path, struct sc_model *m, cJSON **header)
{
	unsigned char head[16], b[8];
	uLong crc = crc32(0L, Z_NULL, 0);
	char *json = NULL;
	uint32_t len;
	uint64_t count;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		return sc_fail("%s: %s", path, strerror(errno));
	if (get(f, path, head, 16, &crc) < 0)
		goto done;
	if (memcmp(head, magic, sizeof(magic)) != 0) {
		sc_fail("%s: not a superconv model file (bad magic)", path);
		goto done;
	}
	if (le32(head + 8) != SC_CKPT_VERSION) {
		sc_fail("%s: format version %u, this build reads %d", path,
		    (unsigned)le32(head + 8), SC_CKPT_VERSION);
		goto done;
	}
	len = le32(head + 12);
	if (len > (1u << 24) || (json = malloc(len + 1)) == NULL) {
		sc_fail("%s: header of %u bytes is not plausible", path,
		    (unsigned)len);
		goto done;
	}
	if (get(f, path, json, len, &crc) < 0 || get(f, path, b, 8, &crc) < 0)
		goto done;
	json[len] = '\0';
	count = le32(b) | (uint64_t)le32(b + 4) << 32;
	if (count != m->n_theta) {
		sc_fail("%s: holds %llu parameters, the model has %zu", path,
		    (unsigned long long)count, m->n_theta);
		goto done;
	}
	if (get(f, path, m->theta, m->n_theta * sizeof(float), &crc) < 0 ||
	    get(f, path, b, 8, &crc) < 0)
		goto done;
	count = le32(b) | (uint64_t)le32(b + 4) << 32;
	if (count != m->n_state) {
		sc_fail("%s: holds %llu running statistics, the model has %zu",
		    path, (unsigned long long)count, m->n_state);
		goto done;
	}
	if (get(f, path, m->state, m->n_state * sizeof(float), &crc) < 0 ||
	    get(f, path, b, 4, NULL) < 0)
		goto done;
	if (le32(b) != (uint32_t)crc) {
		sc_fail("%s: checksum mismatch: the file is damaged", path);
		goto done;
	}
	if (header != NULL) {
		*header = cJSON_Parse(json);
		if (*header == NULL) {
			sc_fail("%s: header is not valid JSON", path);
			goto done;
		}
	}
	rc = 0;
done:
	free(json);
	fclose(f);
	return rc;
}
