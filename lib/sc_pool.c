/*
 * Pooling on NHWC activations: max pooling (k x k windows, stride s, no
 * padding) and global average pooling ([n, h, w, c] -> [n, c]).
 */
#include <string.h>

#include "sc_error.h"
#include "sc_nn.h"
#include "sc_simd.h"

/*
 * Max pooling keeps no indices: the backward pass finds, in each window,
 * the first input equal to the output, which is the one the forward pass
 * chose.  With the channels of a pixel side by side, both passes run
 * along the channels in blocks of POOL_BLOCK, which vectorise.
 */
#define POOL_BLOCK 64

SC_HOT static void
maxpool_sample(const struct sc_layer *l, const float *restrict img,
    float *restrict y)
{
	int W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, K = l->k, S = l->stride;

	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			float *restrict out = y + ((size_t)oh * OW + ow) * C;

			memcpy(out, img + ((size_t)oh * S * W + ow * S) * C,
			    C * sizeof(float));
			for (int kh = 0; kh < K; kh++)
				for (int kw = 0; kw < K; kw++) {
					const float *restrict v = img +
					    ((size_t)(oh * S + kh) * W +
					    ow * S + kw) * C;

					for (int c = 0; c < C; c++)
						out[c] = v[c] > out[c] ?
						    v[c] : out[c];
				}
		}
}

/* Route each output's gradient to the first input of its window equal
 * to it.  With tiled set (windows that neither overlap nor leave gaps
 * between them) every input in a window is written, and dimg needs
 * zeroing only beyond the last window; otherwise dimg was zeroed and the
 * windows' gradients are added. */
SC_HOT static void
maxpool_grad_sample(const struct sc_layer *l, const float *restrict img,
    const float *restrict y, const float *restrict dy,
    float *restrict dimg, int tiled)
{
	int W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, K = l->k, S = l->stride;
	unsigned char open[POOL_BLOCK];	/* no input has taken it yet */

	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			size_t o = ((size_t)oh * OW + ow) * C;

			for (int c0 = 0; c0 < C; c0 += POOL_BLOCK) {
				int cn = C - c0 < POOL_BLOCK ? C - c0 :
				    POOL_BLOCK;
				const float *restrict m = y + o + c0;
				const float *restrict g = dy + o + c0;

				memset(open, 1, sizeof(open));
				for (int kh = 0; kh < K; kh++)
					for (int kw = 0; kw < K; kw++) {
						size_t i = ((size_t)(oh * S +
						    kh) * W + ow * S + kw) *
						    C + c0;
						const float *restrict v =
						    img + i;
						float *restrict d = dimg + i;

						if (tiled)
							for (int c = 0; c < cn;
							    c++) {
								int hit = open[c] &
								    (v[c] ==
								    m[c]);

								d[c] = hit ?
								    g[c] : 0.0f;
								open[c] &= !hit;
							}
						else
							for (int c = 0; c < cn;
							    c++) {
								int hit = open[c] &
								    (v[c] ==
								    m[c]);

								d[c] += hit ?
								    g[c] : 0.0f;
								open[c] &= !hit;
							}
					}
			}
		}
}

static void
maxpool_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);

	(void)train;
	#pragma omp parallel for schedule(static) num_threads(sc_threads())
	for (int s = 0; s < n; s++)
		maxpool_sample(l, x[0] + s * in_len, y + s * out_len);
}

/* Zero the inputs of a sample that no window covers: the rows below the
 * last window and the columns right of it. */
static void
zero_margin(const struct sc_layer *l, float *dimg)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int covered_h = l->out.h * l->stride, covered_w = l->out.w * l->stride;

	for (int h = 0; h < covered_h && covered_w < W; h++)
		memset(dimg + ((size_t)h * W + covered_w) * C, 0,
		    (size_t)(W - covered_w) * C * sizeof(float));
	if (covered_h < H)
		memset(dimg + (size_t)covered_h * W * C, 0,
		    (size_t)(H - covered_h) * W * C * sizeof(float));
}

static void
maxpool_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);

	int tiled = l->k == l->stride;

	if (dx[0] == NULL)
		return;
	#pragma omp parallel for schedule(static) num_threads(sc_threads())
	for (int s = 0; s < n; s++) {
		float *d = dx[0] + s * in_len;

		if (tiled)
			zero_margin(l, d);
		else
			memset(d, 0, in_len * sizeof(float));
		maxpool_grad_sample(l, x[0] + s * in_len, y + s * out_len,
		    dy + s * out_len, d, tiled);
	}
}

static const struct sc_layer_ops maxpool_ops = {
	.kind = "maxpool",
	.forward = maxpool_forward,
	.backward = maxpool_backward,
};

int
sc_maxpool_setup(struct sc_layer *l, struct sc_shape in, int k, int stride)
{
	if (k < 1 || stride < 1 || in.h < k || in.w < k)
		return sc_fail("maxpool: window %d, stride %d on a %dx%d "
		    "input", k, stride, in.h, in.w);
	l->ops = &maxpool_ops;
	l->in[0] = in;
	l->out = (struct sc_shape){ in.c, (in.h - k) / stride + 1,
		(in.w - k) / stride + 1 };
	l->k = k;
	l->stride = stride;
	return 0;
}

/* The mean of each channel of samples lo..hi. */
SC_HOT static void
gap_range(const float *restrict x, int HW, int C, long lo, long hi,
    float *restrict y)
{
	for (long s = lo; s < hi; s++) {
		const float *img = x + (size_t)s * HW * C;
		float *out = y + (size_t)s * C;

		for (int c = 0; c < C; c++)
			out[c] = 0.0f;
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				out[c] += img[(size_t)p * C + c];
		for (int c = 0; c < C; c++)
			out[c] /= (float)HW;
	}
}

/* Each pixel of samples lo..hi takes its channel's dy / HW. */
SC_HOT static void
gap_grad_range(const float *restrict dy, int HW, int C, long lo, long hi,
    float *restrict dx)
{
	for (long s = lo; s < hi; s++)
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				dx[((size_t)s * HW + p) * C + c] =
				    dy[(size_t)s * C + c] / (float)HW;
}

static void
gap_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int C = l->in[0].c, HW = l->in[0].h * l->in[0].w;

	(void)train;
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(n, &lo, &hi);
		gap_range(x[0], HW, C, lo, hi, y);
	}
}

static void
gap_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int C = l->in[0].c, HW = l->in[0].h * l->in[0].w;

	(void)x;
	(void)y;
	if (dx[0] == NULL)
		return;
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(n, &lo, &hi);
		gap_grad_range(dy, HW, C, lo, hi, dx[0]);
	}
}

static const struct sc_layer_ops gap_ops = {
	.kind = "gap",
	.forward = gap_forward,
	.backward = gap_backward,
};

int
sc_gap_setup(struct sc_layer *l, struct sc_shape in)
{
	l->ops = &gap_ops;
	l->in[0] = in;
	l->out = (struct sc_shape){ in.c, 1, 1 };
	return 0;
}
