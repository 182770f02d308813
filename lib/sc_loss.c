/* Softmax cross-entropy, the loss every classifier here is trained on. */
#include <math.h>

#include "sc_nn.h"

double
sc_softmax_xent(const float *logits, const uint8_t *labels, int n, int k,
    float *dlogits, int *n_correct)
{
	double total = 0.0;
	int correct = 0;

	for (int r = 0; r < n; r++) {
		const float *z = logits + (size_t)r * k;
		int best = 0;
		double zmax = z[0], sum = 0.0, log_sum;

		for (int j = 1; j < k; j++) {
			if (z[j] > z[best])
				best = j;
			if (z[j] > zmax)
				zmax = z[j];
		}
		for (int j = 0; j < k; j++)
			sum += exp((double)z[j] - zmax);
		log_sum = zmax + log(sum);
		total += log_sum - z[labels[r]];
		correct += best == labels[r];

		if (dlogits != NULL) {
			float *d = dlogits + (size_t)r * k;

			/* d mean-loss / dz = (softmax(z) - onehot) / n */
			for (int j = 0; j < k; j++) {
				double p = exp((double)z[j] - log_sum);

				d[j] = (float)((p - (j == labels[r])) / n);
			}
		}
	}
	if (n_correct != NULL)
		*n_correct = correct;
	return total / n;
}
