/*
 * sc_nn.h - layers and the network that stacks them.
 *
 * Activations are float32, batch-major: a batch of n samples of shape
 * (c, h, w) is n * c * h * w floats, sample after sample.  Every layer
 * has a forward and a backward pass; parameters and their gradients live
 * in two flat arrays owned by the model, so that the optimiser, the
 * checkpoint and the optimal-LR estimate see all of them at once.
 */
#ifndef SC_NN_H
#define SC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "sc_rng.h"

#define SC_MAX_LAYERS 256
#define SC_MAX_HIDDEN 16

struct sc_shape {
	int c, h, w;
};

static inline size_t
sc_shape_size(struct sc_shape s)
{
	return (size_t)s.c * s.h * s.w;
}

struct sc_layer;

struct sc_layer_ops {
	const char *kind;
	/* Fill the parameters for a fresh network. */
	void (*init)(struct sc_layer *l, struct sc_rng *rng);
	/* y[n, out] from x[n, in]; train is 0 when scoring. */
	void (*forward)(struct sc_layer *l, const float *x, float *y, int n,
	    int train);
	/* Add the parameter gradients and, when dx is not NULL, write
	 * dx[n, in] from dy[n, out]; x and y are the forward's. */
	void (*backward)(struct sc_layer *l, const float *x, const float *y,
	    const float *dy, float *dx, int n);
};

struct sc_layer {
	const struct sc_layer_ops *ops;
	struct sc_shape in, out;
	float *w, *b;		/* parameters, inside the model's theta */
	float *dw, *db;		/* their gradients, inside the model's grad */
	size_t n_w, n_b;
};

/* What a network is made of, before it is built. */
struct sc_model_spec {
	char name[32];			/* preset: "mlp" */
	int hidden[SC_MAX_HIDDEN];	/* mlp hidden layer widths */
	int n_hidden;
};

struct sc_model {
	struct sc_model_spec spec;
	struct sc_layer layers[SC_MAX_LAYERS];
	int n_layers;
	struct sc_shape input;
	int n_classes;
	int max_batch;

	float *theta;		/* every parameter */
	float *grad;		/* d loss / d theta, same layout */
	float *velocity;	/* the optimiser's momentum buffer */
	size_t n_theta;

	float *acts[SC_MAX_LAYERS];	/* layer outputs, max_batch rows */
	float *dbuf[2];			/* gradients flowing backwards */
};

/* Parse a preset name and its options ("512,256" for mlp's hidden
 * widths; NULL for the default) into spec.  Returns 0 or -1. */
int sc_model_spec_parse(struct sc_model_spec *spec, const char *name,
    const char *hidden);

/* "mlp:784-512-256-10"-style description of a built network. */
void sc_model_describe(const struct sc_model *m, char *buf, size_t len);

/* Build a network for inputs of the given shape and batches of at most
 * max_batch samples; every buffer it will use is allocated here.
 * Returns NULL with a message on failure; free with sc_model_free. */
struct sc_model *sc_model_create(const struct sc_model_spec *spec,
    struct sc_shape input, int n_classes, int max_batch);
void sc_model_free(struct sc_model *m);

/* Fresh parameters from rng; the momentum buffer is cleared. */
void sc_model_init(struct sc_model *m, struct sc_rng *rng);

/* Forward pass of n <= max_batch samples; returns the logits [n, K]. */
const float *sc_model_forward(struct sc_model *m, const float *x, int n,
    int train);

/* Backward pass from d loss / d logits [n, K] after a forward pass on the
 * same x; adds into m->grad (see sc_model_zero_grad). */
void sc_model_backward(struct sc_model *m, const float *x,
    const float *dlogits, int n);

void sc_model_zero_grad(struct sc_model *m);

/* Mean softmax cross-entropy of logits[n, k] against labels; writes
 * d loss / d logits to dlogits unless it is NULL, and the number of
 * correct predictions to *n_correct. */
double sc_softmax_xent(const float *logits, const uint8_t *labels, int n,
    int k, float *dlogits, int *n_correct);

/* Layer constructors: set ops, shapes and parameter counts. */
void sc_dense_setup(struct sc_layer *l, struct sc_shape in, int n_out);
void sc_relu_setup(struct sc_layer *l, struct sc_shape in);

#endif
