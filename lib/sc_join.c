/*
 * Layers that join or reshape paths: residual addition, the zero-padding
 * shortcut of CIFAR ResNets (option A), and dropout.
 */
#include <string.h>

#include "sc_error.h"
#include "sc_nn.h"
#include "sc_simd.h"

SC_HOT static void
add_range(const float *restrict a, const float *restrict b,
    float *restrict out, long lo, long hi)
{
	for (long j = lo; j < hi; j++)
		out[j] = a[j] + b[j];
}

SC_HOT static void
add_relu_range(const float *restrict a, const float *restrict b,
    float *restrict out, long lo, long hi)
{
	for (long j = lo; j < hi; j++) {
		float v = a[j] + b[j];

		out[j] = v > 0.0f ? v : 0.0f;
	}
}

/* The gradient of one source, rows lo..hi: dy where y > 0 (or, without
 * a ReLU, where y is anything), set into dx or added to it. */
SC_HOT static void
pass_range(const float *restrict dy, const float *restrict y, int relu,
    int add, float *restrict dx, long lo, long hi)
{
	if (relu && add)
		for (long j = lo; j < hi; j++)
			dx[j] += y[j] > 0.0f ? dy[j] : 0.0f;
	else if (relu)
		for (long j = lo; j < hi; j++)
			dx[j] = y[j] > 0.0f ? dy[j] : 0.0f;
	else if (add)
		for (long j = lo; j < hi; j++)
			dx[j] += dy[j];
	else
		memcpy(dx + lo, dy + lo, (size_t)(hi - lo) * sizeof(float));
}

/* With the ReLU, both sources' gradients set in one pass over dy and y. */
SC_HOT static void
pass_both_range(const float *restrict dy, const float *restrict y,
    float *restrict dx0, float *restrict dx1, long lo, long hi)
{
	for (long j = lo; j < hi; j++) {
		float g = y[j] > 0.0f ? dy[j] : 0.0f;

		dx0[j] = g;
		dx1[j] = g;
	}
}

/*
 * An addition that does its zero-padding shortcut (cut set): source 1 is
 * the shortcut's input, of shape cut_in, whose every stride-th pixel
 * gives channels pad_lo .. pad_lo + cut_in.c - 1; the other channels add
 * 0, as the shortcut's zeros did, so that the results are the same bit
 * for bit.  Samples lo..hi.
 */
SC_HOT static void
cut_add_range(const struct sc_layer *l, const float *restrict a,
    const float *restrict x, float *restrict y, long lo, long hi)
{
	int H = l->cut_in.h, W = l->cut_in.w, C = l->cut_in.c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, st = l->stride;
	int c0 = l->pad_lo, c1 = l->pad_lo + C, relu = l->relu;

	for (long i = lo; i < hi; i++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				size_t at = (((size_t)i * OH + oh) * OW + ow) *
				    F;
				const float *src = x + (((size_t)i * H +
				    (size_t)oh * st) * W + (size_t)ow * st) * C;
				const float *ap = a + at;
				float *out = y + at;

				for (int f = 0; f < c0; f++)
					out[f] = ap[f] + 0.0f;
				for (int c = 0; c < C; c++)
					out[c0 + c] = ap[c0 + c] + src[c];
				for (int f = c1; f < F; f++)
					out[f] = ap[f] + 0.0f;
				if (relu)
					for (int f = 0; f < F; f++)
						out[f] = out[f] > 0.0f ?
						    out[f] : 0.0f;
			}
}

/* n values of the gradient g (dy where y > 0, or dy without the ReLU),
 * set into d or added to it. */
static inline __attribute__((always_inline)) void
put_grad(float *restrict d, const float *restrict dy,
    const float *restrict y, int n, const int relu, int add)
{
	if (add)
		for (int c = 0; c < n; c++)
			d[c] += !relu || y[c] > 0.0f ? dy[c] : 0.0f;
	else
		for (int c = 0; c < n; c++)
			d[c] = !relu || y[c] > 0.0f ? dy[c] : 0.0f;
}

/*
 * Both gradients of an addition doing its shortcut, samples lo..hi, in
 * one pass over dy and y: each output pixel's gradient goes to dx0 whole
 * (unless NULL) and its channels pad_lo.. to the kept input pixel in dx1
 * (unless NULL), set or added as add0 and add1 say.  Setting dx1 sets
 * the pixels between the kept ones to 0 first.
 */
static inline __attribute__((always_inline)) void
cut_grads(const struct sc_layer *l, const float *restrict dy,
    const float *restrict y, float *restrict dx0, float *restrict dx1,
    int add0, int add1, long lo, long hi, const int relu)
{
	int H = l->cut_in.h, W = l->cut_in.w, C = l->cut_in.c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, st = l->stride;
	size_t in_len = (size_t)H * W * C;

	for (long i = lo; i < hi; i++) {
		float *d1 = dx1 != NULL ? dx1 + (size_t)i * in_len : NULL;

		if (d1 != NULL && !add1 && st > 1)
			for (int h = 0; h < H; h++)
				for (int w = 0; w < W; w++)
					if (h % st != 0 || w % st != 0)
						for (int c = 0; c < C; c++)
							d1[((size_t)h * W + w) *
							    C + c] = 0.0f;
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				size_t at = (((size_t)i * OH + oh) * OW + ow) *
				    F;

				if (dx0 != NULL)
					put_grad(dx0 + at, dy + at, y + at, F,
					    relu, add0);
				if (d1 != NULL)
					put_grad(d1 + ((size_t)oh * st * W +
					    (size_t)ow * st) * C, dy + at +
					    l->pad_lo, y + at + l->pad_lo, C,
					    relu, add1);
			}
	}
}

SC_HOT static void
cut_grad_range(const struct sc_layer *l, const float *restrict dy,
    const float *restrict y, float *restrict dx0, float *restrict dx1,
    long lo, long hi)
{
	if (l->relu)
		cut_grads(l, dy, y, dx0, dx1, l->dx_add[0], l->dx_add[1], lo,
		    hi, 1);
	else
		cut_grads(l, dy, y, dx0, dx1, l->dx_add[0], l->dx_add[1], lo,
		    hi, 0);
}

/* y = a + b, or max(0, a + b) with the next layer's ReLU folded in; the
 * gradient flows unchanged to both (where y > 0, with the ReLU). */
static void
add_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	long len = (long)n * (long)sc_shape_size(l->out);

	(void)train;
	if (l->cut) {
		#pragma omp parallel num_threads(sc_threads())
		{
			long lo, hi;

			sc_share(n, &lo, &hi);
			cut_add_range(l, x[0], x[1], y, lo, hi);
		}
		return;
	}
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(len, &lo, &hi);
		if (l->relu)
			add_relu_range(x[0], x[1], y, lo, hi);
		else
			add_range(x[0], x[1], y, lo, hi);
	}
}

static void
add_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	long len = (long)n * (long)sc_shape_size(l->out);

	(void)x;
	if (l->cut) {
		#pragma omp parallel num_threads(sc_threads())
		{
			long lo, hi;

			sc_share(n, &lo, &hi);
			cut_grad_range(l, dy, y, dx[0], dx[1], lo, hi);
		}
		return;
	}
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(len, &lo, &hi);
		if (l->relu && dx[0] != NULL && dx[1] != NULL &&
		    !l->dx_add[0] && !l->dx_add[1])
			pass_both_range(dy, y, dx[0], dx[1], lo, hi);
		else
			for (int k = 0; k < 2; k++)
				if (dx[k] != NULL)
					pass_range(dy, y, l->relu,
					    l->dx_add[k], dx[k], lo, hi);
	}
}

static int
always(const struct sc_layer *l)
{
	(void)l;
	return 1;
}

static const struct sc_layer_ops add_ops = {
	.kind = "add",
	.forward = add_forward,
	.backward = add_backward,
	.adds_dx = always,
	.takes_relu = 1,
	.takes_cut = 1,
};

int
sc_add_setup(struct sc_layer *l, struct sc_shape a, struct sc_shape b)
{
	if (a.c != b.c || a.h != b.h || a.w != b.w)
		return sc_fail("add: shapes %dx%dx%d and %dx%dx%d differ",
		    a.c, a.h, a.w, b.c, b.h, b.w);
	l->ops = &add_ops;
	l->in[0] = a;
	l->in[1] = b;
	l->out = a;
	return 0;
}

/* Shortcut A: keep every stride-th pixel and put the channels between
 * pad_lo zero channels before and the rest after. */
static void
padcut_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, s = l->stride;

	(void)train;
	#pragma omp parallel for schedule(static) num_threads(sc_threads())
	for (int i = 0; i < n; i++) {
		memset(y + (size_t)i * sc_shape_size(l->out), 0,
		    sc_shape_size(l->out) * sizeof(float));
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				memcpy(y + (((size_t)i * OH + oh) * OW + ow) *
				    F + l->pad_lo, x[0] + (((size_t)i *
				    l->in[0].h + oh * s) * W + ow * s) * C,
				    C * sizeof(float));
	}
}

static void
padcut_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, s = l->stride;

	(void)x;
	(void)y;
	if (dx[0] == NULL)
		return;
	#pragma omp parallel for schedule(static) num_threads(sc_threads())
	for (int i = 0; i < n; i++) {
		memset(dx[0] + (size_t)i * sc_shape_size(l->in[0]), 0,
		    sc_shape_size(l->in[0]) * sizeof(float));
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				memcpy(dx[0] + (((size_t)i * l->in[0].h +
				    oh * s) * W + ow * s) * C, dy +
				    (((size_t)i * OH + oh) * OW + ow) * F +
				    l->pad_lo, C * sizeof(float));
	}
}

static const struct sc_layer_ops padcut_ops = {
	.kind = "padcut",
	.forward = padcut_forward,
	.backward = padcut_backward,
};

int
sc_padcut_setup(struct sc_layer *l, struct sc_shape in, int filters,
    int stride)
{
	if (filters < in.c || stride < 1)
		return sc_fail("zero-padding shortcut: %d channels cannot "
		    "become %d", in.c, filters);
	l->ops = &padcut_ops;
	l->in[0] = in;
	l->out = (struct sc_shape){ filters, (in.h - 1) / stride + 1,
		(in.w - 1) / stride + 1 };
	l->stride = stride;
	l->pad_lo = (filters - in.c) / 2;
	return 0;
}

/* Inverted dropout: while training, each value is kept with probability
 * 1 - p and scaled by 1 / (1 - p); scoring passes values through.  priv
 * holds the mask (0 or the scale) for the backward. */
static size_t
dropout_priv_size(const struct sc_layer *l, int max_batch)
{
	return (size_t)max_batch * sc_shape_size(l->out);
}

static void
dropout_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	size_t len = (size_t)n * sc_shape_size(l->out);
	float scale = 1.0f / (1.0f - l->p);

	l->train = train;
	if (!train) {
		memcpy(y, x[0], len * sizeof(float));
		return;
	}
	for (size_t j = 0; j < len; j++) {
		l->priv[j] = sc_rng_uniform(l->rng) < l->p ? 0.0f : scale;
		y[j] = x[0][j] * l->priv[j];
	}
}

static void
dropout_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	size_t len = (size_t)n * sc_shape_size(l->out);

	(void)x;
	(void)y;
	if (dx[0] == NULL)
		return;
	for (size_t j = 0; j < len; j++)
		dx[0][j] = l->train ? dy[j] * l->priv[j] : dy[j];
}

static const struct sc_layer_ops dropout_ops = {
	.kind = "dropout",
	.forward = dropout_forward,
	.backward = dropout_backward,
	.priv_size = dropout_priv_size,
};

int
sc_dropout_setup(struct sc_layer *l, struct sc_shape in, float p)
{
	if (!(p >= 0.0f && p < 1.0f))
		return sc_fail("dropout: probability %g must be in [0, 1)",
		    p);
	l->ops = &dropout_ops;
	l->in[0] = in;
	l->out = in;
	l->p = p;
	return 0;
}
