/*
 * Numeric kernels against finite differences and naive loops: dense,
 * ReLU, softmax cross-entropy, a whole MLP, and one SGD update computed
 * by hand.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sc_blas.h"
#include "sc_nn.h"
#include "sc_optim.h"
#include "sc_rng.h"
#include "sc_simd.h"

static void
fill(struct sc_rng *rng, float *p, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * scale);
}

/* Keep inputs away from ReLU's kink so differences are clean. */
static void
fill_off_zero(struct sc_rng *rng, float *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double v = 0.1 + sc_rng_uniform(rng);

		p[i] = (float)(sc_rng_uniform(rng) < 0.5 ? -v : v);
	}
}

/*
 * A layer under test with its own memory: parameters, gradients,
 * statistics, private and work memory, inputs and their gradients.
 */
struct rig {
	struct sc_layer *l;
	int n, train;
	float *x[2], *dx[2], *y, *r;
	struct sc_rng rng, rng_start;
};

static float *
zeros(size_t n)
{
	return calloc(n > 0 ? n : 1, sizeof(float));
}

/* Parameters, state and private memory for a layer outside a model. */
static void
layer_memory(struct sc_layer *l, int n)
{
	l->max_batch = n;
	l->w = zeros(l->n_w), l->dw = zeros(l->n_w);
	l->b = zeros(l->n_b), l->db = zeros(l->n_b);
	l->state = zeros(l->n_state);
	l->priv = zeros(l->ops->priv_size ? l->ops->priv_size(l, n) : 0);
	l->work = zeros(l->ops->work_size ? l->ops->work_size(l, n) : 0);
}

static void
rig_setup(struct rig *g, struct sc_layer *l, int n, int train,
    struct sc_rng *rng)
{
	size_t out = (size_t)n * sc_shape_size(l->out);

	memset(g, 0, sizeof(*g));
	g->l = l, g->n = n, g->train = train;
	layer_memory(l, n);
	sc_rng_seed(&g->rng, 11);
	g->rng_start = g->rng;
	l->rng = &g->rng;
	if (l->n_src == 0)
		l->n_src = 1;
	if (l->ops->init != NULL)
		l->ops->init(l, rng);
	fill(rng, l->w, l->n_w, 1.0);
	fill(rng, l->b, l->n_b, 1.0);
	for (int k = 0; k < l->n_src; k++) {
		size_t len = (size_t)n * sc_shape_size(l->in[k]);

		g->x[k] = zeros(len);
		g->dx[k] = zeros(len);
		fill_off_zero(rng, g->x[k], len);
	}
	g->y = zeros(out);
	g->r = zeros(out);
	fill(rng, g->r, out, 1.0);
}

static void
rig_free(struct rig *g)
{
	struct sc_layer *l = g->l;

	free(l->w), free(l->dw), free(l->b), free(l->db);
	free(l->state), free(l->priv), free(l->work);
	for (int k = 0; k < l->n_src; k++)
		free(g->x[k]), free(g->dx[k]);
	free(g->y), free(g->r);
}

/* L = sum(y * r), so dL/dy = r.  Dropout's stream restarts each time so
 * that every pass draws the same mask. */
static double
probe(struct rig *g)
{
	const float *in[2] = { g->x[0], g->x[1] };
	size_t out = (size_t)g->n * sc_shape_size(g->l->out);
	double sum = 0.0;

	g->rng = g->rng_start;
	g->l->ops->forward(g->l, in, g->y, g->n, g->train);
	for (size_t i = 0; i < out; i++)
		sum += (double)g->y[i] * g->r[i];
	return sum;
}

/* Central differences of probe with respect to each p[i] against the
 * analytic gradient a[i]. */
static void
check_gradient(const char *what, struct rig *g, float *p, const float *a,
    size_t len, float eps)
{
	int bad = 0;

	for (size_t i = 0; i < len; i++) {
		float keep = p[i];
		double up, down, numeric;

		p[i] = keep + eps;
		up = probe(g);
		p[i] = keep - eps;
		down = probe(g);
		p[i] = keep;
		numeric = (up - down) / (2.0 * eps);
		if (fabs(numeric - a[i]) > 3e-3 * (1.0 + fabs(numeric)) &&
		    bad++ < 3)
			fprintf(stderr, "%s[%zu]: analytic %g, numeric %g\n",
			    what, i, a[i], numeric);
	}
	if (!CHECK(bad == 0))
		fprintf(stderr, "  in the gradient check of %s\n", what);
}

/* Every gradient of a layer: weights, biases and each input. */
static void
check_layer(const char *name, struct sc_layer *l, int n, int train,
    struct sc_rng *rng, float eps)
{
	const float *in[2];
	float *dx[2];
	struct rig g;
	char what[64];

	rig_setup(&g, l, n, train, rng);
	in[0] = g.x[0], in[1] = g.x[1];
	dx[0] = g.dx[0], dx[1] = g.dx[1];
	probe(&g);
	l->ops->backward(l, in, g.y, g.r, dx, n);
	snprintf(what, sizeof(what), "%s dW", name);
	check_gradient(what, &g, l->w, l->dw, l->n_w, eps);
	snprintf(what, sizeof(what), "%s db", name);
	check_gradient(what, &g, l->b, l->db, l->n_b, eps);
	for (int k = 0; k < l->n_src; k++) {
		snprintf(what, sizeof(what), "%s dx%d", name, k);
		check_gradient(what, &g, g.x[k], g.dx[k],
		    (size_t)n * sc_shape_size(l->in[k]), eps);
	}
	rig_free(&g);
}

static void
test_layer_gradients(struct sc_rng *rng)
{
	struct sc_layer l;
	struct sc_shape vec = { 7, 1, 1 }, img = { 3, 5, 4 };
	struct sc_shape even = { 2, 6, 4 };

	memset(&l, 0, sizeof(l));
	sc_dense_setup(&l, vec, 5);
	check_layer("dense", &l, 3, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	sc_dense_setup(&l, img, 4);	/* flattens an image */
	check_layer("dense on an image", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	sc_relu_setup(&l, img);
	check_layer("relu", &l, 2, 1, rng, 1e-2f);

	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, img, 4, 3, 1, 1, 1) == 0);
	check_layer("conv3x3", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, img, 5, 3, 2, 1, 0) == 0);
	CHECK(l.out.h == 3 && l.out.w == 2 && l.n_b == 0);
	check_layer("conv3x3 stride 2", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, img, 4, 1, 1, 0, 1) == 0);
	check_layer("conv1x1", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, img, 4, 1, 2, 0, 0) == 0);
	check_layer("conv1x1 stride 2", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, (struct sc_shape){ 2, 6, 7 }, 3, 5, 1, 0,
	    1) == 0);
	check_layer("conv5x5 unpadded", &l, 2, 1, rng, 1e-2f);
	/* Short patches run the direct loops: a whole block of 16 filters
	 * and a narrower one, with and without stride. */
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, (struct sc_shape){ 1, 6, 5 }, 20, 3, 1, 1,
	    1) == 0);
	check_layer("conv3x3 direct, one channel", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, (struct sc_shape){ 2, 7, 6 }, 17, 3, 2, 1,
	    0) == 0);
	check_layer("conv3x3 direct, stride 2", &l, 2, 1, rng, 1e-2f);
	/* Few filters: the direct loops' forward, and dx as the forward of
	 * the transposed convolution. */
	/* This one runs Winograd, whose rounding (a few parts in a million
	 * of the outputs) would swamp the difference a step of 1e-2 makes;
	 * a convolution is linear, so a larger step costs no accuracy. */
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, (struct sc_shape){ 16, 5, 6 }, 16, 3, 1, 1,
	    1) == 0);
	check_layer("conv3x3 16 filters", &l, 2, 1, rng, 0.25f);
	memset(&l, 0, sizeof(l));
	CHECK(sc_conv_setup(&l, (struct sc_shape){ 4, 5, 6 }, 32, 3, 1, 1,
	    0) == 0);
	check_layer("conv3x3 32 filters", &l, 2, 1, rng, 1e-2f);

	memset(&l, 0, sizeof(l));
	sc_bn_setup(&l, img, 0.1f, 1e-5f);
	check_layer("batchnorm train", &l, 3, 1, rng, 1e-3f);
	memset(&l, 0, sizeof(l));
	sc_bn_setup(&l, img, 0.1f, 1e-5f);
	check_layer("batchnorm eval", &l, 3, 0, rng, 1e-2f);
	/* Widths of 16, 32, 48 and 64 channels run the named-vector
	 * loops. */
	memset(&l, 0, sizeof(l));
	sc_bn_setup(&l, (struct sc_shape){ 16, 3, 2 }, 0.1f, 1e-5f);
	check_layer("batchnorm 16 channels", &l, 3, 1, rng, 1e-3f);
	memset(&l, 0, sizeof(l));
	sc_bn_setup(&l, (struct sc_shape){ 48, 2, 2 }, 0.1f, 1e-5f);
	check_layer("batchnorm 48 channels", &l, 3, 1, rng, 1e-3f);
	memset(&l, 0, sizeof(l));
	sc_bn_setup(&l, (struct sc_shape){ 64, 1, 3 }, 0.1f, 1e-5f);
	check_layer("batchnorm 64 channels eval", &l, 2, 0, rng, 1e-2f);

	memset(&l, 0, sizeof(l));
	sc_maxpool_setup(&l, even, 2, 2);
	check_layer("maxpool", &l, 2, 1, rng, 1e-3f);
	memset(&l, 0, sizeof(l));
	sc_maxpool_setup(&l, img, 3, 1);	/* overlapping windows */
	check_layer("maxpool 3x3 stride 1", &l, 2, 1, rng, 1e-3f);
	memset(&l, 0, sizeof(l));
	sc_gap_setup(&l, img);
	check_layer("gap", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	sc_add_setup(&l, img, img);
	l.n_src = 2;
	check_layer("add", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	sc_padcut_setup(&l, even, 6, 2);
	CHECK(l.out.c == 6 && l.out.h == 3 && l.out.w == 2 && l.pad_lo == 2);
	check_layer("padcut", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	sc_dropout_setup(&l, img, 0.3f);
	check_layer("dropout train", &l, 2, 1, rng, 1e-2f);
	memset(&l, 0, sizeof(l));
	sc_dropout_setup(&l, img, 0.3f);
	check_layer("dropout eval", &l, 2, 0, rng, 1e-2f);
}

/* Max pooling's backward against the naive routing, on windows that
 * leave a margin uncovered, into a gradient buffer holding stale values:
 * every input gets its window's gradient or exactly zero. */
static void
test_maxpool_margin(struct sc_rng *rng)
{
	static const struct { int c, h, w, k, s; } cases[] = {
		{ 3, 5, 5, 2, 2 }, { 70, 7, 6, 2, 2 }, { 2, 7, 7, 3, 2 },
	};

	for (size_t t = 0; t < sizeof(cases) / sizeof(*cases); t++) {
		struct sc_shape in = { cases[t].c, cases[t].h, cases[t].w };
		struct sc_layer l;
		struct rig g;
		float *want;
		size_t n_x;
		int same = 1, C = in.c;

		memset(&l, 0, sizeof(l));
		CHECK(sc_maxpool_setup(&l, in, cases[t].k, cases[t].s) == 0);
		rig_setup(&g, &l, 2, 1, rng);
		n_x = (size_t)g.n * sc_shape_size(in);
		want = zeros(n_x);
		probe(&g);
		for (int s = 0; s < g.n; s++)
			for (int oh = 0; oh < l.out.h; oh++)
				for (int ow = 0; ow < l.out.w; ow++)
					for (int c = 0; c < C; c++) {
						size_t best = 0;
						float top = -INFINITY;

						for (int kh = 0; kh < l.k; kh++)
							for (int kw = 0; kw < l.k;
							    kw++) {
								size_t i = (((size_t)
								    s * in.h + oh *
								    l.stride + kh) *
								    in.w + ow *
								    l.stride + kw) *
								    C + c;

								if (g.x[0][i] > top)
									top = g.x[0][i],
									best = i;
							}
						want[best] += g.r[(((size_t)s *
						    l.out.h + oh) * l.out.w +
						    ow) * C + c];
					}
		for (size_t i = 0; i < n_x; i++)
			g.dx[0][i] = 7.0f;
		{
			const float *x[1] = { g.x[0] };
			float *dx[1] = { g.dx[0] };

			l.ops->backward(&l, x, g.y, g.r, dx, g.n);
		}
		for (size_t i = 0; i < n_x; i++)
			same &= g.dx[0][i] == want[i];
		if (!CHECK(same))
			fprintf(stderr, "  maxpool margin case %zu\n", t);
		free(want);
		rig_free(&g);
	}
}

/* A window's gradient goes to its first maximum only, even when the
 * maximum is tied. */
static void
test_maxpool_ties(void)
{
	struct sc_layer l;
	/* 2x2 pixels of 2 channels: channel 0 all tied, channel 1 with its
	 * maximum at the last pixel. */
	float x[8] = { 1, 0, 1, 0, 1, 0, 1, 2 }, y[2], dy[2] = { 3, 5 };
	float dx[8];
	const float *in[1] = { x };
	float *din[1] = { dx };
	const float want[8] = { 3, 0, 0, 0, 0, 0, 0, 5 };
	int same = 1;

	memset(&l, 0, sizeof(l));
	sc_maxpool_setup(&l, (struct sc_shape){ 2, 2, 2 }, 2, 2);
	l.ops->forward(&l, in, y, 1, 1);
	CHECK(y[0] == 1 && y[1] == 2);
	l.ops->backward(&l, in, y, dy, din, 1);
	for (int i = 0; i < 8; i++)
		same &= dx[i] == want[i];
	CHECK(same);
}

/* The im2col convolution against the direct loops, over shapes that
 * split into several chunks and odd sizes. */
static void
test_conv_against_naive(struct sc_rng *rng)
{
	static const struct { int c, h, w, f, k, s, p, n; } cases[] = {
		{ 1, 28, 28, 8, 3, 1, 1, 5 },
		{ 16, 14, 14, 32, 3, 2, 1, 3 },
		{ 6, 9, 7, 5, 5, 1, 2, 2 },
		{ 32, 7, 7, 64, 1, 1, 0, 4 },
		{ 3, 12, 12, 4, 3, 3, 0, 2 },
		{ 1, 28, 28, 32, 3, 1, 1, 3 },
		{ 3, 10, 9, 21, 3, 2, 1, 2 },
		{ 16, 9, 11, 16, 3, 1, 1, 2 },
		{ 32, 14, 14, 64, 3, 1, 1, 30 },	/* Winograd */
		{ 64, 7, 7, 128, 3, 1, 1, 3 },
		{ 48, 5, 6, 80, 3, 1, 1, 2 },
		{ 32, 1, 1, 64, 3, 1, 1, 2 },
		{ 32, 9, 9, 32, 3, 1, 1, 3 },	/* Winograd, own products */
		{ 1, 6, 12, 16, 3, 1, 1, 2 },	/* direct: 8 + 4 pixels */
		{ 16, 6, 12, 16, 3, 1, 1, 2 },	/* Winograd, 16 channels */
		{ 3, 9, 10, 64, 3, 1, 1, 2 },	/* direct: 64 filters */
		{ 8, 5, 13, 32, 3, 1, 1, 2 },	/* direct: 4 + 4 + 4 + 1 */
		{ 1, 9, 13, 64, 3, 2, 1, 2 },	/* one channel: 4 + 2 + 1 */
		{ 1, 11, 7, 16, 3, 1, 0, 2 },	/* the same: 4 + 1 */
		{ 1, 5, 15, 48, 3, 1, 1, 2 },	/* the same: 8 + 4 + 2 + 1 */
	};

	for (size_t t = 0; t < sizeof(cases) / sizeof(*cases); t++) {
		struct sc_shape in = { cases[t].c, cases[t].h, cases[t].w };
		struct sc_layer l;
		struct rig g;
		float *naive;
		size_t out;
		double worst = 0.0, big = 0.0;

		memset(&l, 0, sizeof(l));
		CHECK(sc_conv_setup(&l, in, cases[t].f, cases[t].k, cases[t].s,
		    cases[t].p, 1) == 0);
		rig_setup(&g, &l, cases[t].n, 1, rng);
		out = (size_t)g.n * sc_shape_size(l.out);
		naive = zeros(out);
		probe(&g);
		sc_conv_naive_forward(&l, g.x[0], naive, g.n);
		for (size_t i = 0; i < out; i++) {
			if (fabs(naive[i] - g.y[i]) > worst)
				worst = fabs(naive[i] - g.y[i]);
			if (fabs(naive[i]) > big)
				big = fabs(naive[i]);
		}
		/* Relative to 1 + the largest output, as for the backward. */
		if (!CHECK(worst / (1.0 + big) < 1e-5))
			fprintf(stderr, "  conv case %zu: worst %g of %g\n", t,
			    worst, big);
		free(naive);
		rig_free(&g);
	}
}

/* dW, db and dx of a convolution summed directly, in double, from
 * L = sum(y * r). */
static void
conv_naive_backward(const struct sc_layer *l, const float *x,
    const float *r, int n, double *dw, double *db, double *dx)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, K = l->k;

	memset(dw, 0, l->n_w * sizeof(double));
	memset(db, 0, l->n_b * sizeof(double));
	memset(dx, 0, (size_t)n * H * W * C * sizeof(double));
	for (int s = 0; s < n; s++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				for (int f = 0; f < F; f++) {
					double g = r[(((size_t)s * OH + oh) *
					    OW + ow) * F + f];

					if (l->n_b > 0)
						db[f] += g;
					for (int kh = 0; kh < K; kh++)
						for (int kw = 0; kw < K; kw++) {
							int ih = oh * l->stride -
							    l->pad + kh;
							int iw = ow * l->stride -
							    l->pad + kw;
							size_t wi = ((size_t)(f *
							    K + kh) * K + kw) *
							    C;
							size_t xi;

							if (ih < 0 || ih >= H ||
							    iw < 0 || iw >= W)
								continue;
							xi = (((size_t)s * H +
							    ih) * W + iw) * C;
							for (int c = 0; c < C;
							    c++) {
								dw[wi + c] += g *
								    x[xi + c];
								dx[xi + c] += g *
								    l->w[wi + c];
							}
						}
				}
}

/* Largest |a - b| over n values, relative to 1 + the largest |b|. */
static double
worst_relative(const float *a, const double *b, size_t n)
{
	double worst = 0.0, big = 0.0;

	for (size_t i = 0; i < n; i++) {
		if (fabs(a[i] - b[i]) > worst)
			worst = fabs(a[i] - b[i]);
		if (fabs(b[i]) > big)
			big = fabs(b[i]);
	}
	return worst / (1.0 + big);
}

/* Every path of the convolution's backward pass (matrix products,
 * direct loops, the narrow dW with the transposed dx, Winograd) against
 * the direct sums, over shapes with several chunks, odd sizes and
 * channel counts that are not multiples of a vector. */
static void
test_conv_backward_against_naive(struct sc_rng *rng)
{
	static const struct { int c, h, w, f, k, s, p, n; } cases[] = {
		{ 32, 14, 14, 64, 3, 1, 1, 30 },	/* Winograd, several chunks */
		{ 64, 7, 7, 128, 3, 1, 1, 3 },		/* Winograd, odd */
		{ 48, 5, 6, 80, 3, 1, 1, 2 },		/* Winograd */
		{ 32, 1, 1, 64, 3, 1, 1, 2 },		/* Winograd, 1x1 */
		{ 16, 9, 11, 64, 3, 2, 1, 2 },		/* matrix products */
		{ 16, 28, 28, 32, 3, 2, 1, 5 },		/* narrow, stride 2 */
		{ 8, 9, 11, 16, 3, 2, 1, 2 },		/* the same, 16 */
		{ 16, 9, 11, 16, 3, 2, 1, 2 },		/* 16, 16 taps at once */
		{ 4, 9, 11, 32, 3, 2, 1, 2 },		/* 32, 4 taps at once */
		{ 16, 9, 7, 32, 3, 1, 1, 2 },		/* Winograd, 16 channels */
		{ 8, 9, 7, 16, 3, 1, 1, 2 },		/* narrow */
		{ 16, 28, 28, 16, 3, 1, 1, 10 },	/* Winograd 16, a chunk a sample */
		{ 32, 6, 5, 32, 3, 1, 1, 2 },		/* Winograd, 32 */
		{ 32, 14, 14, 32, 3, 1, 1, 20 },	/* Winograd 32, the same */
		{ 3, 8, 9, 24, 3, 1, 1, 2 },		/* direct */
		{ 8, 6, 7, 20, 3, 1, 1, 2 },		/* transposed dx */
		{ 32, 7, 7, 64, 1, 1, 0, 4 },		/* pointwise */
	};
	int adding = 0;

	for (size_t t = 0; t < sizeof(cases) / sizeof(*cases); t++) {
		struct sc_shape in = { cases[t].c, cases[t].h, cases[t].w };
		const float *x[1];
		float *dx[1];
		struct sc_layer l;
		struct rig g;
		double *dw, *db, *ndx, e_w, e_b, e_x;
		size_t n_x;

		memset(&l, 0, sizeof(l));
		CHECK(sc_conv_setup(&l, in, cases[t].f, cases[t].k, cases[t].s,
		    cases[t].p, 1) == 0);
		rig_setup(&g, &l, cases[t].n, 1, rng);
		n_x = (size_t)g.n * sc_shape_size(l.in[0]);
		dw = malloc(l.n_w * sizeof(double));
		db = malloc(l.n_b * sizeof(double));
		ndx = malloc(n_x * sizeof(double));
		probe(&g);
		x[0] = g.x[0], dx[0] = g.dx[0];
		l.ops->backward(&l, x, g.y, g.r, dx, g.n);
		conv_naive_backward(&l, g.x[0], g.r, g.n, dw, db, ndx);
		e_w = worst_relative(l.dw, dw, l.n_w);
		e_b = worst_relative(l.db, db, l.n_b);
		e_x = worst_relative(g.dx[0], ndx, n_x);
		if (!CHECK(e_w < 1e-5 && e_b < 1e-5 && e_x < 1e-5))
			fprintf(stderr, "  conv backward case %zu: dW %g, "
			    "db %g, dx %g\n", t, e_w, e_b, e_x);
		/* Where the path can add dx into a gradient already there,
		 * it must come to that gradient plus the direct sums. */
		if (l.ops->adds_dx(&l)) {
			for (size_t i = 0; i < n_x; i++) {
				g.dx[0][i] = (float)(i % 7) - 3.0f;
				ndx[i] += (double)((i % 7)) - 3.0;
			}
			l.dx_add[0] = 1;
			l.ops->backward(&l, x, g.y, g.r, dx, g.n);
			l.dx_add[0] = 0;
			e_x = worst_relative(g.dx[0], ndx, n_x);
			if (!CHECK(e_x < 1e-5))
				fprintf(stderr, "  conv backward case %zu, "
				    "adding into dx: %g\n", t, e_x);
			adding++;
		}
		free(dw), free(db), free(ndx);
		rig_free(&g);
	}
	/* The eight Winograd cases and the pointwise one. */
	CHECK(adding == 9);
}

/* A first layer, whose input needs no gradient: the one-channel loops
 * compute dW and db alone, checked against the direct sums. */
static void
test_conv_first_layer_backward(struct sc_rng *rng)
{
	static const struct { int h, w, f, s, p, n; } cases[] = {
		{ 28, 28, 16, 1, 1, 5 },
		{ 28, 28, 32, 1, 1, 3 },
		{ 9, 13, 64, 2, 1, 2 },
		{ 11, 7, 48, 1, 0, 2 },
	};

	for (size_t t = 0; t < sizeof(cases) / sizeof(*cases); t++) {
		struct sc_shape in = { 1, cases[t].h, cases[t].w };
		const float *x[1];
		float *dx[1] = { NULL };
		struct sc_layer l;
		struct rig g;
		double *dw, *db, *ndx, e_w, e_b;

		memset(&l, 0, sizeof(l));
		CHECK(sc_conv_setup(&l, in, cases[t].f, 3, cases[t].s,
		    cases[t].p, 1) == 0);
		rig_setup(&g, &l, cases[t].n, 1, rng);
		dw = malloc(l.n_w * sizeof(double));
		db = malloc(l.n_b * sizeof(double));
		ndx = malloc((size_t)g.n * sc_shape_size(in) * sizeof(double));
		probe(&g);
		x[0] = g.x[0];
		l.ops->backward(&l, x, g.y, g.r, dx, g.n);
		conv_naive_backward(&l, g.x[0], g.r, g.n, dw, db, ndx);
		e_w = worst_relative(l.dw, dw, l.n_w);
		e_b = worst_relative(l.db, db, l.n_b);
		if (!CHECK(e_w < 1e-5 && e_b < 1e-5))
			fprintf(stderr, "  first layer case %zu: dW %g, db %g\n",
			    t, e_w, e_b);
		free(dw), free(db), free(ndx);
		rig_free(&g);
	}
}

/* Batch norm's running statistics move towards the batch's by the
 * momentum, the variance unbiased; scoring then uses them. */
static void
test_bn_running_stats(void)
{
	struct sc_shape s = { 1, 1, 2 };
	struct sc_layer l;
	float w = 1.0f, b = 0.0f, state[2];
	_Alignas(64) float priv[64];	/* holds doubles too */
	float x[4] = { 1.0f, 3.0f, 5.0f, 7.0f }, y[4];
	const float *in[1] = { x };

	memset(&l, 0, sizeof(l));
	sc_bn_setup(&l, s, 0.1f, 1e-5f);
	l.w = &w, l.b = &b, l.state = state, l.priv = priv;
	state[0] = 0.0f, state[1] = 1.0f;
	l.ops->forward(&l, in, y, 2, 1);
	/* mean 4, biased variance 5, unbiased 20/3 */
	CHECK_NEAR(state[0], 0.4, 1e-6);
	CHECK_NEAR(state[1], 0.9 + 0.1 * 20.0 / 3.0, 1e-6);
	CHECK_NEAR(y[0], -3.0 / sqrt(5.0 + 1e-5), 1e-5);
	l.ops->forward(&l, in, y, 2, 0);
	CHECK_NEAR(y[0], (1.0 - 0.4) / sqrt(state[1] + 1e-5), 1e-5);
}

/* A batch norm with the next ReLU folded in gives the results of the two
 * layers run apart, bit for bit, in both modes. */
static void
test_bn_relu_folded(void)
{
	for (int wide = 0; wide <= 1; wide++)
	for (int train = 0; train <= 1; train++) {
		/* 5 channels run the plain loops, 32 the named vectors. */
		struct sc_shape img = { wide ? 32 : 5, 4, 3 };
		struct sc_layer apart, relu, folded;
		struct sc_rng r1, r2;
		struct rig a, b;
		size_t len = 3 * sc_shape_size(img);
		float *z = zeros(len), *dz = zeros(len);
		const float *in[1];
		float *dx[1];
		int same = 1;

		memset(&apart, 0, sizeof(apart));
		memset(&folded, 0, sizeof(folded));
		memset(&relu, 0, sizeof(relu));
		sc_bn_setup(&apart, img, 0.1f, 1e-5f);
		sc_bn_setup(&folded, img, 0.1f, 1e-5f);
		sc_relu_setup(&relu, img);
		folded.relu = 1;
		sc_rng_seed(&r1, 5);
		sc_rng_seed(&r2, 5);
		rig_setup(&a, &apart, 3, train, &r1);
		rig_setup(&b, &folded, 3, train, &r2);

		in[0] = a.x[0];
		apart.ops->forward(&apart, in, a.y, 3, train);
		in[0] = a.y;
		relu.ops->forward(&relu, in, z, 3, train);
		dx[0] = dz;
		relu.ops->backward(&relu, in, z, a.r, dx, 3);
		in[0] = a.x[0];
		dx[0] = a.dx[0];
		apart.ops->backward(&apart, in, a.y, dz, dx, 3);

		in[0] = b.x[0];
		dx[0] = b.dx[0];
		folded.ops->forward(&folded, in, b.y, 3, train);
		folded.ops->backward(&folded, in, b.y, b.r, dx, 3);

		for (size_t i = 0; i < len; i++)
			same &= z[i] == b.y[i] && a.dx[0][i] == b.dx[0][i];
		for (size_t i = 0; i < apart.n_w; i++)
			same &= apart.dw[i] == folded.dw[i] &&
			    apart.db[i] == folded.db[i];
		if (!CHECK(same))
			fprintf(stderr, "  folded ReLU differs (train %d)\n",
			    train);
		free(z);
		free(dz);
		rig_free(&a);
		rig_free(&b);
	}
}

/* A residual addition with the next ReLU folded in gives the results of
 * the two layers run apart, bit for bit; its backward, told to add into
 * the gradients already there, adds the same values to them. */
static void
test_add_relu_folded(void)
{
	struct sc_shape img = { 5, 4, 3 };
	struct sc_layer apart, relu, folded;
	struct sc_rng r1, r2;
	struct rig a, b;
	size_t len = 3 * sc_shape_size(img);
	float *z = zeros(len), *dz = zeros(len), *keep = zeros(len);
	const float *in[2];
	float *dx[2];
	int same = 1, summed = 1;

	memset(&apart, 0, sizeof(apart));
	memset(&folded, 0, sizeof(folded));
	memset(&relu, 0, sizeof(relu));
	sc_add_setup(&apart, img, img);
	sc_add_setup(&folded, img, img);
	apart.n_src = folded.n_src = 2;
	sc_relu_setup(&relu, img);
	folded.relu = 1;
	sc_rng_seed(&r1, 5);
	sc_rng_seed(&r2, 5);
	rig_setup(&a, &apart, 3, 1, &r1);
	rig_setup(&b, &folded, 3, 1, &r2);

	in[0] = a.x[0], in[1] = a.x[1];
	apart.ops->forward(&apart, in, a.y, 3, 1);
	in[0] = a.y;
	relu.ops->forward(&relu, in, z, 3, 1);
	dx[0] = dz;
	relu.ops->backward(&relu, in, z, a.r, dx, 3);
	in[0] = a.x[0];
	dx[0] = a.dx[0], dx[1] = a.dx[1];
	apart.ops->backward(&apart, in, a.y, dz, dx, 3);

	in[0] = b.x[0], in[1] = b.x[1];
	dx[0] = b.dx[0], dx[1] = b.dx[1];
	folded.ops->forward(&folded, in, b.y, 3, 1);
	folded.ops->backward(&folded, in, b.y, b.r, dx, 3);
	for (size_t i = 0; i < len; i++)
		same &= z[i] == b.y[i] && a.dx[0][i] == b.dx[0][i] &&
		    a.dx[1][i] == b.dx[1][i];
	CHECK(same);

	/* Adding into the second source's gradient only. */
	for (size_t i = 0; i < len; i++) {
		b.dx[1][i] = keep[i] = (float)(i % 5) - 2.0f;
		b.dx[0][i] = 9.0f;
	}
	CHECK(folded.ops->adds_dx(&folded));
	folded.dx_add[1] = 1;
	folded.ops->backward(&folded, in, b.y, b.r, dx, 3);
	for (size_t i = 0; i < len; i++)
		summed &= b.dx[0][i] == a.dx[0][i] &&
		    b.dx[1][i] == keep[i] + a.dx[1][i];
	CHECK(summed);
	free(z), free(dz), free(keep);
	rig_free(&a);
	rig_free(&b);
}

/* An addition doing its zero-padding shortcut (cut) against the
 * shortcut and the addition run apart, bit for bit: forward, both
 * gradients, and adding into the shortcut input's gradient; on strides
 * 1 to 3, odd sizes, with and without the folded ReLU. */
static void
test_add_cut(struct sc_rng *rng)
{
	static const struct { int c, h, w, f, s; } cases[] = {
		{ 4, 6, 6, 8, 2 }, { 4, 7, 5, 8, 2 }, { 3, 5, 4, 7, 1 },
		{ 2, 9, 9, 6, 3 },
	};
	enum { N = 3 };

	for (size_t t = 0; t < sizeof(cases) / sizeof(*cases); t++)
		for (int relu = 0; relu < 2; relu++) {
			struct sc_shape in = { cases[t].c, cases[t].h,
				cases[t].w };
			struct sc_layer p, a, c;
			size_t nx = N * sc_shape_size(in), ny;
			float *b, *x, *r, *px, *ya, *yc, *dba, *dpx, *dxa;
			float *dbc, *dxc, *keep;
			const float *src[2];
			float *dx[2];
			int same = 1, summed = 1;

			memset(&p, 0, sizeof(p));
			memset(&a, 0, sizeof(a));
			memset(&c, 0, sizeof(c));
			CHECK(sc_padcut_setup(&p, in, cases[t].f,
			    cases[t].s) == 0);
			sc_add_setup(&a, p.out, p.out);
			sc_add_setup(&c, p.out, p.out);
			a.n_src = c.n_src = 2;
			a.relu = c.relu = relu;
			c.cut = 1, c.cut_in = in;
			c.stride = p.stride, c.pad_lo = p.pad_lo;
			ny = N * sc_shape_size(p.out);
			b = zeros(ny), r = zeros(ny), px = zeros(ny);
			ya = zeros(ny), yc = zeros(ny), dba = zeros(ny);
			dpx = zeros(ny), dbc = zeros(ny);
			x = zeros(nx), dxa = zeros(nx), dxc = zeros(nx);
			keep = zeros(nx);
			fill(rng, b, ny, 1.0);
			fill(rng, r, ny, 1.0);
			fill(rng, x, nx, 1.0);

			src[0] = x;
			p.ops->forward(&p, src, px, N, 1);
			src[0] = b, src[1] = px;
			a.ops->forward(&a, src, ya, N, 1);
			dx[0] = dba, dx[1] = dpx;
			a.ops->backward(&a, src, ya, r, dx, N);
			src[0] = x;
			dx[0] = dxa;
			p.ops->backward(&p, src, px, dpx, dx, N);

			src[0] = b, src[1] = x;
			c.ops->forward(&c, src, yc, N, 1);
			for (size_t i = 0; i < nx; i++)
				dxc[i] = 7.0f;	/* every value written */
			dx[0] = dbc, dx[1] = dxc;
			c.ops->backward(&c, src, yc, r, dx, N);
			for (size_t i = 0; i < ny; i++)
				same &= ya[i] == yc[i] && dba[i] == dbc[i];
			for (size_t i = 0; i < nx; i++)
				same &= dxa[i] == dxc[i];

			for (size_t i = 0; i < nx; i++)
				dxc[i] = keep[i] = (float)(i % 5) - 2.0f;
			for (size_t i = 0; i < ny; i++)
				dbc[i] = (float)(i % 3);
			c.dx_add[0] = c.dx_add[1] = 1;
			c.ops->backward(&c, src, yc, r, dx, N);
			for (size_t i = 0; i < nx; i++)
				summed &= dxc[i] == keep[i] + dxa[i];
			for (size_t i = 0; i < ny; i++)
				summed &= dbc[i] == (float)(i % 3) + dba[i];
			if (!CHECK(same && summed))
				fprintf(stderr, "  cut case %zu, relu %d: "
				    "same %d, summed %d\n", t, relu, same,
				    summed);
			free(b), free(r), free(px), free(ya), free(yc);
			free(dba), free(dpx), free(dbc), free(x), free(dxa);
			free(dxc), free(keep);
		}
}

/* A dense layer with the ReLU after it folded in against the two run
 * apart, bit for bit, forward and backward. */
static void
test_dense_relu_folded(struct sc_rng *rng)
{
	enum { N = 5 };
	struct sc_shape in = { 7, 2, 3 };
	struct sc_layer apart, relu, folded;
	size_t nx = N * sc_shape_size(in), ny = N * 9;
	float *x = zeros(nx), *r = zeros(ny), *y1 = zeros(ny);
	float *z = zeros(ny), *y2 = zeros(ny), *dz = zeros(ny);
	float *dx1 = zeros(nx), *dx2 = zeros(nx);
	const float *src[1];
	float *dx[1];
	int same = 1, positive = 0;

	memset(&apart, 0, sizeof(apart));
	memset(&folded, 0, sizeof(folded));
	memset(&relu, 0, sizeof(relu));
	sc_dense_setup(&apart, in, 9);
	sc_dense_setup(&folded, in, 9);
	sc_relu_setup(&relu, apart.out);
	folded.relu = 1;
	apart.w = zeros(apart.n_w), apart.b = zeros(apart.n_b);
	apart.dw = zeros(apart.n_w), apart.db = zeros(apart.n_b);
	folded.w = zeros(apart.n_w), folded.b = zeros(apart.n_b);
	folded.dw = zeros(apart.n_w), folded.db = zeros(apart.n_b);
	folded.work = zeros(folded.ops->work_size(&folded, N));
	fill(rng, apart.w, apart.n_w, 0.5);
	fill(rng, apart.b, apart.n_b, 0.5);
	memcpy(folded.w, apart.w, apart.n_w * sizeof(float));
	memcpy(folded.b, apart.b, apart.n_b * sizeof(float));
	fill(rng, x, nx, 1.0);
	fill(rng, r, ny, 1.0);

	src[0] = x;
	apart.ops->forward(&apart, src, y1, N, 1);
	src[0] = y1;
	relu.ops->forward(&relu, src, z, N, 1);
	dx[0] = dz;
	relu.ops->backward(&relu, src, z, r, dx, N);
	src[0] = x;
	dx[0] = dx1;
	apart.ops->backward(&apart, src, y1, dz, dx, N);

	folded.ops->forward(&folded, src, y2, N, 1);
	dx[0] = dx2;
	folded.ops->backward(&folded, src, y2, r, dx, N);
	for (size_t i = 0; i < ny; i++) {
		same &= z[i] == y2[i];
		positive += y2[i] > 0.0f;
	}
	for (size_t i = 0; i < nx; i++)
		same &= dx1[i] == dx2[i];
	for (size_t i = 0; i < apart.n_w; i++)
		same &= apart.dw[i] == folded.dw[i];
	for (size_t i = 0; i < apart.n_b; i++)
		same &= apart.db[i] == folded.db[i];
	CHECK(same);
	/* The ReLU cut some outputs and passed others. */
	CHECK(positive > 0 && positive < (int)ny);
	free(x), free(r), free(y1), free(z), free(y2), free(dz);
	free(dx1), free(dx2), free(folded.work);
	free(apart.w), free(apart.b), free(apart.dw), free(apart.db);
	free(folded.w), free(folded.b), free(folded.dw), free(folded.db);
}

/* worst_relative against floats. */
static double
worst_gap(const float *a, const float *b, size_t n)
{
	double *wide = calloc(n > 0 ? n : 1, sizeof(double)), worst;

	for (size_t i = 0; i < n; i++)
		wide[i] = b[i];
	worst = worst_relative(a, wide, n);
	free(wide);
	return worst;
}

static void
layer_free(struct sc_layer *l)
{
	free(l->w), free(l->dw), free(l->b), free(l->db);
	free(l->state), free(l->priv), free(l->work);
}

/* The gradients of a folded layer l and of its batch norm, copied to
 * buf (out set) or from it; returns how many there are. */
static size_t
fold_grads(struct sc_layer *l, float *buf, int out)
{
	struct sc_layer *part[2] = { l, l->bn };
	size_t len = 0;

	for (int k = 0; k < 2; k++) {
		float *g[2] = { part[k]->dw, part[k]->db };
		size_t n[2] = { part[k]->n_w, part[k]->n_b };

		for (int j = 0; j < 2; j++) {
			if (buf != NULL && n[j] > 0 && out)
				memcpy(buf + len, g[j], n[j] * sizeof(float));
			else if (buf != NULL && n[j] > 0)
				memcpy(g[j], buf + len, n[j] * sizeof(float));
			len += n[j];
		}
	}
	return len;
}

/* The folded layer l gives the same outputs, running statistics and
 * gradients with the AVX-512 mask kernels (where the CPU has them) and
 * with the portable ones: the masked loads and sums skip the values and
 * terms the portable ones clear or add as zeros.  They agree bit for bit
 * where the compiler fuses the portable kernel's multiply-adds as the
 * masked ones are (-O2), else to their rounding (the sanitizer build's
 * -O1).  Runs a forward and a backward pass on each, from l's state as
 * it was, and leaves l as it was. */
static void
same_portable(struct sc_layer *l, const float *const *in, size_t y_len,
    const float *dy, int n, int train)
{
	size_t len = fold_grads(l, NULL, 1), ns = l->bn->n_state;
	float *keep = zeros(len), *none = zeros(len), *state = zeros(ns);
	float *got[2], *y[2], *stats[2], *dx[1] = { NULL };

	fold_grads(l, keep, 1);
	memcpy(state, l->bn->state, ns * sizeof(float));
	for (int portable = 0; portable <= 1; portable++) {
		got[portable] = zeros(len), y[portable] = zeros(y_len);
		stats[portable] = zeros(ns);
		fold_grads(l, none, 0);
		memcpy(l->bn->state, state, ns * sizeof(float));
		sc_simd_portable(portable);
		l->ops->forward(l, in, y[portable], n, train);
		l->ops->backward(l, in, y[portable], dy, dx, n);
		fold_grads(l, got[portable], 1);
		memcpy(stats[portable], l->bn->state, ns * sizeof(float));
	}
	sc_simd_portable(0);
	CHECK(worst_gap(y[0], y[1], y_len) < 1e-5);
	CHECK(worst_gap(stats[0], stats[1], ns) < 1e-5);
	CHECK(worst_gap(got[0], got[1], len) < 1e-5);
	fold_grads(l, keep, 0);
	memcpy(l->bn->state, state, ns * sizeof(float));
	for (int k = 0; k < 2; k++)
		free(got[k]), free(y[k]), free(stats[k]);
	free(keep), free(none), free(state);
}

/* The patches' mean and covariance that a one-channel convolution
 * with its batch norm sums in its training pass (from the lags at stride
 * 1, from the patches else) against sums in double, patch by patch:
 * borders 0 and 1, strides 1 and 2, two output rows (the fewest the
 * lags take) and one, wide rows (three vectors a row), more than
 * FOLD_ROWS rows and more than FOLD_ROWS samples a thread, and pixels
 * far from zero. */
static void
test_patch_stats(struct sc_rng *rng)
{
	/* height, width, border, stride, samples, offset */
	static const int cases[][6] = {
		{ 28, 28, 1, 1, 9, 0 }, { 9, 7, 1, 1, 5, 0 },
		{ 9, 7, 0, 1, 5, 0 }, { 4, 4, 0, 1, 3, 0 },
		{ 2, 6, 1, 1, 4, 0 }, { 3, 5, 0, 1, 3, 0 },
		{ 30, 40, 1, 1, 3, 0 }, { 70, 17, 1, 1, 2, 0 },
		{ 5, 5, 1, 1, 70, 0 }, { 13, 13, 1, 2, 4, 0 },
		{ 60, 58, 1, 1, 3, 3 },
	};

	for (int threads = 1; threads <= 2; threads++)
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		struct sc_shape img = { 1, cases[c][0], cases[c][1] };
		int P = cases[c][2], S = cases[c][3], N = cases[c][4];
		struct sc_layer conv, bn;
		size_t in_len = (size_t)N * sc_shape_size(img);
		float *x = zeros(in_len), *y;
		const float *in[1] = { x };
		double pbar[9], cov[81], sum[9] = { 0.0 };
		double prod[81] = { 0.0 }, M, worst = 0.0, scale = 0.0;

		sc_blas_init(threads);
		memset(&conv, 0, sizeof(conv));
		memset(&bn, 0, sizeof(bn));
		sc_conv_setup(&conv, img, 16, 3, S, P, 0);
		sc_bn_setup(&bn, conv.out, 0.1f, 1e-5f);
		conv.bn = &bn;
		layer_memory(&conv, N);
		layer_memory(&bn, N);
		fill(rng, conv.w, conv.n_w, 1.0);
		for (int f = 0; f < bn.out.c; f++)
			bn.w[f] = 1.0f;
		fill(rng, x, in_len, 1.0);
		for (size_t i = 0; i < in_len; i++)
			x[i] += (float)cases[c][5];
		y = zeros((size_t)N * sc_shape_size(conv.out));
		conv.ops->forward(&conv, in, y, N, 1);
		sc_conv_patch_stats(&conv, pbar, cov);

		for (int n = 0; n < N; n++)
		for (int oh = 0; oh < conv.out.h; oh++)
		for (int ow = 0; ow < conv.out.w; ow++) {
			double p[9];

			for (int t = 0; t < 9; t++) {
				int h = oh * S - P + t / 3, w = ow * S - P + t % 3;

				p[t] = h < 0 || w < 0 || h >= img.h ||
				    w >= img.w ? 0.0 : x[((size_t)n * img.h +
				    h) * img.w + w];
			}
			for (int j = 0; j < 9; j++) {
				sum[j] += p[j];
				for (int k = 0; k < 9; k++)
					prod[j * 9 + k] += p[j] * p[k];
			}
		}
		M = (double)N * conv.out.h * conv.out.w;
		for (int j = 0; j < 9; j++)
			scale = fmax(scale, prod[j * 9 + j] / M);
		for (int j = 0; j < 9; j++) {
			worst = fmax(worst, fabs(pbar[j] - sum[j] / M) / scale);
			for (int k = 0; k < 9; k++)
				worst = fmax(worst, fabs(cov[j * 9 + k] -
				    (prod[j * 9 + k] / M - sum[j] / M *
				    sum[k] / M)) / scale);
		}
		if (!CHECK(worst < 1e-6))
			fprintf(stderr, "  patch statistics, case %zu, %d "
			    "threads: %g off\n", c, threads, worst);
		layer_free(&conv);
		layer_free(&bn);
		free(x), free(y);
	}
	sc_blas_init(1);
}

/* A one-channel convolution doing the batch norm after it (bn set), and
 * the 2x2 max pool after that (pool set), gives what the layers give
 * run apart, up to the order of the sums: the output, the running
 * statistics, and every parameter gradient, training and scoring, with
 * and without the ReLU and the convolution's bias, at strides 1 and 2,
 * on one thread and two, on images whose sides are odd (the pool leaves
 * a row and a column out).  Two cases are large images whose pixels sit
 * far from zero, where statistics summed in float over a whole sample
 * would lose digits. */
static void
test_conv_bn_folded(struct sc_rng *rng)
{
	/* filters, stride, padding, bias, ReLU, image side, pool */
	static const int cases[][7] = {
		{ 16, 1, 1, 0, 1, 9, 0 }, { 32, 1, 1, 1, 0, 9, 0 },
		{ 48, 2, 1, 0, 1, 9, 0 }, { 32, 2, 0, 1, 1, 9, 0 },
		{ 16, 1, 0, 1, 0, 9, 0 }, { 32, 1, 1, 0, 1, 160, 0 },
		{ 32, 1, 1, 0, 1, 9, 1 }, { 16, 1, 1, 1, 0, 12, 1 },
		{ 48, 2, 1, 1, 1, 13, 1 }, { 64, 1, 0, 0, 1, 10, 1 },
		{ 32, 1, 1, 1, 1, 120, 1 },
	};
	enum { N = 3 };

	for (int threads = 1; threads <= 2; threads++)
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++)
	for (int train = 0; train <= 1; train++) {
		struct sc_shape img = { 1, cases[c][5], cases[c][5] - 2 };
		struct sc_layer conv[2], bn[2], pool;
		int pooled = cases[c][6];
		size_t in_len = N * sc_shape_size(img), out_len, y_len;
		float *x = zeros(in_len), *dy, *z, *dz, *y[2], *b0, *db0;
		const float *in[1];
		float *dx[1];
		double gap = 0.0;
		float none[64 * 9] = { 0.0f };

		sc_blas_init(threads);
		for (int k = 0; k < 2; k++) {
			memset(&conv[k], 0, sizeof(conv[k]));
			memset(&bn[k], 0, sizeof(bn[k]));
			sc_conv_setup(&conv[k], img, cases[c][0], 3,
			    cases[c][1], cases[c][2], cases[c][3]);
			sc_bn_setup(&bn[k], conv[k].out, 0.1f, 1e-5f);
			bn[k].relu = cases[c][4];
		}
		memset(&pool, 0, sizeof(pool));
		sc_maxpool_setup(&pool, conv[0].out, 2, 2);
		conv[1].bn = &bn[1];
		conv[1].pool = pooled ? &pool : NULL;
		out_len = N * sc_shape_size(conv[0].out);
		y_len = pooled ? N * sc_shape_size(pool.out) : out_len;
		dy = zeros(y_len), z = zeros(out_len), dz = zeros(out_len);
		b0 = zeros(out_len), db0 = zeros(out_len);
		y[0] = zeros(y_len), y[1] = zeros(y_len);
		for (int k = 0; k < 2; k++) {
			layer_memory(&conv[k], N);
			layer_memory(&bn[k], N);
		}
		fill(rng, conv[0].w, conv[0].n_w, 1.0);
		fill(rng, conv[0].b, conv[0].n_b, 0.5);
		fill(rng, bn[0].w, bn[0].n_w, 1.0);
		fill(rng, bn[0].b, bn[0].n_b, 0.5);
		/* Running statistics a scoring pass can use. */
		for (int f = 0; f < bn[0].out.c; f++) {
			bn[0].state[f] = (float)(0.3 * sc_rng_uniform(rng));
			bn[0].state[bn[0].out.c + f] =
			    (float)(0.5 + sc_rng_uniform(rng));
		}
		memcpy(conv[1].w, conv[0].w, conv[0].n_w * sizeof(float));
		memcpy(conv[1].b, conv[0].b, conv[0].n_b * sizeof(float));
		memcpy(bn[1].w, bn[0].w, bn[0].n_w * sizeof(float));
		memcpy(bn[1].b, bn[0].b, bn[0].n_b * sizeof(float));
		memcpy(bn[1].state, bn[0].state, bn[0].n_state *
		    sizeof(float));
		fill(rng, x, in_len, 1.0);
		if (img.h > 100)
			for (size_t i = 0; i < in_len; i++)
				x[i] += 2.0f;
		fill(rng, dy, y_len, 1.0);

		in[0] = x, dx[0] = NULL;
		conv[0].ops->forward(&conv[0], in, z, N, train);
		in[0] = z, dx[0] = dz;
		bn[0].ops->forward(&bn[0], in, pooled ? b0 : y[0], N, train);
		if (pooled) {
			in[0] = b0, dx[0] = db0;
			pool.ops->forward(&pool, in, y[0], N, train);
			pool.ops->backward(&pool, in, y[0], dy, dx, N);
			in[0] = z, dx[0] = dz;
		}
		bn[0].ops->backward(&bn[0], in, pooled ? b0 : y[0],
		    pooled ? db0 : dy, dx, N);
		in[0] = x, dx[0] = NULL;
		conv[0].ops->backward(&conv[0], in, z, dz, dx, N);

		same_portable(&conv[1], in, y_len, dy, N, train);
		conv[1].ops->forward(&conv[1], in, y[1], N, train);
		conv[1].ops->backward(&conv[1], in, y[1], dy, dx, N);

#define GAP(a, b, n) do {						\
			double g_ = worst_gap((a), (b), (n));		\
			gap = g_ > gap ? g_ : gap;			\
		} while (0)
		GAP(y[1], y[0], y_len);
		GAP(bn[1].state, bn[0].state, bn[0].n_state);
		GAP(conv[1].dw, conv[0].dw, conv[0].n_w);
		/* Training, the batch norm takes out the bias: its
		 * gradient is 0, which the layers apart reach only up to
		 * their float sums' error (1e-4 on the large image). */
		if (train)
			GAP(conv[1].db, none, conv[0].n_b);
		else
			GAP(conv[1].db, conv[0].db, conv[0].n_b);
		GAP(bn[1].dw, bn[0].dw, bn[0].n_w);
		GAP(bn[1].db, bn[0].db, bn[0].n_b);
#undef GAP
		if (!CHECK(gap < 2e-5))
			fprintf(stderr, "  conv with its batch norm, case %zu, "
			    "train %d, %d threads: %g off\n", c, train,
			    threads, gap);
		/* The gradients compared are not all zero. */
		CHECK(worst_gap(conv[0].dw, none, conv[0].n_w) > 1e-3);
		for (int k = 0; k < 2; k++) {
			layer_free(&conv[k]);
			layer_free(&bn[k]);
			free(y[k]);
		}
		free(x), free(dy), free(z), free(dz), free(b0), free(db0);
	}
	sc_blas_init(1);
}

/* The dense layer's forward pass, which shares out the product itself
 * to set the bias and take the ReLU block by block, rounds as the
 * product through sc_sgemm_par does, for batches below 16 rows a
 * thread and above, on mlp's layer shapes, with two threads. */
static void
test_dense_as_sgemm_par(struct sc_rng *rng)
{
	static const int batches[] = { 4, 5, 40 }, shapes[][2] = {
		{ 784, 512 }, { 512, 256 }, { 256, 10 },
	};

	sc_blas_init(2);
	for (size_t t = 0; t < sizeof(batches) / sizeof(*batches); t++)
		for (size_t k = 0; k < sizeof(shapes) / sizeof(*shapes); k++) {
			int n = batches[t], n_in = shapes[k][0];
			int n_out = shapes[k][1], same = 1;
			struct sc_shape in = { n_in, 1, 1 };
			struct sc_layer l;
			float *x = zeros((size_t)n * n_in);
			float *y = zeros((size_t)n * n_out);
			float *ref = zeros((size_t)n * n_out);
			const float *src[1] = { x };

			memset(&l, 0, sizeof(l));
			sc_dense_setup(&l, in, n_out);
			l.w = zeros(l.n_w), l.b = zeros(l.n_b);
			fill(rng, l.w, l.n_w, 0.5);
			fill(rng, l.b, l.n_b, 0.5);
			fill(rng, x, (size_t)n * n_in, 1.0);
			l.ops->forward(&l, src, y, n, 1);
			for (int r = 0; r < n; r++)
				memcpy(ref + (size_t)r * n_out, l.b,
				    n_out * sizeof(float));
			sc_sgemm_par(0, 1, n, n_out, n_in, 1.0f, x, n_in, l.w,
			    n_in, 1.0f, ref, n_out);
			for (size_t i = 0; i < (size_t)n * n_out; i++)
				same &= y[i] == ref[i];
			if (!CHECK(same))
				fprintf(stderr, "  dense %d -> %d, batch %d\n",
				    n_in, n_out, n);
			free(x), free(y), free(ref), free(l.w), free(l.b);
		}
	sc_blas_init(1);
}

/* sc_sgemm_piece's blocks cover C once between the threads, cut as
 * documented; and sc_sgemm_par, cut each way and whole, with and
 * without transposes, gives the naive product. */
static void
test_sgemm_par(struct sc_rng *rng)
{
	static const int shapes[][3] = {
		{ 128, 512, 40 }, { 40, 10, 33 }, { 20, 20, 7 },
		{ 100, 20, 9 }, { 5, 300, 17 },
	};

	for (int parts = 1; parts <= 3; parts++)
		for (int m = 1; m <= 70; m += 23)
			for (int n = 1; n <= 70; n += 17)
				for (int ta = 0; ta < 2; ta++) {
					int *hit = calloc((size_t)m * n,
					    sizeof(int)), once = 1, cut = 0;

					for (int p = 0; p < parts; p++) {
						long r0, r1, c0, c1;

						sc_sgemm_piece(ta, m, n, p,
						    parts, &r0, &r1, &c0, &c1);
						cut |= (r1 - r0 < m && r1 > r0)
						    << 0;
						cut |= (c1 - c0 < n && c1 > c0)
						    << 1;
						for (long r = r0; r < r1; r++)
							for (long c = c0;
							    c < c1; c++)
								hit[r * n + c]++;
					}
					for (int i = 0; i < m * n; i++)
						once &= hit[i] == 1;
					/* Shared only when a side has 16 a
					 * thread: rows when A is
					 * transposed or the columns are
					 * too few, else columns. */
					int rows_ok = m >= 16 * parts;
					int cols_ok = n >= 16 * parts;
					int want = parts == 1 ||
					    (!rows_ok && !cols_ok) ? 0 :
					    rows_ok && (ta || !cols_ok) ? 1 :
					    2;
					if (!CHECK(once && cut == want))
						fprintf(stderr, "  piece m %d "
						    "n %d ta %d parts %d\n",
						    m, n, ta, parts);
					free(hit);
				}

	sc_blas_init(2);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++)
		for (int t = 0; t < 4; t++) {
			int m = shapes[s][0], n = shapes[s][1];
			int k = shapes[s][2], ta = t & 1, tb = t >> 1;
			int lda = ta ? m : k, ldb = tb ? k : n, bad = 0;
			float *a = zeros((size_t)m * k);
			float *b = zeros((size_t)k * n);
			float *c = zeros((size_t)m * n);

			fill(rng, a, (size_t)m * k, 1.0);
			fill(rng, b, (size_t)k * n, 1.0);
			fill(rng, c, (size_t)m * n, 1.0);
			float *c0 = zeros((size_t)m * n);
			memcpy(c0, c, (size_t)m * n * sizeof(float));
			sc_sgemm_par(ta, tb, m, n, k, 0.5f, a, lda, b, ldb,
			    2.0f, c, n);
			for (int i = 0; i < m; i++)
				for (int j = 0; j < n; j++) {
					double sum = 2.0 * c0[i * n + j];

					for (int q = 0; q < k; q++)
						sum += 0.5 *
						    (ta ? a[q * lda + i] :
						    a[i * lda + q]) *
						    (tb ? b[j * ldb + q] :
						    b[q * ldb + j]);
					bad += fabs(c[i * n + j] - sum) >
					    1e-4 * (1.0 + fabs(sum));
				}
			if (!CHECK(bad == 0))
				fprintf(stderr, "  sgemm_par %d x %d x %d, "
				    "trans %d %d: %d off\n", m, n, k, ta, tb,
				    bad);
			free(a), free(b), free(c), free(c0);
		}
	sc_blas_init(1);
}

static void
test_softmax_xent(struct sc_rng *rng)
{
	enum { N = 5, K = 4 };
	float z[N * K], d[N * K];
	uint8_t labels[N] = { 0, 3, 1, 2, 3 };
	const float eps = 1e-2f;
	int correct, bad = 0;
	double loss;

	fill(rng, z, N * K, 2.0);
	loss = sc_softmax_xent(z, labels, N, K, d, &correct);
	CHECK(loss > 0.0);
	for (int i = 0; i < N * K; i++) {
		float keep = z[i];
		double up, down, numeric;

		z[i] = keep + eps;
		up = sc_softmax_xent(z, labels, N, K, NULL, NULL);
		z[i] = keep - eps;
		down = sc_softmax_xent(z, labels, N, K, NULL, NULL);
		z[i] = keep;
		numeric = (up - down) / (2.0 * eps);
		bad += fabs(numeric - d[i]) > 1e-4;
	}
	CHECK(bad == 0);

	/* Two classes with logits 0 and ln 3: p = (1/4, 3/4). */
	{
		float two[2] = { 0.0f, (float)log(3.0) };
		uint8_t y0 = 0;

		loss = sc_softmax_xent(two, &y0, 1, 2, d, &correct);
		CHECK_NEAR(loss, log(4.0), 1e-6);
		CHECK_NEAR(d[0], 0.25 - 1.0, 1e-6);
		CHECK_NEAR(d[1], 0.75, 1e-6);
		CHECK(correct == 0);
	}
}

/*
 * The largest gap between the model's parameter gradient (from its
 * backward pass on x, y) and central differences of the mean
 * cross-entropy, over every parameter.  Where a step of eps
 * crosses a ReLU's kink the one-sided differences disagree by more than
 * kink; such parameters are skipped and counted in *kinks.
 */
static double
model_gradient_gap(struct sc_model *m, const float *x, const uint8_t *y,
    int n, int k, float eps, double kink, int *checked, int *kinks)
{
	float *d = zeros((size_t)n * k);
	double worst = 0.0, mid;

	*checked = *kinks = 0;
	sc_model_zero_grad(m);
	mid = sc_softmax_xent(sc_model_forward(m, x, n, 1), y, n, k, d, NULL);
	sc_model_backward(m, x, d, n);
	for (size_t i = 0; i < m->n_theta; i++) {
		float keep = m->theta[i];
		double up, down, numeric;

		m->theta[i] = keep + eps;
		up = sc_softmax_xent(sc_model_forward(m, x, n, 1), y, n, k,
		    NULL, NULL);
		m->theta[i] = keep - eps;
		down = sc_softmax_xent(sc_model_forward(m, x, n, 1), y, n, k,
		    NULL, NULL);
		m->theta[i] = keep;
		if (fabs((up - mid) - (mid - down)) > kink) {
			(*kinks)++;
			continue;
		}
		numeric = (up - down) / (2.0 * eps);
		if (fabs(numeric - m->grad[i]) > worst)
			worst = fabs(numeric - m->grad[i]);
		(*checked)++;
	}
	free(d);
	return worst;
}

/* The whole MLP's parameter gradient against finite differences, every
 * parameter. */
static void
test_mlp_gradients(struct sc_rng *rng)
{
	enum { N = 4, IN = 6, K = 3 };
	struct sc_model_spec spec;
	struct sc_shape in = { IN, 1, 1 };
	struct sc_model *m;
	float x[N * IN];
	uint8_t y[N] = { 0, 1, 2, 1 };
	double worst;
	int checked, kinks;

	CHECK(sc_model_spec_parse(&spec, "mlp", "5,4") == 0);
	m = sc_model_create(&spec, in, K, N);
	if (!CHECK(m != NULL))
		return;
	CHECK(m->n_theta == (size_t)(6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3));
	sc_model_init(m, rng);
	fill(rng, x, N * IN, 1.0);
	worst = model_gradient_gap(m, x, y, N, K, 1e-3f, 1e-5, &checked,
	    &kinks);
	if (!CHECK(worst < 2e-3))
		fprintf(stderr, "  mlp: worst gradient error %g\n", worst);
	if (!CHECK(kinks < (int)m->n_theta / 10))
		fprintf(stderr, "  mlp: %d kinks\n", kinks);
	sc_model_free(m);
}

/* text into a file of its own under /tmp, named after stem, whose path
 * goes into path; returns 0, or -1 when it cannot be written. */
static int
write_temp(char *path, size_t len, const char *stem, const char *text)
{
	FILE *f;

	snprintf(path, len, "/tmp/test_nn_%s_%ld.json", stem, (long)getpid());
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* A network whose first convolution does its batch norm, ReLU and max
 * pool, as a description file gives it: the model folds the three into
 * the convolution, sizes its output as the pool's, and the whole
 * parameter gradient matches finite differences.  The image's odd sides
 * leave a row and a column out of the pool. */
static void
test_fold_model_gradients(struct sc_rng *rng)
{
	enum { N = 4, K = 3 };
	static const char text[] = "{ \"layers\": ["
	    "{ \"type\": \"conv\", \"filters\": 16, \"pad\": 1 },"
	    "{ \"type\": \"batchnorm\" }, { \"type\": \"relu\" },"
	    "{ \"type\": \"maxpool\" }, { \"type\": \"gap\" },"
	    "{ \"type\": \"dense\", \"units\": 3 } ] }";
	struct sc_model_spec spec;
	struct sc_shape in = { 1, 7, 6 };
	struct sc_model *m;
	char path[64];
	float x[N * 42];
	uint8_t y[N] = { 0, 1, 2, 1 };
	double worst;
	int checked, kinks;

	if (!CHECK(write_temp(path, sizeof(path), "fold", text) == 0))
		return;
	CHECK(sc_model_spec_parse(&spec, path, NULL) == 0);
	m = sc_model_create(&spec, in, K, N);
	remove(path);
	if (!CHECK(m != NULL))
		return;
	CHECK(m->layers[0].bn == &m->layers[1]);
	CHECK(m->layers[0].pool == &m->layers[3]);
	CHECK(m->layers[3].fused && m->layers[3].done_by == 0);
	CHECK(m->layers[2].fused && m->layers[2].done_by == 0);
	sc_model_init(m, rng);
	fill(rng, m->theta, m->n_theta, 0.5);
	fill(rng, x, N * 42, 1.0);
	/* A smaller step than mlp's: the pool's maxima sit closer
	 * together than its kink test sees at 1e-3. */
	worst = model_gradient_gap(m, x, y, N, K, 3e-4f, 1e-6, &checked,
	    &kinks);
	if (!CHECK(worst < 2e-3))
		fprintf(stderr, "  folded pool: worst gradient error %g\n",
		    worst);
	if (!CHECK(kinks < (int)m->n_theta / 10 && checked > 0))
		fprintf(stderr, "  folded pool: %d kinks\n", kinks);
	sc_model_free(m);
}

/* A scoring pass writes outputs into shared buffers (scores in
 * sc_nn.h): its logits are those of the same pass with every output in
 * its own buffer, bit for bit, on the presets and on a description
 * with dropout and residual blocks, one with a projection shortcut and
 * one whose input stays live over nine layers; and the networks with
 * residual blocks use at most one buffer for two outputs. */
static void
test_score_buffers(struct sc_rng *rng)
{
	enum { N = 5, K = 10 };
	static const char text[] = "{ \"layers\": ["
	    "{ \"type\": \"conv\", \"filters\": 8 },"
	    "{ \"type\": \"batchnorm\" }, { \"type\": \"relu\" },"
	    "{ \"type\": \"dropout\", \"p\": 0.25 },"
	    "{ \"type\": \"residual\", \"shortcut\": \"projection\","
	    "  \"layers\": [ { \"type\": \"conv\", \"filters\": 12 } ] },"
	    "{ \"type\": \"residual\", \"layers\": ["
	    "  { \"type\": \"conv\", \"filters\": 12 },"
	    "  { \"type\": \"batchnorm\" }, { \"type\": \"relu\" },"
	    "  { \"type\": \"conv\", \"filters\": 12 },"
	    "  { \"type\": \"relu\" },"
	    "  { \"type\": \"dropout\", \"p\": 0.5 },"
	    "  { \"type\": \"conv\", \"filters\": 12 },"
	    "  { \"type\": \"batchnorm\" },"
	    "  { \"type\": \"conv\", \"filters\": 12 } ] },"
	    "{ \"type\": \"relu\" }, { \"type\": \"gap\" },"
	    "{ \"type\": \"dense\", \"units\": 10 } ] }";
	char path[64];
	const char *names[] = { "mlp", "lenet", "cnn", "resnet8", "resnet20",
	    path };
	struct sc_shape in = { 1, 16, 16 };
	float x[N * 256];

	if (!CHECK(write_temp(path, sizeof(path), "scores", text) == 0))
		return;
	fill(rng, x, N * 256, 1.0);
	for (size_t t = 0; t < sizeof(names) / sizeof(names[0]); t++) {
		struct sc_model_spec spec;
		struct sc_model *m;
		float kept[N * K];
		const float *shared;
		int outputs = 0, buffers = 0, same = 1, joins = 0;

		CHECK(sc_model_spec_parse(&spec, names[t], NULL) == 0);
		m = sc_model_create(&spec, in, K, N);
		if (!CHECK(m != NULL))
			continue;
		sc_model_init(m, rng);
		/* Running statistics away from their first values. */
		for (int r = 0; r < 3; r++)
			sc_model_forward(m, x, N, 1);
		m->keep_outputs = 1;
		memcpy(kept, sc_model_forward(m, x, N, 0), sizeof(kept));
		m->keep_outputs = 0;
		shared = sc_model_forward(m, x, N, 0);
		for (int j = 0; j < N * K; j++)
			same &= memcmp(&kept[j], &shared[j], sizeof(float)) ==
			    0;
		if (!CHECK(same))
			fprintf(stderr, "  %s: shared buffers change the "
			    "logits\n", names[t]);
		for (int i = 0; i < m->n_layers; i++) {
			int first = 1;

			if (m->layers[i].fused)
				continue;
			outputs++;
			joins += m->layers[i].n_src == 2;
			for (int j = 0; j < i; j++)
				if (!m->layers[j].fused &&
				    m->scores[j] == m->scores[i])
					first = 0;
			buffers += first;
		}
		if (!CHECK(joins == 0 || buffers <= outputs / 2))
			fprintf(stderr, "  %s: %d buffers for %d outputs\n",
			    names[t], buffers, outputs);
		sc_model_free(m);
	}
	remove(path);
}

/* resnet8's parameter gradient, on 8x8 images, with its convolutions
 * adding dx into the gradient a shortcut wrote, against the same with
 * every layer writing its own buffer and the model adding them: they
 * differ by rounding only.  Its 16-channel convolutions run Winograd
 * (the first of them adds into the shortcut's gradient), and its ReLUs
 * are folded into batch norms and residual additions. */
static void
test_resnet_adding(struct sc_rng *rng)
{
	enum { N = 3, K = 10 };
	struct sc_model_spec spec;
	struct sc_shape in = { 1, 8, 8 };
	struct sc_layer_ops apart[SC_MAX_LAYERS];
	struct sc_model *m;
	float x[N * 64], d[N * K], *adding_grad;
	uint8_t y[N] = { 0, 4, 9 };
	double worst = 0.0, big = 0.0;
	int folded = 0, adding = 0, cuts = 0;

	CHECK(sc_model_spec_parse(&spec, "resnet8", NULL) == 0);
	m = sc_model_create(&spec, in, K, N);
	if (!CHECK(m != NULL))
		return;
	sc_model_init(m, rng);
	fill(rng, x, N * 64, 1.0);
	adding_grad = zeros(m->n_theta);
	sc_model_zero_grad(m);
	sc_softmax_xent(sc_model_forward(m, x, N, 1), y, N, K, d, NULL);
	sc_model_backward(m, x, d, N);
	memcpy(adding_grad, m->grad, m->n_theta * sizeof(float));
	for (int i = 0; i < m->n_layers; i++) {
		folded += m->layers[i].fused;
		adding += m->layers[i].dx_add[0];
		cuts += m->layers[i].cut;
	}
	/* Four ReLUs in batch norms, three in additions, the two
	 * zero-padding shortcuts in their additions, and the first batch
	 * norm in the one-channel convolution before it; one Winograd
	 * convolution adds into a shortcut's gradient. */
	CHECK(folded == 10);
	CHECK(m->layers[0].bn == &m->layers[1]);
	CHECK(cuts == 2);
	CHECK(adding == 1);

	for (int i = 0; i < m->n_layers; i++) {
		apart[i] = *m->layers[i].ops;
		apart[i].adds_dx = NULL;
		m->layers[i].ops = &apart[i];
	}
	sc_model_zero_grad(m);
	sc_softmax_xent(sc_model_forward(m, x, N, 1), y, N, K, d, NULL);
	sc_model_backward(m, x, d, N);
	for (size_t i = 0; i < m->n_theta; i++) {
		if (fabs(adding_grad[i] - m->grad[i]) > worst)
			worst = fabs(adding_grad[i] - m->grad[i]);
		if (fabs(m->grad[i]) > big)
			big = fabs(m->grad[i]);
	}
	if (!CHECK(worst / (1.0 + big) < 1e-6))
		fprintf(stderr, "  resnet8, adding into dx: %g of %g\n", worst,
		    big);
	free(adding_grad);
	sc_model_free(m);
}

static void
test_sgd_by_hand(void)
{
	struct sc_sgd opt = { 0.1f, 0 };
	struct sc_sgd nesterov = { 0.0f, 1 };
	float theta = 1.0f, grad = 0.5f, v = 0.0f;

	sc_sgd_update(&opt, &theta, &grad, &v, 1, 0.1f, 0.9f);
	CHECK_NEAR(v, 0.6, 1e-7);
	CHECK_NEAR(theta, 0.94, 1e-7);
	/* The update leaves the gradient cleared for the next sums. */
	CHECK(grad == 0.0f);
	grad = 0.5f;
	sc_sgd_update(&opt, &theta, &grad, &v, 1, 0.1f, 0.9f);
	CHECK_NEAR(v, 1.134, 1e-6);
	CHECK_NEAR(theta, 0.8266, 1e-6);

	/* Nesterov, no decay: v = 0.5, step g + m v = 0.5 + 0.45. */
	theta = 1.0f, v = 0.0f, grad = 0.5f;
	sc_sgd_update(&nesterov, &theta, &grad, &v, 1, 0.1f, 0.9f);
	CHECK_NEAR(v, 0.5, 1e-7);
	CHECK_NEAR(theta, 1.0 - 0.1 * 0.95, 1e-7);
}

static void
test_init_is_seeded(void)
{
	struct sc_model_spec spec;
	struct sc_shape in = { 10, 1, 1 };
	struct sc_model *a, *b;
	struct sc_rng ra, rb;

	sc_model_spec_parse(&spec, "mlp", "8");
	a = sc_model_create(&spec, in, 3, 2);
	b = sc_model_create(&spec, in, 3, 2);
	sc_rng_seed(&ra, 42);
	sc_rng_seed(&rb, 42);
	sc_model_init(a, &ra);
	sc_model_init(b, &rb);
	CHECK(memcmp(a->theta, b->theta, a->n_theta * sizeof(float)) == 0);
	sc_rng_seed(&rb, 43);
	sc_model_init(b, &rb);
	CHECK(memcmp(a->theta, b->theta, a->n_theta * sizeof(float)) != 0);
	sc_model_free(a);
	sc_model_free(b);
}

static void
test_spec_errors(void)
{
	struct sc_model_spec spec;

	CHECK(sc_model_spec_parse(&spec, "mlp", NULL) == 0);
	CHECK(spec.n_hidden == 2 && spec.hidden[0] == 512 &&
	    spec.hidden[1] == 256);
	CHECK(sc_model_spec_parse(&spec, "mlp", "64,0") < 0);
	CHECK(sc_model_spec_parse(&spec, "mlp", "64,") < 0);
	CHECK(sc_model_spec_parse(&spec, "mlp", "x") < 0);
	CHECK(sc_model_spec_parse(&spec, "vgg", NULL) < 0);
}

/* A ResNet's gradients with two threads agree with one thread's, and
 * two runs with two threads agree bit for bit. */
static void
test_threads(void)
{
	struct sc_model_spec spec;
	struct sc_shape in = { 1, 8, 8 };
	struct sc_model *m[2];
	float *grad[3], x[6 * 64], d[6 * 10];
	uint8_t y[6] = { 0, 1, 2, 3, 4, 5 };
	double worst = 0.0, scale = 1e-30;

	sc_model_spec_parse(&spec, "resnet8", NULL);
	for (int k = 0; k < 3; k++) {
		struct sc_rng rng;
		struct sc_model *mk;

		sc_blas_init(k == 0 ? 1 : 2);
		mk = m[k < 2 ? k : 1] = k < 2 ? sc_model_create(&spec, in, 10,
		    6) : m[1];
		if (!CHECK(mk != NULL))
			return;
		sc_rng_seed(&rng, 5);
		sc_model_init(mk, &rng);
		fill(&rng, x, 6 * 64, 1.0);
		sc_model_zero_grad(mk);
		sc_softmax_xent(sc_model_forward(mk, x, 6, 1), y, 6, 10, d,
		    NULL);
		sc_model_backward(mk, x, d, 6);
		grad[k] = malloc(mk->n_theta * sizeof(float));
		memcpy(grad[k], mk->grad, mk->n_theta * sizeof(float));
	}
	/* Sums in another order differ by rounding: compare each element
	 * to the size of the whole gradient. */
	for (size_t i = 0; i < m[0]->n_theta; i++)
		scale = fabs(grad[0][i]) > scale ? fabs(grad[0][i]) : scale;
	for (size_t i = 0; i < m[0]->n_theta; i++) {
		double e = fabs(grad[0][i] - grad[1][i]) / scale;


		worst = e > worst ? e : worst;
	}
	if (!CHECK(worst < 1e-4))
		fprintf(stderr, "  threads: worst difference %g\n", worst);
	CHECK(memcmp(grad[1], grad[2], m[1]->n_theta * sizeof(float)) == 0);
	for (int k = 0; k < 3; k++)
		free(grad[k]);
	sc_model_free(m[0]);
	sc_model_free(m[1]);
	sc_blas_init(1);
}

int
main(void)
{
	struct sc_rng rng;

	if (sc_blas_init(1) < 0) {
		fprintf(stderr, "test_nn: cannot load the BLAS\n");
		return 1;
	}
	sc_rng_seed(&rng, 7);
	test_layer_gradients(&rng);
	test_conv_against_naive(&rng);
	test_conv_backward_against_naive(&rng);
	test_conv_first_layer_backward(&rng);
	test_maxpool_ties();
	test_maxpool_margin(&rng);
	test_bn_relu_folded();
	test_add_relu_folded();
	test_add_cut(&rng);
	test_dense_relu_folded(&rng);
	test_dense_as_sgemm_par(&rng);
	test_sgemm_par(&rng);
	test_patch_stats(&rng);
	test_conv_bn_folded(&rng);
	test_bn_running_stats();
	test_softmax_xent(&rng);
	test_mlp_gradients(&rng);
	test_fold_model_gradients(&rng);
	test_resnet_adding(&rng);
	test_score_buffers(&rng);
	test_sgd_by_hand();
	test_init_is_seeded();
	test_spec_errors();
	test_threads();
	return check_report("test_nn");
}
