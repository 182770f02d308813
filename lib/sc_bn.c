/*
 * Batch normalisation over the channels of NHWC activations.
 *
 * Training: each channel is normalised with the mean and (biased)
 * variance of its M = n * h * w values in the batch, then scaled by gamma
 * (w) and shifted by beta (b); the running averages used for scoring move
 * towards the batch's statistics by `momentum`, the variance unbiased
 * (M / (M - 1)) as PyTorch keeps it.  Scoring uses the running averages.
 * priv keeps the batch's mean and 1/sqrt(var + eps) for the backward.
 */
#include <math.h>
#include <string.h>

#include "sc_error.h"
#include "sc_nn.h"

static size_t
bn_priv_size(const struct sc_layer *l, int max_batch)
{
	(void)max_batch;
	return 2 * (size_t)l->out.c;
}

static void
bn_init(struct sc_layer *l, struct sc_rng *rng)
{
	int C = l->out.c;

	(void)rng;
	for (int c = 0; c < C; c++) {
		l->w[c] = 1.0f;
		l->b[c] = 0.0f;
		l->state[c] = 0.0f;		/* running mean */
		l->state[C + c] = 1.0f;		/* running variance */
	}
}

static void
bn_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int C = l->out.c;
	size_t M = (size_t)n * l->out.h * l->out.w;
	float *mean = l->priv, *invstd = l->priv + C;
	const float *in = x[0];

	l->train = train;
	if (train) {
		double sum[C], sq[C];

		memset(sum, 0, sizeof(sum));
		memset(sq, 0, sizeof(sq));
		for (size_t r = 0; r < M; r++)
			for (int c = 0; c < C; c++) {
				double v = in[r * C + c];

				sum[c] += v;
				sq[c] += v * v;
			}
		for (int c = 0; c < C; c++) {
			double mu = sum[c] / M;
			double var = sq[c] / M - mu * mu;

			if (var < 0.0)
				var = 0.0;
			mean[c] = (float)mu;
			invstd[c] = (float)(1.0 / sqrt(var + l->eps));
			l->state[c] += l->momentum * ((float)mu - l->state[c]);
			l->state[C + c] += l->momentum * ((float)(M > 1 ?
			    var * M / (M - 1) : var) - l->state[C + c]);
		}
	} else {
		for (int c = 0; c < C; c++) {
			mean[c] = l->state[c];
			invstd[c] = 1.0f / sqrtf(l->state[C + c] + l->eps);
		}
	}
	for (size_t r = 0; r < M; r++)
		for (int c = 0; c < C; c++)
			y[r * C + c] = (in[r * C + c] - mean[c]) * invstd[c] *
			    l->w[c] + l->b[c];
}

/* With xhat = (x - mean) * invstd:
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma * invstd / M * (M dy - dbeta - xhat * dgamma)
 * after a training pass, where mean and invstd depend on x; after a
 * scoring pass they are constants and dx = gamma * invstd * dy. */
static void
bn_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int C = l->out.c;
	size_t M = (size_t)n * l->out.h * l->out.w;
	const float *mean = l->priv, *invstd = l->priv + C, *in = x[0];
	double dbeta[C], dgamma[C];

	(void)y;
	memset(dbeta, 0, sizeof(dbeta));
	memset(dgamma, 0, sizeof(dgamma));
	for (size_t r = 0; r < M; r++)
		for (int c = 0; c < C; c++) {
			double xhat = (in[r * C + c] - mean[c]) * invstd[c];

			dbeta[c] += dy[r * C + c];
			dgamma[c] += dy[r * C + c] * xhat;
		}
	for (int c = 0; c < C; c++) {
		l->db[c] += (float)dbeta[c];
		l->dw[c] += (float)dgamma[c];
	}
	if (dx[0] == NULL)
		return;
	if (!l->train) {
		for (size_t r = 0; r < M; r++)
			for (int c = 0; c < C; c++)
				dx[0][r * C + c] = dy[r * C + c] * l->w[c] *
				    invstd[c];
		return;
	}
	for (size_t r = 0; r < M; r++)
		for (int c = 0; c < C; c++) {
			double xhat = (in[r * C + c] - mean[c]) * invstd[c];
			double g = (double)M * dy[r * C + c] - dbeta[c] -
			    xhat * dgamma[c];

			dx[0][r * C + c] = (float)(l->w[c] * invstd[c] * g /
			    (double)M);
		}
}

static const struct sc_layer_ops bn_ops = {
	.kind = "batchnorm",
	.init = bn_init,
	.forward = bn_forward,
	.backward = bn_backward,
	.priv_size = bn_priv_size,
};

int
sc_bn_setup(struct sc_layer *l, struct sc_shape in, float momentum,
    float eps)
{
	if (!(momentum > 0.0f && momentum <= 1.0f) || !(eps > 0.0f))
		return sc_fail("batchnorm: momentum %g must be in (0, 1] and "
		    "eps %g > 0", momentum, eps);
	l->ops = &bn_ops;
	l->in[0] = in;
	l->out = in;
	l->n_w = l->n_b = (size_t)in.c;
	l->n_state = 2 * (size_t)in.c;
	l->momentum = momentum;
	l->eps = eps;
	return 0;
}
