/*
 * sc_rng.h - the seeded random number generator (xoshiro256**).
 *
 * One seed fixes initialisation, data order and sampling; the state is a
 * plain struct so that it can be copied and saved with a checkpoint.
 */
#ifndef SC_RNG_H
#define SC_RNG_H

#include <stddef.h>
#include <stdint.h>

struct sc_rng {
	uint64_t s[4];
};

/* Seed the generator; every seed, 0 included, gives a usable state. */
void sc_rng_seed(struct sc_rng *rng, uint64_t seed);

/* Next 64 random bits. */
uint64_t sc_rng_next(struct sc_rng *rng);

/* Uniform double in [0, 1). */
double sc_rng_uniform(struct sc_rng *rng);

/* Uniform integer in [0, n); n > 0. */
uint64_t sc_rng_below(struct sc_rng *rng, uint64_t n);

/* Standard normal deviate (Box-Muller, one value per call). */
double sc_rng_normal(struct sc_rng *rng);

/* Fisher-Yates shuffle of idx[0..n-1]. */
void sc_rng_shuffle(struct sc_rng *rng, uint32_t *idx, size_t n);

#endif
