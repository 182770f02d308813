/*
 * Fully connected layer: y[n, o] = x[n, i] W[o, i]^T + b[o], each sample
 * taken as one flat row.  W is stored with one row per output.
 */
#include <math.h>
#include <string.h>

#include "sc_blas.h"
#include "sc_error.h"
#include "sc_nn.h"
#include "sc_simd.h"

static void
dense_init(struct sc_layer *l, struct sc_rng *rng)
{
	int n_in = (int)sc_shape_size(l->in[0]);
	/* He uniform: keeps the activation variance through ReLUs. */
	double bound = sqrt(6.0 / n_in);

	for (size_t j = 0; j < l->n_w; j++)
		l->w[j] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * bound);
	memset(l->b, 0, l->n_b * sizeof(float));
}

/* Samples lo..hi: y = x W^T + b.  With the next layer's ReLU folded in
 * (relu set), the output is then max(0, y), taken while the rows are in
 * cache, and the gradient arriving is the ReLU's, which counts where
 * that output is positive: the ReLU's passes and its parallel regions
 * are saved, with the same results bit for bit. */
static void
forward_rows(struct sc_layer *l, const float *x, float *y, long lo,
    long hi)
{
	int n_in = (int)sc_shape_size(l->in[0]), n_out = (int)l->n_b;

	if (hi <= lo)
		return;
	for (long r = lo; r < hi; r++)
		memcpy(y + (size_t)r * n_out, l->b, n_out * sizeof(float));
	sc_sgemm(0, 1, (int)(hi - lo), n_out, n_in, 1.0f, x + lo * n_in,
	    n_in, l->w, n_in, 1.0f, y + lo * n_out, n_out);
	if (l->relu)
		sc_relu_range(y, y, lo * n_out, hi * n_out);
}

static void
dense_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int n_in = (int)sc_shape_size(l->in[0]), n_out = (int)l->n_b;
	int parts = sc_threads();

	(void)train;
	/* sc_sgemm_par divides a product by rows where there are 16 a
	 * thread, as here; a smaller batch goes through it whole, so that
	 * the BLAS sees the same shapes and rounds the same way whether or
	 * not the ReLU is folded. */
	if (n < 16 * parts) {
		for (int r = 0; r < n; r++)
			memcpy(y + (size_t)r * n_out, l->b,
			    n_out * sizeof(float));
		sc_sgemm_par(0, 1, n, n_out, n_in, 1.0f, x[0], n_in, l->w,
		    n_in, 1.0f, y, n_out);
		if (l->relu)
			sc_relu_range(y, y, 0, (long)n * n_out);
		return;
	}
	#pragma omp parallel num_threads(parts)
	{
		long lo, hi;

		sc_share(n, &lo, &hi);
		forward_rows(l, x[0], y, lo, hi);
	}
}

static size_t
dense_work_size(const struct sc_layer *l, int max_batch)
{
	return l->relu ? (size_t)max_batch * l->n_b : 0;
}

static void
dense_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int n_in = (int)sc_shape_size(l->in[0]), n_out = (int)l->n_b;

	if (l->relu) {
		float *g = l->work;

		#pragma omp parallel num_threads(sc_threads())
		{
			long lo, hi;

			sc_share((long)n * n_out, &lo, &hi);
			sc_relu_grad_range(y, dy, g, lo, hi);
		}
		dy = g;
	}
	/* dW[o, i] += dy^T[o, n] x[n, i] */
	sc_sgemm_par(1, 0, n_out, n_in, n, 1.0f, dy, n_out, x[0], n_in, 1.0f,
	    l->dw, n_in);
	/* db[o] += sum over the batch of dy[., o] */
	for (int r = 0; r < n; r++) {
		const float *row = dy + (size_t)r * n_out;

		for (int o = 0; o < n_out; o++)
			l->db[o] += row[o];
	}
	/* dx[n, i] = dy[n, o] W[o, i] */
	if (dx[0] != NULL)
		sc_sgemm_par(0, 0, n, n_in, n_out, 1.0f, dy, n_out, l->w,
		    n_in, 0.0f, dx[0], n_in);
}

static const struct sc_layer_ops dense_ops = {
	.kind = "dense",
	.init = dense_init,
	.forward = dense_forward,
	.backward = dense_backward,
	.work_size = dense_work_size,
	.takes_relu = 1,
};

int
sc_dense_setup(struct sc_layer *l, struct sc_shape in, int n_out)
{
	if (n_out < 1)
		return sc_fail("dense: %d outputs", n_out);
	l->ops = &dense_ops;
	l->in[0] = in;
	l->out = (struct sc_shape){ n_out, 1, 1 };
	l->n_w = (size_t)n_out * sc_shape_size(in);
	l->n_b = (size_t)n_out;
	return 0;
}
