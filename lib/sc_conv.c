/*
 * 2-D convolution on NHWC activations, as matrix products.
 *
 * The k x k patches of a chunk of samples are laid out as rows, one per
 * output pixel (im2col): col[P, k*k*C] with P = samples * OH * OW and the
 * columns in (kh, kw, c) order.  Then
 *   forward:   y[P, F]      = col[P, kkC] W[F, kkC]^T (+ b)
 *   backward:  dW[F, kkC]  += dy[P, F]^T col[P, kkC]
 *              dcol[P, kkC] = dy[P, F] W[F, kkC], summed back into dx.
 * A 1x1 convolution with stride 1 and no padding needs no patches: x is
 * already col.  Chunks keep the patch buffer within CONV_WORK floats.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "sc_blas.h"
#include "sc_error.h"
#include "sc_nn.h"

#define CONV_WORK (4u << 20)	/* floats of patches per chunk (16 MiB) */

static size_t
patch_len(const struct sc_layer *l)
{
	return (size_t)l->k * l->k * l->in[0].c;
}

static size_t
out_pixels(const struct sc_layer *l)
{
	return (size_t)l->out.h * l->out.w;
}

static int
is_pointwise(const struct sc_layer *l)
{
	return l->k == 1 && l->stride == 1 && l->pad == 0;
}

/* Samples per chunk, at least one. */
static int
chunk_samples(const struct sc_layer *l, int max_batch)
{
	size_t per = out_pixels(l) * patch_len(l);
	size_t n = per > 0 ? CONV_WORK / per : (size_t)max_batch;

	if (n < 1)
		n = 1;
	return n < (size_t)max_batch ? (int)n : max_batch;
}

static void
im2col(const struct sc_layer *l, const float *x, int n, float *col)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, K = l->k;
	size_t kkc = patch_len(l);

	for (int s = 0; s < n; s++) {
		const float *img = x + (size_t)s * H * W * C;

		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				float *row = col + (((size_t)s * OH + oh) *
				    OW + ow) * kkc;

				for (int kh = 0; kh < K; kh++) {
					int ih = oh * l->stride - l->pad + kh;

					for (int kw = 0; kw < K; kw++) {
						int iw = ow * l->stride -
						    l->pad + kw;
						float *dst = row +
						    (size_t)(kh * K + kw) * C;

						if (ih < 0 || ih >= H ||
						    iw < 0 || iw >= W)
							memset(dst, 0,
							    C * sizeof(float));
						else
							memcpy(dst, img +
							    ((size_t)ih * W +
							    iw) * C,
							    C * sizeof(float));
					}
				}
			}
	}
}

/* The adjoint of im2col: add each patch row back into dx (zeroed here). */
static void
col2im(const struct sc_layer *l, const float *col, int n, float *dx)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, K = l->k;
	size_t kkc = patch_len(l);

	memset(dx, 0, (size_t)n * H * W * C * sizeof(float));
	for (int s = 0; s < n; s++) {
		float *img = dx + (size_t)s * H * W * C;

		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				const float *row = col + (((size_t)s * OH +
				    oh) * OW + ow) * kkc;

				for (int kh = 0; kh < K; kh++) {
					int ih = oh * l->stride - l->pad + kh;

					if (ih < 0 || ih >= H)
						continue;
					for (int kw = 0; kw < K; kw++) {
						int iw = ow * l->stride -
						    l->pad + kw;
						const float *src = row +
						    (size_t)(kh * K + kw) * C;
						float *dst;

						if (iw < 0 || iw >= W)
							continue;
						dst = img + ((size_t)ih * W +
						    iw) * C;
						for (int c = 0; c < C; c++)
							dst[c] += src[c];
					}
				}
			}
	}
}

/* PyTorch's default: weights and biases uniform in +-1/sqrt(fan_in). */
static void
conv_init(struct sc_layer *l, struct sc_rng *rng)
{
	double bound = 1.0 / sqrt((double)patch_len(l));

	for (size_t j = 0; j < l->n_w; j++)
		l->w[j] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * bound);
	for (size_t j = 0; j < l->n_b; j++)
		l->b[j] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * bound);
}

/* Floats of work memory one thread uses: patches and their gradient for
 * a chunk, then its share of dW and db. */
static size_t
thread_work(const struct sc_layer *l, int max_batch)
{
	size_t patches = is_pointwise(l) ? 0 : 2 * (size_t)chunk_samples(l,
	    max_batch) * out_pixels(l) * patch_len(l);

	return (patches + l->n_w + l->n_b + 15) / 16 * 16;
}

static size_t
conv_work_size(const struct sc_layer *l, int max_batch)
{
	return (size_t)sc_threads() * thread_work(l, max_batch);
}

/* Samples lo..hi of the batch, chunk by chunk, in the calling thread. */
static void
forward_range(struct sc_layer *l, const float *x, float *y, long lo, long hi,
    int chunk, float *work)
{
	size_t in_len = sc_shape_size(l->in[0]), kkc = patch_len(l);
	int F = l->out.c;

	for (long s0 = lo; s0 < hi; s0 += chunk) {
		int cn = hi - s0 < chunk ? (int)(hi - s0) : chunk;
		int P = cn * (int)out_pixels(l);
		const float *col = x + (size_t)s0 * in_len;
		float *out = y + (size_t)s0 * out_pixels(l) * F;

		if (!is_pointwise(l)) {
			im2col(l, col, cn, work);
			col = work;
		}
		if (l->n_b > 0)
			for (int r = 0; r < P; r++)
				memcpy(out + (size_t)r * F, l->b,
				    F * sizeof(float));
		sc_sgemm(0, 1, P, F, (int)kkc, 1.0f, col, (int)kkc, l->w,
		    (int)kkc, l->n_b > 0 ? 1.0f : 0.0f, out, F);
	}
}

static void
conv_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int parts = sc_threads(), chunk = chunk_samples(l, l->max_batch);

	(void)train;
	#pragma omp parallel num_threads(parts)
	{
		int t = omp_get_thread_num();
		long lo, hi;

		sc_split(n, t, parts, &lo, &hi);
		forward_range(l, x[0], y, lo, hi, chunk,
		    l->work + t * thread_work(l, l->max_batch));
	}
}

/* The backward pass of samples lo..hi into this thread's dW and db. */
static void
backward_range(struct sc_layer *l, const float *x, const float *dy,
    float *dx, long lo, long hi, int chunk, float *work)
{
	size_t in_len = sc_shape_size(l->in[0]), kkc = patch_len(l);
	size_t patches = (size_t)chunk * out_pixels(l) * kkc;
	int F = l->out.c;
	float *dcol = work + patches;
	float *dw = work + (is_pointwise(l) ? 0 : 2 * patches);
	float *db = dw + l->n_w;

	memset(dw, 0, (l->n_w + l->n_b) * sizeof(float));
	for (long s0 = lo; s0 < hi; s0 += chunk) {
		int cn = hi - s0 < chunk ? (int)(hi - s0) : chunk;
		int P = cn * (int)out_pixels(l);
		const float *col = x + (size_t)s0 * in_len;
		const float *g = dy + (size_t)s0 * out_pixels(l) * F;

		if (!is_pointwise(l)) {
			im2col(l, col, cn, work);
			col = work;
		}
		sc_sgemm(1, 0, F, (int)kkc, P, 1.0f, g, F, col, (int)kkc,
		    1.0f, dw, (int)kkc);
		for (int r = 0; r < P && l->n_b > 0; r++)
			for (int f = 0; f < F; f++)
				db[f] += g[(size_t)r * F + f];
		if (dx == NULL)
			continue;
		if (is_pointwise(l)) {
			sc_sgemm(0, 0, P, (int)kkc, F, 1.0f, g, F, l->w,
			    (int)kkc, 0.0f, dx + (size_t)s0 * in_len,
			    (int)kkc);
			continue;
		}
		sc_sgemm(0, 0, P, (int)kkc, F, 1.0f, g, F, l->w, (int)kkc,
		    0.0f, dcol, (int)kkc);
		col2im(l, dcol, cn, dx + (size_t)s0 * in_len);
	}
}

static void
conv_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int parts = sc_threads(), chunk = chunk_samples(l, l->max_batch);
	size_t per = thread_work(l, l->max_batch);
	size_t offset = is_pointwise(l) ? 0 : 2 * (size_t)chunk *
	    out_pixels(l) * patch_len(l);
	size_t n_par = l->n_w + l->n_b;

	(void)y;
	#pragma omp parallel num_threads(parts)
	{
		int t = omp_get_thread_num();
		long lo, hi;

		sc_split(n, t, parts, &lo, &hi);
		backward_range(l, x[0], dy, dx[0], lo, hi, chunk,
		    l->work + t * per);
		#pragma omp barrier
		/* Each thread adds every thread's share of one slice of
		 * the parameters, in thread order. */
		sc_split((long)n_par, t, parts, &lo, &hi);
		for (int u = 0; u < parts; u++) {
			const float *part = l->work + u * per + offset;

			for (long j = lo; j < hi; j++) {
				if ((size_t)j < l->n_w)
					l->dw[j] += part[j];
				else
					l->db[j - l->n_w] += part[j];
			}
		}
	}
}

static const struct sc_layer_ops conv_ops = {
	.kind = "conv",
	.init = conv_init,
	.forward = conv_forward,
	.backward = conv_backward,
	.work_size = conv_work_size,
};

int
sc_conv_setup(struct sc_layer *l, struct sc_shape in, int filters, int k,
    int stride, int pad, int bias)
{
	int oh = (in.h + 2 * pad - k) / stride + 1;
	int ow = (in.w + 2 * pad - k) / stride + 1;

	if (filters < 1 || k < 1 || stride < 1 || pad < 0 || pad >= k)
		return sc_fail("conv: filters %d, kernel %d, stride %d, "
		    "padding %d: need filters, kernel and stride >= 1 and "
		    "0 <= padding < kernel", filters, k, stride, pad);
	if (in.h + 2 * pad < k || in.w + 2 * pad < k)
		return sc_fail("conv: kernel %d does not fit a %dx%d input "
		    "with padding %d", k, in.h, in.w, pad);
	l->ops = &conv_ops;
	l->in[0] = in;
	l->out = (struct sc_shape){ filters, oh, ow };
	l->k = k;
	l->stride = stride;
	l->pad = pad;
	l->n_w = (size_t)filters * k * k * in.c;
	l->n_b = bias ? (size_t)filters : 0;
	return 0;
}

void
sc_conv_naive_forward(const struct sc_layer *l, const float *x, float *y,
    int n)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, K = l->k;

	for (int s = 0; s < n; s++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				for (int f = 0; f < F; f++) {
					double sum = l->n_b > 0 ? l->b[f] : 0;

					for (int kh = 0; kh < K; kh++)
						for (int kw = 0; kw < K; kw++)
							for (int c = 0; c < C;
							    c++) {
								int ih = oh *
								    l->stride -
								    l->pad + kh;
								int iw = ow *
								    l->stride -
								    l->pad + kw;

								if (ih < 0 ||
								    ih >= H ||
								    iw < 0 ||
								    iw >= W)
									continue;
								sum += (double)
								    x[(((size_t)
								    s * H + ih)
								    * W + iw) *
								    C + c] *
								    l->w[((size_t)
								    (f * K + kh)
								    * K + kw) *
								    C + c];
							}
					y[(((size_t)s * OH + oh) * OW + ow) *
					    F + f] = (float)sum;
				}
}
