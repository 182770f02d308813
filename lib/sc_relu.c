/* Rectified linear unit, elementwise: y = max(x, 0). */
#include "sc_nn.h"

static void
relu_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	size_t len = (size_t)n * sc_shape_size(l->out);
	const float *restrict in = x[0];
	float *restrict out = y;

	(void)train;
	#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < len; j++)
		out[j] = in[j] > 0.0f ? in[j] : 0.0f;
}

static void
relu_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	size_t len = (size_t)n * sc_shape_size(l->out);
	float *restrict d = dx[0];
	const float *restrict out = y, *restrict g = dy;

	(void)x;
	if (d == NULL)
		return;
	/* y > 0 exactly where x > 0. */
	#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < len; j++) {
		float v = g[j];	/* loaded unconditionally: vectorisable */

		d[j] = out[j] > 0.0f ? v : 0.0f;
	}
}

static const struct sc_layer_ops relu_ops = {
	.kind = "relu",
	.forward = relu_forward,
	.backward = relu_backward,
};

int
sc_relu_setup(struct sc_layer *l, struct sc_shape in)
{
	l->ops = &relu_ops;
	l->in[0] = in;
	l->out = in;
	return 0;
}
