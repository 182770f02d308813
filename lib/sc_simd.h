/*
 * sc_simd.h - the elementwise kernels' instruction sets.
 *
 * The loops over activations (batch norm, ReLU, pooling, the patch
 * copies of convolutions) are memory- and vector-bound.  Built for plain
 * x86-64 they would use 128-bit SSE2 only; marked SC_HOT, GCC compiles
 * each for AVX-512, AVX2 and the baseline, and the dynamic loader picks
 * the best the CPU has, once, when the program starts.  No flag and no
 * environment variable is involved, and a binary built on one machine
 * still runs on an older one.
 *
 * An SC_HOT function must not contain an OpenMP construct itself (GCC
 * would outline its body before cloning, and the outlined part would stay
 * baseline); each runs over a range [lo, hi) and is called from inside
 * a parallel region, with the thread's share from sc_share.
 *
 * For a given machine and thread count the results stay the same from
 * run to run; between machines with different vector units, the last
 * bits of sums may differ (fused multiply-adds, wider reductions).
 */
#ifndef SC_SIMD_H
#define SC_SIMD_H

#include <omp.h>
#include <string.h>

#include "sc_blas.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && !defined(SC_NO_CLONES)
#define SC_HOT __attribute__((target_clones("arch=x86-64-v4", \
    "arch=x86-64-v3", "default")))
#define SC_CLONES 1
#else
#define SC_HOT
#define SC_CLONES 0
#endif

/*
 * A few kernels need what the vector extensions cannot say: AVX-512's
 * write masks, loads under a mask, and byte compares that give masks
 * (the first convolution's fold in sc_conv.c).  Where SC_CLONES is
 * set they are also written with intrinsics in SC_MASKS functions,
 * which run only when sc_simd_masks() says so; the portable kernel
 * stays for other CPUs, and for the tests, which call
 * sc_simd_portable(1) to check it on this one.
 */
#if SC_CLONES
#define SC_MASKS __attribute__((target("avx512f,avx512bw,avx512vl")))
#endif

/* Whether the SC_MASKS kernels run: the CPU has AVX-512 F, BW and VL,
 * the build has them, and sc_simd_portable(1) has not turned them off. */
int sc_simd_masks(void);
void sc_simd_portable(int on);

/*
 * Sixteen floats, for the kernels that name their vectors rather than
 * leave the loops to the vectoriser (which kept some sums in memory):
 * one AVX-512 register in the AVX-512 clone, two or four narrower ones
 * in the others.  Loads and stores go through memcpy, which compiles to
 * one unaligned move.  They are always inlined, so GCC's note that
 * passing such vectors changes the ABI does not apply (the Makefile
 * turns it off with -Wno-psabi).
 */
typedef float sc_vf __attribute__((vector_size(64)));
typedef int sc_vi __attribute__((vector_size(64)));

static inline __attribute__((always_inline)) sc_vf
sc_vload(const float *p)
{
	sc_vf v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline __attribute__((always_inline)) void
sc_vstore(float *p, sc_vf v)
{
	memcpy(p, &v, sizeof(v));
}

/* g where y > 0, else 0 (also where y is NaN), lane by lane. */
static inline __attribute__((always_inline)) sc_vf
sc_vpositive(sc_vf y, sc_vf g)
{
	sc_vf zero = { 0.0f };

	return (sc_vf)((sc_vi)g & (y > zero));
}

/* The calling thread's share [*lo, *hi) of n items, inside a parallel
 * region. */
static inline void
sc_share(long n, long *lo, long *hi)
{
	sc_split(n, omp_get_thread_num(), omp_get_num_threads(), lo, hi);
}

#endif
