/*
 * SGD with momentum and weight decay, as PyTorch's torch.optim.SGD
 * computes it.  The update is a pass over every parameter, its gradient
 * and its velocity; each thread updates one run of them, and clears the
 * gradient it has read, which saves the next step a pass to zero it.
 */
#include "sc_optim.h"
#include "sc_simd.h"

SC_HOT static void
update_range(float *restrict theta, float *restrict grad,
    float *restrict velocity, long lo, long hi, float lr, float momentum,
    float wd, int nesterov)
{
	if (nesterov) {
		for (long j = lo; j < hi; j++) {
			float g = grad[j] + wd * theta[j];
			float v = momentum * velocity[j] + g;

			grad[j] = 0.0f;
			velocity[j] = v;
			theta[j] -= lr * (g + momentum * v);
		}
		return;
	}
	for (long j = lo; j < hi; j++) {
		float v = momentum * velocity[j] + grad[j] + wd * theta[j];

		grad[j] = 0.0f;
		velocity[j] = v;
		theta[j] -= lr * v;
	}
}

void
sc_sgd_update(const struct sc_sgd *opt, float *restrict theta,
    float *restrict grad, float *restrict velocity, size_t n, float lr,
    float momentum)
{
	#pragma omp parallel
	{
		long lo, hi;

		sc_share((long)n, &lo, &hi);
		update_range(theta, grad, velocity, lo, hi, lr, momentum,
		    opt->weight_decay, opt->nesterov);
	}
}
