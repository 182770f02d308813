/*
 * Pooling on NHWC activations: max pooling (k x k windows, stride s, no
 * padding; priv keeps the index of each maximum for the backward) and
 * global average pooling ([n, h, w, c] -> [n, c]).
 */
#include <string.h>

#include "sc_error.h"
#include "sc_nn.h"

static size_t
maxpool_priv_size(const struct sc_layer *l, int max_batch)
{
	return (size_t)max_batch * sc_shape_size(l->out);
}

static void
maxpool_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w;
	/* Indices into the sample's input, stored in float-sized slots. */
	int32_t *arg = (int32_t *)l->priv;

	(void)train;
	for (int s = 0; s < n; s++) {
		const float *img = x[0] + (size_t)s * H * W * C;

		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				for (int c = 0; c < C; c++) {
					int best = -1;
					float v = 0.0f;

					for (int kh = 0; kh < l->k; kh++)
						for (int kw = 0; kw < l->k;
						    kw++) {
							int i = ((oh *
							    l->stride + kh) *
							    W + ow *
							    l->stride + kw) *
							    C + c;

							if (best < 0 ||
							    img[i] > v) {
								best = i;
								v = img[i];
							}
						}
					size_t o = (((size_t)s * OH + oh) *
					    OW + ow) * C + c;
					y[o] = v;
					arg[o] = best;
				}
	}
}

static void
maxpool_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);
	const int32_t *arg = (const int32_t *)l->priv;

	(void)x;
	(void)y;
	if (dx[0] == NULL)
		return;
	memset(dx[0], 0, (size_t)n * in_len * sizeof(float));
	for (int s = 0; s < n; s++)
		for (size_t o = 0; o < out_len; o++)
			dx[0][(size_t)s * in_len + arg[s * out_len + o]] +=
			    dy[s * out_len + o];
}

static const struct sc_layer_ops maxpool_ops = {
	.kind = "maxpool",
	.forward = maxpool_forward,
	.backward = maxpool_backward,
	.priv_size = maxpool_priv_size,
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

static void
gap_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int C = l->in[0].c, HW = l->in[0].h * l->in[0].w;

	(void)train;
	for (int s = 0; s < n; s++) {
		const float *img = x[0] + (size_t)s * HW * C;
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

static void
gap_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int C = l->in[0].c, HW = l->in[0].h * l->in[0].w;

	(void)x;
	(void)y;
	if (dx[0] == NULL)
		return;
	for (int s = 0; s < n; s++)
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				dx[0][((size_t)s * HW + p) * C + c] =
				    dy[(size_t)s * C + c] / (float)HW;
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
