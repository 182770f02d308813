/*
 * sc_data.h - datasets: loading, normalising and drawing batches.
 *
 * Images stay as bytes in memory, each sample in HWC order (a quarter of
 * the float size), and are scaled to [0, 1] and normalised per channel
 * when a batch is drawn, with random crops and flips when augmentation is
 * on.  Tables (CSV) are normalised per column once, when loaded.
 */
#ifndef SC_DATA_H
#define SC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "sc_nn.h"
#include "sc_rng.h"

#define SC_MAX_CHANNELS 4

struct sc_split {
	int n;			/* samples */
	uint8_t *pixels;	/* images: n * h * w * c bytes */
	float *values;		/* tables: n * columns, normalised */
	uint8_t *labels;	/* n labels in 0 .. n_classes-1 */
};

/* How the data is found and split; part of a run's configuration. */
struct sc_data_options {
	char spec[1024];	/* fashion-mnist, DIR, idx:..., cifar10:DIR,
				 * csv:FILE */
	char label[128];	/* csv: the label column */
	double val_split;	/* share of the training data held out; 0:
				 * use the data's own test set */
	uint64_t seed;		/* for the held-out split */
};

struct sc_dataset {
	char name[64];		/* what kind: fashion-mnist, idx, cifar10,
				 * csv */
	struct sc_shape shape;
	int n_classes;
	int is_table;
	struct sc_split train, test;
	float mean[SC_MAX_CHANNELS], std[SC_MAX_CHANNELS];
	float lut[SC_MAX_CHANNELS][256];  /* byte -> normalised value */
};

/* Default directory of the Debian package dataset-fashion-mnist. */
#define SC_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Load a dataset:
 *   fashion-mnist         $SUPERCONV_DATA or the Debian package's files
 *   DIR                   the four IDX files of the MNIST layout
 *   idx:IMG,LBL[,IMG,LBL] an IDX image/label pair (and a test pair)
 *   cifar10:DIR           CIFAR-10's binary batches
 *   csv:FILE              a table: numeric columns and a label column
 * gzip'd or plain files alike.  With val_split > 0 the held-out set is
 * that share of the training data (a seeded choice); otherwise it is the
 * data's test set, which must then exist.  Normalisation comes from the
 * training samples only.  Returns 0 or -1 naming the file and fault. */
int sc_data_load(struct sc_dataset *d, const struct sc_data_options *o);
void sc_data_free(struct sc_dataset *d);

/* Read one IDX file (gzip'd or plain) whose magic says unsigned bytes
 * with n_dims dimensions; *dims receives the sizes.  Returns a buffer
 * of the product of dims bytes to free(), or NULL with a message. */
uint8_t *sc_idx_read(const char *path, int n_dims, uint32_t *dims);

/* Augmentation of training batches (images only). */
struct sc_augment {
	int crop_pad;		/* random crop after this much zero padding */
	int flip;		/* random horizontal flips */
};

/* Parse "crop:PAD,flip" (either part alone, or "none").  Returns 0 or -1
 * with a message naming --augment. */
int sc_augment_parse(struct sc_augment *a, const char *spec);

/* Copy samples idx[0..n-1] of a split into x[n, shape] as normalised
 * floats and y[n] as labels, augmented with rng when aug is not NULL. */
void sc_data_gather(const struct sc_dataset *d, const struct sc_split *s,
    const uint32_t *idx, int n, float *x, uint8_t *y,
    const struct sc_augment *aug, struct sc_rng *rng);

#endif
