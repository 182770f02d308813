/* Rectified linear unit, elementwise: y = max(x, 0). */
#include "sc_nn.h"
#include "sc_simd.h"

SC_HOT void
sc_relu_range(const float *in, float *out, long lo, long hi)
{
	for (long j = lo; j < hi; j++)
		out[j] = in[j] > 0.0f ? in[j] : 0.0f;
}

/* y > 0 exactly where x > 0, so the output serves as the mask. */
SC_HOT void
sc_relu_grad_range(const float *restrict y, const float *restrict g,
    float *restrict d, long lo, long hi)
{
	for (long j = lo; j < hi; j++) {
		float v = g[j];	/* loaded unconditionally: vectorisable */

		d[j] = y[j] > 0.0f ? v : 0.0f;
	}
}

static void
relu_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	long len = (long)n * (long)sc_shape_size(l->out);

	(void)train;
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(len, &lo, &hi);
		sc_relu_range(x[0], y, lo, hi);
	}
}

static void
relu_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	long len = (long)n * (long)sc_shape_size(l->out);

	(void)x;
	if (dx[0] == NULL)
		return;
	#pragma omp parallel num_threads(sc_threads())
	{
		long lo, hi;

		sc_share(len, &lo, &hi);
		sc_relu_grad_range(y, dy, dx[0], lo, hi);
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
