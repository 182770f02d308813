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

	#pragma GCC unroll 2
	for (int k = 0; k < sets; k++)
		for (int c = 0; c < n; c++)
			s[k][c] = s2[k][c] = 0.0f;
	for (; r + sets <= r1; r += sets)
		#pragma GCC unroll 2
		for (int k = 0; k < sets; k++)
			sum_row(a + (r + k) * C, b ? b + (r + k) * C : NULL,
			    mu, is, sc, sh, s[k], s2[k], n, kind);
	for (; r < r1; r++)
		sum_row(a + r * C, b ? b + r * C : NULL, mu, is, sc, sh,
		    s[0], s2[0], n, kind);
	for (int c = 0; c < n; c++) {
		float t = s[0][c], t2 = s2[0][c];

		#pragma GCC unroll 2
		for (int k = 1; k < sets; k++)
			t += s[k][c], t2 += s2[k][c];
		p[c] += t;
		p2[c] += t2;
	}
}

/* sum_block on 16 V channels (V = 1 .. 4, a constant where this is
 * inlined), with named vectors, which stay in registers; the sums are
 * the same, in the same order. */
static inline __attribute__((always_inline)) void
vsum_block(const float *restrict a, const float *restrict b,
    const float *restrict sc, const float *restrict sh,
    const float *restrict mu, const float *restrict is, int C, long r0,
    long r1, double *restrict p, double *restrict p2, const int V,
    const int kind)
{
	const int sets = V <= 2 ? 2 : 1;
	sc_vf s[2][4], s2[2][4], vsc[4], vsh[4], vmu[4], vis[4];
	sc_vf zero = { 0.0f };
	long r = r0;

	#pragma GCC unroll 4
	for (int v = 0; v < V; v++) {
		vsc[v] = vsh[v] = vmu[v] = vis[v] = zero;
		if (kind != SUM_SQUARES)
			vmu[v] = sc_vload(mu + 16 * v),
			vis[v] = sc_vload(is + 16 * v);
		if (kind == SUM_MASKED)
			vsc[v] = sc_vload(sc + 16 * v),
			vsh[v] = sc_vload(sh + 16 * v);
		s[0][v] = s2[0][v] = s[1][v] = s2[1][v] = zero;
	}
	for (; r < r1; r += sets)
		#pragma GCC unroll 2
		for (int k = 0; k < sets; k++) {
			/* An odd last row goes into set 0 alone. */
			if (k > 0 && r + k >= r1)
				break;
			#pragma GCC unroll 4
			for (int v = 0; v < V; v++) {
				sc_vf g = sc_vload(a + (r + k) * C + 16 * v);
				sc_vf xb, u;

				if (kind == SUM_SQUARES) {
					s[k][v] += g;
					s2[k][v] += g * g;
					continue;
				}
				xb = sc_vload(b + (r + k) * C + 16 * v);
				u = (xb - vmu[v]) * vis[v];
				if (kind == SUM_MASKED)
					g = sc_vpositive(xb * vsc[v] + vsh[v],
					    g);
				s[k][v] += g;
				s2[k][v] += g * u;
			}
		}
	#pragma GCC unroll 4
	for (int v = 0; v < V; v++) {
		float t[16], t2[16];

		sc_vstore(t, sets == 2 ? s[0][v] + s[1][v] : s[0][v]);
		sc_vstore(t2, sets == 2 ? s2[0][v] + s2[1][v] : s2[0][v]);
		for (int c = 0; c < 16; c++) {
			p[16 * v + c] += t[c];
			p2[16 * v + c] += t2[c];
		}
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
		vsum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 4, kind);
	else if (n == 48)
		vsum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 3, kind);
	else if (n == 32)
		vsum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 2, kind);
	else if (n == 16)
		vsum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, 1, kind);
	else
		sum_block(a, b, sc, sh, mu, is, C, r0, r1, p, p2, n, kind);
}

/* Rows lo..hi of sum a[r, c] and sum a[r, c] * u[r, c] added into p[c]
 * and p[C + c], where u = (b - mean) * invstd, or u = a when b is NULL.
 * Where scale is not NULL, a counts only where b * scale + shift > 0
 * (the gradient through the folded ReLU, which passed those values). */
SC_HOT static void
sums_range(const float *restrict a, const float *restrict b,
    const float *restrict scale, const float *restrict shift,
    const float *restrict mean, const float *restrict invstd, int C,
    long lo, long hi, double *restrict p)
{
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

/* Each thread sums its share of the rows into its partials. */
static void
channel_sums(struct sc_layer *l, const float *a, const float *b,
    const float *scale, const float *shift, const float *mean,
    const float *invstd, size_t M)
{
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		double *p = partials(l, omp_get_thread_num());

		sc_share((long)M, &lo, &hi);
		memset(p, 0, 2 * (size_t)l->out.c * sizeof(double));
		sums_range(a, b, scale, shift, mean, invstd, l->out.c, lo, hi,
		    p);
	}
}

/* The threads' partial sums added in thread order, so that the result
 * does not depend on timing, into the totals, which are returned. */
static double *
total_sums(struct sc_layer *l)
{
	int C = l->out.c, parts = sc_threads();
	double *s1 = partials(l, parts), *s2 = s1 + C;

	for (int c = 0; c < C; c++) {
		s1[c] = s2[c] = 0.0;
		for (int t = 0; t < parts; t++) {
			s1[c] += partials(l, t)[c];
			s2[c] += partials(l, t)[C + c];
		}
	}
	return s1;
}

/* The batch's statistics of channel c, mean mu and (biased) variance var
 * over M values: the rows the affine map and the backward use, and the
 * running averages' step. */
static void
set_batch(struct sc_layer *l, int c, double mu, double var, size_t M)
{
	int C = l->out.c;

	if (var < 0.0)
		var = 0.0;
	row(l, ROW_MEAN)[c] = (float)mu;
	row(l, ROW_INVSTD)[c] = (float)(1.0 / sqrt(var + l->eps));
	l->state[c] += l->momentum * ((float)mu - l->state[c]);
	l->state[C + c] += l->momentum * ((float)(M > 1 ? var * M / (M - 1) :
	    var) - l->state[C + c]);
}

/* y = x * scale + shift, per channel, from mean and invstd. */
static void
set_affine(struct sc_layer *l)
{
	const float *mean = row(l, ROW_MEAN), *invstd = row(l, ROW_INVSTD);
	float *scale = row(l, ROW_SCALE), *shift = row(l, ROW_SHIFT);

	for (int c = 0; c < l->out.c; c++) {
		scale[c] = invstd[c] * l->w[c];
		shift[c] = l->b[c] - mean[c] * scale[c];
	}
}

/* Scoring: the running statistics. */
static void
set_running(struct sc_layer *l)
{
	int C = l->out.c;

	for (int c = 0; c < C; c++) {
		row(l, ROW_MEAN)[c] = l->state[c];
		row(l, ROW_INVSTD)[c] = 1.0f / sqrtf(l->state[C + c] +
		    l->eps);
	}
}

/* mean, invstd and the affine map from the threads' sums of x and x * x
 * when training, from the running statistics when scoring. */
static void
normalise(struct sc_layer *l, size_t M, int train)
{
	int C = l->out.c;

	l->train = train;
	if (train) {
		double *sum = total_sums(l), *sq = sum + C;

		for (int c = 0; c < C; c++) {
			double mu = sum[c] / M;

			set_batch(l, c, mu, sq[c] / M - mu * mu, M);
		}
	} else
		set_running(l);
	set_affine(l);
}

void
sc_bn_set(struct sc_layer *l, const double *mean, const double *var,
    size_t M)
{
	l->train = mean != NULL;
	if (mean != NULL)
		for (int c = 0; c < l->out.c; c++)
			set_batch(l, c, mean[c], var[c], M);
	else
		set_running(l);
	set_affine(l);
}

void
sc_bn_stats(const struct sc_layer *l, const float **mean,
    const float **invstd)
{
	*mean = row(l, ROW_MEAN);
	*invstd = row(l, ROW_INVSTD);
}

/* With xhat = (x - mean) * invstd:
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma * invstd / M * (M dy - dbeta - xhat * dgamma)
 * after a training pass, where mean and invstd depend on x; after a
 * scoring pass they are constants and dx = gamma * invstd * dy.  In
 * terms of x, dx = p * dy + q * x + r, with (after training)
 * k = gamma * invstd, a = dbeta / M, b = dgamma / M,
 *   p = k,  q = -k b invstd,  r = -k a + k b invstd mean. */
static void
gradient(struct sc_layer *l, size_t M)
{
	int C = l->out.c;
	const float *mean = row(l, ROW_MEAN), *invstd = row(l, ROW_INVSTD);
	float *p = row(l, ROW_A), *q = row(l, ROW_B), *rr = row(l, ROW_C);
	double *dbeta = total_sums(l), *dgamma = dbeta + C;

	for (int c = 0; c < C; c++) {
		l->db[c] += (float)dbeta[c];
		l->dw[c] += (float)dgamma[c];
	}
	for (int c = 0; c < C; c++) {
		double k = (double)l->w[c] * invstd[c];
		double a = dbeta[c] / (double)M, b = dgamma[c] / (double)M;

		if (!l->train) {
			p[c] = l->w[c] * invstd[c];
			q[c] = rr[c] = 0.0f;
			continue;
		}
		p[c] = (float)k;
		q[c] = (float)(-k * b * invstd[c]);
		rr[c] = (float)(-k * a + k * b * invstd[c] * mean[c]);
	}
}

/* The per-channel values of a row of 16 V channels (V = 1 .. 4, a
 * constant where this is inlined), loaded once for many rows. */
struct vrow {
	sc_vf v[5][4];
};

static inline __attribute__((always_inline)) void
vrow_load(struct vrow *r, const float *const *rows, int n, const int V)
{
	sc_vf zero = { 0.0f };

	#pragma GCC unroll 5
	for (int i = 0; i < 5; i++)
		#pragma GCC unroll 4
		for (int v = 0; v < V; v++)
			r->v[i][v] = i < n && rows[i] != NULL ?
			    sc_vload(rows[i] + 16 * v) : zero;
}

/* affine_range's rows when C is 16 V. */
static inline __attribute__((always_inline)) void
vaffine_rows(const float *restrict in, const float *restrict scale,
    const float *restrict shift, int relu, long lo, long hi,
    float *restrict out, const int V)
{
	const float *rows[2] = { scale, shift };
	struct vrow k;

	vrow_load(&k, rows, 2, V);
	for (long r = lo; r < hi; r++)
		#pragma GCC unroll 4
		for (int v = 0; v < V; v++) {
			size_t at = (size_t)r * 16 * V + 16 * v;
			sc_vf y = sc_vload(in + at) * k.v[0][v] + k.v[1][v];

			sc_vstore(out + at, relu ? sc_vpositive(y, y) : y);
		}
}

/* out = in * scale + shift, per channel, rows lo..hi; with relu, the
 * negative results become 0. */
SC_HOT static void
affine_range(const float *restrict in, const float *restrict scale,
    const float *restrict shift, int relu, int C, long lo, long hi,
    float *restrict out)
{
	switch (C) {
	case 16:
		vaffine_rows(in, scale, shift, relu, lo, hi, out, 1);
		return;
	case 32:
		vaffine_rows(in, scale, shift, relu, lo, hi, out, 2);
		return;
	case 48:
		vaffine_rows(in, scale, shift, relu, lo, hi, out, 3);
		return;
	case 64:
		vaffine_rows(in, scale, shift, relu, lo, hi, out, 4);
		return;
	}
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

/* grad_range's rows when C is 16 V. */
static inline __attribute__((always_inline)) void
vgrad_rows(const float *restrict g, const float *restrict scale,
    const float *restrict shift, const float *restrict x,
    const float *restrict p, const float *restrict q,
    const float *restrict k, long lo, long hi, float *restrict out,
    const int V)
{
	const float *rows[5] = { p, q, k, scale, shift };
	struct vrow c;

	vrow_load(&c, rows, 5, V);
	for (long r = lo; r < hi; r++)
		#pragma GCC unroll 4
		for (int v = 0; v < V; v++) {
			size_t at = (size_t)r * 16 * V + 16 * v;
			sc_vf xv = sc_vload(x + at), gv = sc_vload(g + at);

			if (scale != NULL)
				gv = sc_vpositive(xv * c.v[3][v] + c.v[4][v],
				    gv);
			sc_vstore(out + at, c.v[0][v] * gv + c.v[1][v] * xv +
			    c.v[2][v]);
		}
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
	switch (C) {
	case 16:
		vgrad_rows(g, scale, shift, x, p, q, k, lo, hi, out, 1);
		return;
	case 32:
		vgrad_rows(g, scale, shift, x, p, q, k, lo, hi, out, 2);
		return;
	case 48:
		vgrad_rows(g, scale, shift, x, p, q, k, lo, hi, out, 3);
		return;
	case 64:
		vgrad_rows(g, scale, shift, x, p, q, k, lo, hi, out, 4);
		return;
	}
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

void
sc_bn_affine(const struct sc_layer *l, const float **scale,
    const float **shift)
{
	*scale = row(l, ROW_SCALE);
	*shift = row(l, ROW_SHIFT);
}

static void
bn_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	size_t M = (size_t)n * l->out.h * l->out.w;
	const float *scale = row(l, ROW_SCALE), *shift = row(l, ROW_SHIFT);

	if (train)
		channel_sums(l, x[0], NULL, NULL, NULL, NULL, NULL, M);
	normalise(l, M, train);
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share((long)M, &lo, &hi);
		affine_range(x[0], scale, shift, l->relu, l->out.c, lo, hi, y);
	}
}

/* The formulas are gradient's. */
static void
bn_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	size_t M = (size_t)n * l->out.h * l->out.w;
	const float *mean = row(l, ROW_MEAN), *invstd = row(l, ROW_INVSTD);
	/* With a ReLU folded in, dy is its gradient, which counts where
	 * its input, the forward's x * scale + shift, was positive (where y
	 * is; recomputing that reads memory once fewer than reading y). */
	const float *scale = l->relu ? row(l, ROW_SCALE) : NULL;
	const float *shift = row(l, ROW_SHIFT);
	const float *p = row(l, ROW_A), *q = row(l, ROW_B);
	const float *rr = row(l, ROW_C);

	(void)y;
	channel_sums(l, dy, x[0], scale, shift, mean, invstd, M);
	gradient(l, M);
	if (dx[0] == NULL)
		return;
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share((long)M, &lo, &hi);
		grad_range(dy, scale, shift, x[0], p, q, rr, l->out.c, lo, hi,
		    dx[0]);
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
