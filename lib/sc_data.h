/*
 * sc_data.h - datasets: loading, normalising and drawing batches.
 *
 * Pixels stay as bytes in memory (a quarter of the float size) and are
 * scaled to [0, 1] and normalised per channel when a batch is drawn.
 */
#ifndef SC_DATA_H
#define SC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "sc_nn.h"

struct sc_split {
	int n;			/* samples */
	uint8_t *pixels;	/* n * shape size bytes, channel-major */
	uint8_t *labels;	/* n labels in 0 .. n_classes-1 */
};

struct sc_dataset {
	char name[64];		/* "fashion-mnist" or the path given */
	struct sc_shape shape;
	int n_classes;
	struct sc_split train, test;
	float mean[3], std[3];	/* per channel, of the training pixels */
	float lut[3][256];	/* byte -> normalised value, per channel */
};

/* Default directory of the Debian package dataset-fashion-mnist. */
#define SC_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Load a dataset by name ("fashion-mnist", found in $SUPERCONV_DATA or
 * the Debian package's directory) or by a directory path holding the
 * four IDX files of the MNIST layout, gzip'd or not.  Computes the
 * normalisation from the training split.  Returns 0 or -1. */
int sc_data_load(struct sc_dataset *d, const char *spec);
void sc_data_free(struct sc_dataset *d);

/* Read one IDX file (gzip'd or plain) whose magic says unsigned bytes
 * with n_dims dimensions; *dims receives the sizes.  Returns a buffer
 * of the product of dims bytes to free(), or NULL with a message. */
uint8_t *sc_idx_read(const char *path, int n_dims, uint32_t *dims);

/* Copy samples idx[0..n-1] of a split into x[n, shape] as normalised
 * floats and y[n] as labels. */
void sc_data_gather(const struct sc_dataset *d, const struct sc_split *s,
    const uint32_t *idx, int n, float *x, uint8_t *y);

#endif
