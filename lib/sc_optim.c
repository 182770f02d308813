#include "sc_optim.h"

void
sc_sgd_update(const struct sc_sgd *opt, float *restrict theta,
    const float *restrict grad, float *restrict velocity, size_t n, float lr, float momentum)
{
	float wd = opt->weight_decay;

	if (opt->nesterov) {
		#pragma omp parallel for schedule(static)
		for (size_t j = 0; j < n; j++) {
			float g = grad[j] + wd * theta[j];
			float v = momentum * velocity[j] + g;

			velocity[j] = v;
			theta[j] -= lr * (g + momentum * v);
		}
		return;
	}
	#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < n; j++) {
		float v = momentum * velocity[j] + grad[j] + wd * theta[j];

		velocity[j] = v;
		theta[j] -= lr * v;
	}
}
