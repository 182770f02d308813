/*
 * Batch normalisation over the channels of NHWC activations.
 *
 * Training: each channel is normalised with the mean and (biased)
 * variance of its M = n * h * w values in the batch, then scaled by gamma
 * (w) and shifted by beta (b); the running averages used for scoring move
 * towards the batch's statistics by `momentum`, the variance unbiased
 * (M / (M - 1)) as PyTorch keeps it.  Scoring uses the running averages.
 * priv keeps the batch's mean and 1/sqrt(var + eps) for the backward.
 *
 * When the model folds the ReLU that follows into this layer (relu set),
 * the output is max(0, y) and the gradient arriving is the ReLU's: it
 * counts only where that output is positive.  This saves the ReLU's
 * passes over memory, with the same results bit for bit.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "sc_error.h"
#include "sc_nn.h"
#include "sc_simd.h"

/* priv: rows of C floats (ROW_MEAN .. ROW_C), padded to an even count
 * so the doubles after them are aligned, then two doubles per channel for
 * each thread's partial sums and two for their totals. */
enum { ROW_MEAN, ROW_INVSTD, ROW_SCALE, ROW_SHIFT, ROW_A, ROW_B, ROW_C,
    N_ROWS };

static size_t
doubles_at(const struct sc_layer *l)
{
	return ((size_t)N_ROWS * l->out.c + 1) / 2 * 2;
}

static float *
row(const struct sc_layer *l, int r)
{
	return l->priv + (size_t)r * l->out.c;
}

static size_t
bn_priv_size(const struct sc_layer *l, int max_batch)
{
	(void)max_batch;
	return doubles_at(l) + 4 * (size_t)l->out.c * (sc_threads() + 1);
}

/* Thread t's partial sums; t = sc_threads() gives the totals. */
static double *
partials(const struct sc_layer *l, int t)
{
	return (double *)(l->priv + doubles_at(l)) + 2 * (size_t)l->out.c * t;
}

static void
bn_init(struct sc_layer *l, struct sc_rng *rng)
{
	int C = l->out.c;

	(void)rng;
	for (int c = 0; c < C; c++) {
		l->w[c] = 1.0f;
		l->b[c] = 0.0f;
		l->state[c] = 0.0f;		/* running mean */
		l->state[C + c] = 1.0f;		/* running variance */
	}
}

/*
 * Sums run in float over blocks of SUM_ROWS rows and SUM_CHANNELS
 * channels, which stay in the first-level cache and vectorise whole,
 * and each block's sums are then added to the double totals: the error
 * of a block is that of 32 float additions, and the totals keep the
 * precision over a whole batch.
 */
#define SUM_ROWS 32
#define SUM_CHANNELS 64

/* The forward's value before the ReLU.  The backward recomputes it to
 * know where the ReLU passed the gradient, with this same expression, so
 * that it agrees with the forward bit for bit. */
static inline float
affine(float x, float scale, float shift)
{
	return x * scale + shift;
}

/* What a block sums: a and a * a, a and a * u, or both with the ReLU's
 * mask (see sums_range). */
enum { SUM_SQUARES, SUM_XHAT, SUM_MASKED };

/* One row's values of channels c0 .. c0 + n - 1 into s and s2. */
static inline __attribute__((always_inline)) void
sum_row(const float *restrict v, const float *restrict xb,
    const float *restrict mu, const float *restrict is,
    const float *restrict sc, const float *restrict sh, float *restrict s,
    float *restrict s2, const int n, const int kind)
{
	for (int c = 0; c < n; c++) {
		float g = v[c], u;	/* loaded always */

		if (kind == SUM_SQUARES) {
			s[c] += g;
			s2[c] += g * g;
			continue;
		}
		u = (xb[c] - mu[c]) * is[c];
		if (kind == SUM_MASKED)
			g = affine(xb[c], sc[c], sh[c]) > 0.0f ? g : 0.0f;
		s[c] += g;
		s2[c] += g * u;
	}
}

/*
 * Rows r0..r1 (at most SUM_ROWS) of channels c0 .. c0 + n - 1, added
 * into p and p2.  n is a constant where this is inlined, so the sums
 * stay in registers; up to 32 channels, even and odd rows have sums of
 * their own, so that two chains of additions run at once.
 */
static inline __attribute__((always_inline)) void
sum_block(const float *restrict a, const float *restrict b,
    const float *restrict sc, const float *restrict sh,
    const float *restrict mu, const float *restrict is, int C, long r0,
    long r1, double *restrict p, double *restrict p2, const int n,
    const int kind)
{
	enum { PAIRS = 2 };
	float s[PAIRS][SUM_CHANNELS], s2[PAIRS][SUM_CHANNELS];
	const int sets = n <= 32 ? PAIRS : 1;
	long r = r0;

	for (int k = 0; k < sets; k++)
		for (int c = 0; c < n; c++)
			s[k][c] = s2[k][c] = 0.0f;
	for (; r + sets <= r1; r += sets)
		for (int k = 0; k < sets; k++)
			sum_row(a + (r + k) * C, b ? b + (r + k) * C : NULL,
			    mu, is, sc, sh, s[k], s2[k], n, kind);
	for (; r < r1; r++)
		sum_row(a + r * C, b ? b + r * C : NULL, mu, is, sc, sh,
		    s[0], s2[0], n, kind);
	for (int c = 0; c < n; c++) {
		float t = s[0][c], t2 = s2[0][c];

		for (int k = 1; k < sets; k++)
			t += s[k][c], t2 += s2[k][c];
		p[c] += t;
		p2[c] += t2;
	}
}

/* sum_block for the widths the presets have, as constants. */
static inline __attribute__((always_inline)) void
sum_kind(const float *restrict a, const float *restrict b,
    const float *restrict sc, const float *restrict sh,
    const float *restrict mu, const float *restrict is, int C, long r0,
    long r1, double *restrict p, double *restrict p2, int n,
    const int kind)
{
	if (n == 64)
		sum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 64, kind);
	else if (n == 32)
		sum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 32, kind);
	else if (n == 16)
		sum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 16, kind);
	else
		sum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, n, kind);
}

/* Rows lo..hi of sum a[r, c] and sum a[r, c] * u[r, c] into p[c] and
 * p[C + c], where u = (b - mean) * invstd, or u = a when b is NULL.
 * Where scale is not NULL, a counts only where b * scale + shift > 0
 * (the gradient through the folded ReLU, which passed those values). */
SC_HOT static void
sums_range(const float *restrict a, const float *restrict b,
    const float *restrict scale, const float *restrict shift,
    const float *restrict mean, const float *restrict invstd, int C,
    long lo, long hi, double *restrict p)
{
	memset(p, 0, 2 * (size_t)C * sizeof(double));
	for (long r0 = lo; r0 < hi; r0 += SUM_ROWS) {
		long r1 = hi - r0 < SUM_ROWS ? hi : r0 + SUM_ROWS;

		for (int c0 = 0; c0 < C; c0 += SUM_CHANNELS) {
			int n = C - c0 < SUM_CHANNELS ? C - c0 : SUM_CHANNELS;
			const float *ac = a + c0, *bc = b ? b + c0 : NULL;
			double *pc = p + c0, *p2c = p + C + c0;

			if (b == NULL)
				sum_kind(ac, NULL, NULL, NULL, NULL, NULL, C,
				    r0, r1, pc, p2c, n, SUM_SQUARES);
			else if (scale == NULL)
				sum_kind(ac, bc, NULL, NULL, mean + c0,
				    invstd + c0, C, r0, r1, pc, p2c, n,
				    SUM_XHAT);
			else
				sum_kind(ac, bc, scale + c0, shift + c0,
				    mean + c0, invstd + c0, C, r0, r1, pc,
				    p2c, n, SUM_MASKED);
		}
	}
}

/* Each thread sums its share of the rows; the sums are then added in
 * thread order, so the result does not depend on timing. */
static void
channel_sums(struct sc_layer *l, const float *a, const float *b,
    const float *scale, const float *shift, const float *mean,
    const float *invstd, size_t M, double *s1, double *s2)
{
	int C = l->out.c, parts = sc_threads();

	#pragma omp parallel num_threads(parts)
	{
		long lo, hi;

		sc_share((long)M, &lo, &hi);
		sums_range(a, b, scale, shift, mean, invstd, C, lo, hi,
		    partials(l, omp_get_thread_num()));
	}
	for (int c = 0; c < C; c++) {
		s1[c] = s2[c] = 0.0;
		for (int t = 0; t < parts; t++) {
			s1[c] += partials(l, t)[c];
			s2[c] += partials(l, t)[C + c];
		}
	}
}

/* out = in * scale + shift, per channel, rows lo..hi; with relu, the
 * negative results become 0. */
SC_HOT static void
affine_range(const float *restrict in, const float *restrict scale,
    const float *restrict shift, int relu, int C, long lo, long hi,
    float *restrict out)
{
	if (relu)
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++) {
				float v = affine(in[r * C + c], scale[c],
				    shift[c]);

				out[r * C + c] = v > 0.0f ? v : 0.0f;
			}
	else
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++)
				out[r * C + c] = affine(in[r * C + c],
				    scale[c], shift[c]);
}

/* out = p * g + q * x + k, per channel, rows lo..hi, where g is the
 * gradient, counted only where x * scale + shift > 0 when scale is not
 * NULL (the folded ReLU). */
SC_HOT static void
grad_range(const float *restrict g, const float *restrict scale,
    const float *restrict shift, const float *restrict x,
    const float *restrict p, const float *restrict q,
    const float *restrict k, int C, long lo, long hi, float *restrict out)
{
	if (scale != NULL)
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++) {
				float g_rc = g[r * C + c];	/* loaded always */
				float v = affine(x[r * C + c], scale[c],
				    shift[c]) > 0.0f ? g_rc : 0.0f;

				out[r * C + c] = p[c] * v + q[c] * x[r * C +
				    c] + k[c];
			}
	else
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++)
				out[r * C + c] = p[c] * g[r * C + c] +
				    q[c] * x[r * C + c] + k[c];
}

static void
bn_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int C = l->out.c;
	size_t M = (size_t)n * l->out.h * l->out.w;
	float *mean = row(l, ROW_MEAN), *invstd = row(l, ROW_INVSTD);
	float *scale = row(l, ROW_SCALE), *shift = row(l, ROW_SHIFT);
	const float *in = x[0];

	l->train = train;
	if (train) {
		double *sum = partials(l, sc_threads()), *sq = sum + C;

		channel_sums(l, in, NULL, NULL, NULL, NULL, NULL, M, sum,
		    sq);
		for (int c = 0; c < C; c++) {
			double mu = sum[c] / M;
			double var = sq[c] / M - mu * mu;

			if (var < 0.0)
				var = 0.0;
			mean[c] = (float)mu;
			invstd[c] = (float)(1.0 / sqrt(var + l->eps));
			l->state[c] += l->momentum * ((float)mu - l->state[c]);
			l->state[C + c] += l->momentum * ((float)(M > 1 ?
			    var * M / (M - 1) : var) - l->state[C + c]);
		}
	} else {
		for (int c = 0; c < C; c++) {
			mean[c] = l->state[c];
			invstd[c] = 1.0f / sqrtf(l->state[C + c] + l->eps);
		}
	}
	/* y = x * scale + shift, per channel. */
	for (int c = 0; c < C; c++) {
		scale[c] = invstd[c] * l->w[c];
		shift[c] = l->b[c] - mean[c] * scale[c];
	}
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share((long)M, &lo, &hi);
		affine_range(in, scale, shift, l->relu, C, lo, hi, y);
	}
}

/* With xhat = (x - mean) * invstd:
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma * invstd / M * (M dy - dbeta - xhat * dgamma)
 * after a training pass, where mean and invstd depend on x; after a
 * scoring pass they are constants and dx = gamma * invstd * dy. */
static void
bn_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int C = l->out.c;
	size_t M = (size_t)n * l->out.h * l->out.w;
	const float *mean = row(l, ROW_MEAN), *invstd = row(l, ROW_INVSTD);
	const float *in = x[0];
	double *dbeta = partials(l, sc_threads()), *dgamma = dbeta + C;
	float *out = dx[0];
	/* With a ReLU folded in, dy is its gradient, which counts where
	 * its input, the forward's x * scale + shift, was positive (where y
	 * is; recomputing that reads memory once fewer than reading y). */
	const float *scale = l->relu ? row(l, ROW_SCALE) : NULL;
	const float *shift = row(l, ROW_SHIFT);

	(void)y;
	channel_sums(l, dy, in, scale, shift, mean, invstd, M, dbeta,
	    dgamma);
	for (int c = 0; c < C; c++) {
		l->db[c] += (float)dbeta[c];
		l->dw[c] += (float)dgamma[c];
	}
	if (out == NULL)
		return;
	if (!l->train) {
		float *k = row(l, ROW_A), *zero = row(l, ROW_B);

		for (int c = 0; c < C; c++)
			k[c] = l->w[c] * invstd[c];
		memset(zero, 0, C * sizeof(float));
		#pragma omp parallel num_threads(sc_threads())
		{
			long lo, hi;

			sc_share((long)M, &lo, &hi);
			grad_range(dy, scale, shift, in, k, zero, zero, C,
			    lo, hi, out);
		}
		return;
	}
	/* dx = k * (dy - a - xhat * b) with k = gamma * invstd, a = dbeta / M
	 * and b = dgamma / M; in terms of x: dx = p * dy + q * x + r. */
	{
		float *p = row(l, ROW_A), *q = row(l, ROW_B);
		float *rr = row(l, ROW_C);

		for (int c = 0; c < C; c++) {
			double k = (double)l->w[c] * invstd[c];
			double a = dbeta[c] / (double)M, b = dgamma[c] /
			    (double)M;

			p[c] = (float)k;
			q[c] = (float)(-k * b * invstd[c]);
			rr[c] = (float)(-k * a + k * b * invstd[c] * mean[c]);
		}
		#pragma omp parallel num_threads(sc_threads())
		{
			long lo, hi;

			sc_share((long)M, &lo, &hi);
			grad_range(dy, scale, shift, in, p, q, rr, C, lo, hi,
			    out);
		}
	}
}

static const struct sc_layer_ops bn_ops = {
	.kind = "batchnorm",
	.init = bn_init,
	.forward = bn_forward,
	.backward = bn_backward,
	.priv_size = bn_priv_size,
	.takes_relu = 1,
};

int
sc_bn_setup(struct sc_layer *l, struct sc_shape in, float momentum,
    float eps)
{
	if (!(momentum > 0.0f && momentum <= 1.0f) || !(eps > 0.0f))
		return sc_fail("batchnorm: momentum %g must be in (0, 1] and "
		    "eps %g > 0", momentum, eps);
	l->ops = &bn_ops;
	l->in[0] = in;
	l->out = in;
	l->n_w = l->n_b = (size_t)in.c;
	l->n_state = 2 * (size_t)in.c;
	l->momentum = momentum;
	l->eps = eps;
	return 0;
}
