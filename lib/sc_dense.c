/*
 * Fully connected layer: y[n, o] = x[n, i] W[o, i]^T + b[o], each sample
 * taken as one flat row.  W is stored with one row per output.
 */
#include <math.h>
#include <omp.h>
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

/* y = x W^T + b, block by block as sc_sgemm_par would share it out:
 * each thread sets its block of y to the bias, adds the product, and,
 * with the next layer's ReLU folded in (relu set), takes max(0, y)
 * while the block is in cache.  The gradient arriving is then the
 * ReLU's, which counts where that output is positive: the ReLU's
 * passes and parallel regions are saved, with the same results bit for
 * bit. */
static void
dense_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int n_in = (int)sc_shape_size(l->in[0]), n_out = (int)l->n_b;
	int parts = sc_threads();

	(void)train;
	#pragma omp parallel num_threads(parts)
	{
		long r0, r1, c0, c1;

		sc_sgemm_piece(0, n, n_out, omp_get_thread_num(), parts, &r0,
		    &r1, &c0, &c1);
		if (c1 > c0)
			for (long r = r0; r < r1; r++)
				memcpy(y + r * n_out + c0, l->b + c0,
				    (size_t)(c1 - c0) * sizeof(float));
		sc_sgemm_block(0, 1, n_in, 1.0f, x[0], n_in, l->w, n_in, 1.0f,
		    y, n_out, r0, r1, c0, c1);
		if (l->relu && c1 > c0)
			for (long r = r0; r < r1; r++)
				sc_relu_range(y, y, r * n_out + c0,
				    r * n_out + c1);
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
