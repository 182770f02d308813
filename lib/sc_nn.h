/*
 * sc_nn.h - layers and the network that connects them.
 *
 * Activations are float32 in NHWC order: a batch of n samples of shape
 * (c, h, w) is n * h * w * c floats, sample after sample, pixel after
 * pixel, with the channels of a pixel side by side.  Convolutions then
 * become one matrix product over every output pixel of a batch, and a
 * dense layer sees each sample as one flat row.
 *
 * A network is a list of layers in running order; each layer reads the
 * outputs of one or two earlier layers (or the network's input), which is
 * how residual blocks join.  Parameters and their gradients live in two
 * flat arrays owned by the model, so the optimiser, the checkpoint and
 * the optimal-LR estimate see all of them at once; running statistics
 * (batch normalisation) live in a third.
 */
#ifndef SC_NN_H
#define SC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "sc_rng.h"

#define SC_MAX_LAYERS 512
#define SC_MAX_HIDDEN 16
#define SC_INPUT (-1)		/* a layer source: the network's input */

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
	/* Fill the parameters and state for a fresh network; may be NULL. */
	void (*init)(struct sc_layer *l, struct sc_rng *rng);
	/* y[n, out] from x[k][n, in[k]]; train is 0 when scoring. */
	void (*forward)(struct sc_layer *l, const float *const *x, float *y,
	    int n, int train);
	/* Add the parameter gradients and write dx[k][n, in[k]] from
	 * dy[n, out] for each source k whose dx[k] is not NULL (or add
	 * to it, when the model has set dx_add[k], which it does only
	 * where adds_dx says the layer can); x and y are the forward's. */
	void (*backward)(struct sc_layer *l, const float *const *x,
	    const float *y, const float *dy, float *const *dx, int n);
	/* Floats of private memory kept from forward to backward, and of
	 * work memory shared by all layers, for batches of max_batch;
	 * either may be NULL for none. */
	size_t (*priv_size)(const struct sc_layer *l, int max_batch);
	size_t (*work_size)(const struct sc_layer *l, int max_batch);
	/* Whether backward can add into dx (see dx_add); NULL for never. */
	int (*adds_dx)(const struct sc_layer *l);
	/* Whether the layer can take the ReLU after it (see relu), and
	 * whether it can read its source 1 through the zero-padding
	 * shortcut that source is (see cut). */
	int takes_relu, takes_cut;
	/* Whether it can do the batch norm that reads it (see bn); NULL
	 * for never. */
	int (*takes_bn)(const struct sc_layer *l);
};

struct sc_layer {
	const struct sc_layer_ops *ops;
	int src[2];		/* layer indices read, or SC_INPUT */
	int n_src;
	struct sc_shape in[2], out;

	float *w, *b;		/* parameters, inside the model's theta */
	float *dw, *db;		/* their gradients, inside the model's grad */
	size_t n_w, n_b;
	float *state;		/* running statistics, inside model->state */
	size_t n_state;
	float *priv;		/* private memory (see priv_size) */
	float *work;		/* shared work memory (see work_size) */
	size_t n_work;
	struct sc_rng *rng;	/* the model's stream for dropout */
	int max_batch;		/* the largest batch it is run on */

	/* Settings, as each kind uses them. */
	int k, stride, pad;	/* convolution, pooling */
	int pad_lo;		/* zero-padding shortcut: channels before */
	float momentum, eps;	/* batch normalisation */
	float p;		/* dropout probability */
	int train;		/* the mode of the last forward pass */
	int relu;		/* the next layer's ReLU, done here */
	int dx_add[2];		/* backward adds into dx[k] (see adds_dx) */
	int fused;		/* done by another layer: not run */
	int done_by;		/* which, when fused */
	/* A residual addition whose source 1 is a zero-padding shortcut
	 * that no other layer reads does the shortcut itself: it reads
	 * the shortcut's input (shape cut_in; stride and pad_lo as the
	 * shortcut's) and writes its gradient, and the shortcut is not
	 * run.  This saves writing the padded copy and reading it back. */
	int cut;
	struct sc_shape cut_in;
	/* A one-channel convolution whose only reader is a batch norm,
	 * and which reads the network's input, does that batch norm (and
	 * its folded ReLU) itself, and the 2x2 max pool with stride 2
	 * that is the only reader of their output, if there is one: its
	 * forward writes the batch norm's (or the pool's) output, from
	 * its own outputs held in registers, never stored; its backward
	 * takes the gradient of that output.  bn points to the batch
	 * norm and pool to the pool (or is NULL); they are not run. */
	struct sc_layer *bn, *pool;
};

/* What a network is made of, before it is built. */
struct sc_model_spec {
	char name[64];			/* preset, or "file" */
	char path[1024];		/* description file for "file" */
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
	float *state;		/* batch-norm running statistics */
	size_t n_state;
	struct sc_rng rng;	/* dropout masks */

	int profile;			/* time each layer's passes */
	double fwd_seconds[SC_MAX_LAYERS], bwd_seconds[SC_MAX_LAYERS];
	double fwd_samples, bwd_samples;	/* samples profiled */

	float *acts[SC_MAX_LAYERS];	/* layer outputs, max_batch rows */
	float *grads[SC_MAX_LAYERS];	/* d loss / d acts */
	/* Where a scoring pass (train 0) writes each output: as no
	 * backward pass follows, outputs whose readers are done by the
	 * time another is written share a buffer, so the pass works in a
	 * few buffers that stay in the cache rather than one per layer.
	 * With keep_outputs set it writes acts, as training does. */
	float *scores[SC_MAX_LAYERS];
	int keep_outputs;
	float *spare;			/* 2 x n_spare: second gradients */
	size_t n_spare;
	float *work;			/* shared work memory */
	float *priv;			/* every layer's private memory */
};

/* Parse a preset name ("mlp", "lenet", "cnn", "resnet8", "resnet20",
 * "resnet56") or the path of a description file (an existing file, or
 * a name ending in ".json"), with mlp's hidden widths ("512,256"; NULL
 * for the default), into spec.  Returns 0 or -1. */
int sc_model_spec_parse(struct sc_model_spec *spec, const char *name,
    const char *hidden);

/* Build a network for inputs of the given shape and batches of at most
 * max_batch samples; every buffer it will use is allocated here.
 * Returns NULL with a message on failure; free with sc_model_free. */
struct sc_model *sc_model_create(const struct sc_model_spec *spec,
    struct sc_shape input, int n_classes, int max_batch);
void sc_model_free(struct sc_model *m);

/* "784-512-256-10"-style summary: input size, then each parameterised
 * layer's output size. */
void sc_model_describe(const struct sc_model *m, char *buf, size_t len);

/* One line per layer (index, kind, sources, output shape, parameters),
 * then the totals, into f. */
void sc_model_print(const struct sc_model *m, void *f);

/* Floating-point operations of one training sample's forward pass
 * through the dense and convolution layers (a multiply-add counts 2);
 * the backward pass costs about twice as much. */
double sc_model_flops(const struct sc_model *m);

/* Per-layer time of the forward and backward passes since profiling was
 * switched on (m->profile = 1), one line per layer, into f. */
void sc_model_print_profile(const struct sc_model *m, void *f);

/* Fresh parameters and statistics from rng; the momentum buffer is
 * cleared. */
void sc_model_init(struct sc_model *m, struct sc_rng *rng);

/* Forward pass of n <= max_batch samples; returns the logits [n, K]. */
const float *sc_model_forward(struct sc_model *m, const float *x, int n,
    int train);

/* Backward pass from d loss / d logits [n, K] after a training forward
 * pass on the same x; adds into m->grad (see sc_model_zero_grad). */
void sc_model_backward(struct sc_model *m, const float *x,
    const float *dlogits, int n);

void sc_model_zero_grad(struct sc_model *m);

/* Mean softmax cross-entropy of logits[n, k] against labels; writes
 * d loss / d logits to dlogits unless it is NULL, and the number of
 * correct predictions to *n_correct unless it is NULL. */
double sc_softmax_xent(const float *logits, const uint8_t *labels, int n,
    int k, float *dlogits, int *n_correct);

/* Layer set-up: ops, shapes, parameter counts and settings.  Each
 * returns 0, or -1 with a message when the shapes do not fit. */
int sc_dense_setup(struct sc_layer *l, struct sc_shape in, int n_out);
int sc_relu_setup(struct sc_layer *l, struct sc_shape in);
int sc_conv_setup(struct sc_layer *l, struct sc_shape in, int filters,
    int k, int stride, int pad, int bias);
int sc_bn_setup(struct sc_layer *l, struct sc_shape in, float momentum,
    float eps);
int sc_maxpool_setup(struct sc_layer *l, struct sc_shape in, int k,
    int stride);
int sc_gap_setup(struct sc_layer *l, struct sc_shape in);
int sc_dropout_setup(struct sc_layer *l, struct sc_shape in, float p);
int sc_add_setup(struct sc_layer *l, struct sc_shape a, struct sc_shape b);
int sc_padcut_setup(struct sc_layer *l, struct sc_shape in, int filters,
    int stride);

/* out[j] = max(0, in[j]) for lo <= j < hi (in and out may be the same
 * array), and d[j] = g[j] where y[j] > 0, else 0: the ReLU's passes, for
 * the layers that do their ReLU themselves as well. */
void sc_relu_range(const float *in, float *out, long lo, long hi);
void sc_relu_grad_range(const float *y, const float *g, float *d, long lo,
    long hi);

/* A batch norm done by the layer before it (see bn in struct sc_layer).
 * sc_bn_set sets the batch norm's mean, invstd and affine map y = x *
 * scale + shift (then the ReLU, when folded), as its own forward pass
 * would: from the batch's mean and (biased) variance of each channel
 * over M values when mean is not NULL, updating the running statistics
 * as a training pass does, and from the running statistics when it is
 * (scoring).  sc_bn_affine and sc_bn_stats give those rows (C floats
 * each); the layer adds the batch norm's parameter gradients to its dw
 * (gamma) and db (beta) itself. */
void sc_bn_set(struct sc_layer *bn, const double *mean, const double *var,
    size_t M);
void sc_bn_affine(const struct sc_layer *bn, const float **scale,
    const float **shift);
void sc_bn_stats(const struct sc_layer *bn, const float **mean,
    const float **invstd);

/* The mean (9) and the covariance (9 x 9) of the 3x3 patches over the
 * last training pass of a one-channel convolution doing its batch norm
 * (l->bn set): its batch norm's statistics come from them. */
void sc_conv_patch_stats(const struct sc_layer *l, double pbar[9],
    double cov[81]);

/* The direct convolution the fast one is tested against: y[n, out]
 * from x[n, in] with l's weights, one output at a time. */
void sc_conv_naive_forward(const struct sc_layer *l, const float *x,
    float *y, int n);

#endif
