/*
 * sc_optim.h - stochastic gradient descent with momentum.
 */
#ifndef SC_OPTIM_H
#define SC_OPTIM_H

#include <stddef.h>

struct sc_sgd {
	float weight_decay;	/* coupled: added to the gradient */
	int nesterov;
};

/* One update of theta[n] with this update's learning rate and momentum,
 * as PyTorch's SGD does it:
 *   g = grad + wd * theta;  v = momentum * v + g;
 *   theta -= lr * (nesterov ? g + momentum * v : v).
 * The velocity starts at zero, so the first update uses v = g.  grad is
 * left all zeros, ready for the next step's sums, in the same pass. */
void sc_sgd_update(const struct sc_sgd *opt, float *restrict theta,
    float *restrict grad, float *restrict velocity, size_t n, float lr,
    float momentum);

#endif
