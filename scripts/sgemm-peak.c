/*
 * sgemm-peak - the single-precision matrix product rate that superconv's
 * matrix door (sc_sgemm_par) reaches on this machine, for `make bench`.
 *
 * usage: sgemm-peak [THREADS [N]]   (default: every core, N = 2048)
 * Prints the best GFLOP/s of several C = A B products of N x N matrices.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sc_blas.h"
#include "sc_error.h"
#include "sc_opt.h"

int
main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 0;
	int n = argc > 2 ? atoi(argv[2]) : 2048;
	float *a, *b, *c;
	double best = 0.0;

	if (n < 16 || sc_blas_init(threads) < 0) {
		fprintf(stderr, "sgemm-peak: %s\n", n < 16 ? "N too small" :
		    sc_error());
		return 1;
	}
	a = malloc((size_t)n * n * sizeof(float));
	b = malloc((size_t)n * n * sizeof(float));
	c = malloc((size_t)n * n * sizeof(float));
	if (a == NULL || b == NULL || c == NULL) {
		fprintf(stderr, "sgemm-peak: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < (size_t)n * n; i++) {
		a[i] = (float)(i % 7) * 0.1f;
		b[i] = (float)(i % 5) * 0.1f;
	}
	for (int r = 0; r < 6; r++) {
		double t0 = sc_seconds(), rate;

		sc_sgemm_par(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		rate = 2.0 * n * n * (double)n / (sc_seconds() - t0) / 1e9;
		best = rate > best ? rate : best;
	}
	printf("%.1f\n", best);
	free(a);
	free(b);
	free(c);
	return 0;
}
