/* Rectified linear unit, elementwise: y = max(x, 0). */
#include <string.h>

#include "sc_nn.h"

static void
relu_forward(struct sc_layer *l, const float *x, float *y, int n, int train)
{
	size_t len = (size_t)n * sc_shape_size(l->in);

	(void)train;
	for (size_t j = 0; j < len; j++)
		y[j] = x[j] > 0.0f ? x[j] : 0.0f;
}

static void
relu_backward(struct sc_layer *l, const float *x, const float *y,
    const float *dy, float *dx, int n)
{
	size_t len = (size_t)n * sc_shape_size(l->in);

	(void)y;
	if (dx == NULL)
		return;
	for (size_t j = 0; j < len; j++)
		dx[j] = x[j] > 0.0f ? dy[j] : 0.0f;
}

static const struct sc_layer_ops relu_ops = {
	"relu", NULL, relu_forward, relu_backward,
};

void
sc_relu_setup(struct sc_layer *l, struct sc_shape in)
{
	memset(l, 0, sizeof(*l));
	l->ops = &relu_ops;
	l->in = in;
	l->out = in;
}
