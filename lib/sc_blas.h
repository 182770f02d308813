/*
 * sc_blas.h - the one door to the matrix library, and the thread count.
 *
 * Every matrix product in superconv goes through sc_sgemm or
 * sc_sgemm_par, so the backend can change in this one place.  The
 * backend is OpenBLAS, loaded at run time by sc_blas_init so that its CPU
 * kernel can be chosen before the library starts (see sc_blas.c).
 *
 * Parallelism is superconv's own (OpenMP): OpenBLAS runs single-threaded
 * inside each of our threads, and work is split so that every output is
 * computed by one thread in a fixed order, which keeps results the same
 * from run to run for a given thread count.
 */
#ifndef SC_BLAS_H
#define SC_BLAS_H

/* The kernels split work between OpenMP threads; compiled without it
 * they would silently do part of it. */
#ifndef _OPENMP
#error "superconv is built with OpenMP: compile with -fopenmp"
#endif

/* Load the backend and set the thread count (0: all cores).
 * Returns 0, or -1 with a message when the library cannot be loaded. */
int sc_blas_init(int n_threads);

/* The thread count sc_blas_init set. */
int sc_threads(void);

/* This thread's share [*lo, *hi) of n items split into `parts` runs. */
void sc_split(long n, int part, int parts, long *lo, long *hi);

/* Row-major C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, where
 * op(X) is X^T when trans_x is nonzero.  lda, ldb, ldc are row strides.
 * Runs in the calling thread. */
void sc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc);

/* The same product on every thread.  Each computes one block of C,
 * rows [*r0, *r1) and columns [*c0, *c1), which sc_sgemm_piece gives;
 * a caller that works on its block before or after (a bias, a ReLU)
 * can call it inside its own parallel region and do the product with
 * sc_sgemm_block. */
void sc_sgemm_par(int trans_a, int trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc);

/* Thread `part` of `parts`' block of C[m,n] in sc_sgemm_par.  C is cut
 * by columns where there are 16 a thread, since each thread then packs
 * the smaller op(A) whole and only its share of op(B); when A is
 * transposed (a weight gradient, where op(A)'s rows are the outputs)
 * the rows are cut instead, which measured faster on such shapes.  A
 * product too small to share is all thread 0's; the others get an
 * empty block. */
void sc_sgemm_piece(int trans_a, int m, int n, int part, int parts,
    long *r0, long *r1, long *c0, long *c1);

/* sc_sgemm on the block rows [r0, r1), columns [c0, c1) of C. */
void sc_sgemm_block(int trans_a, int trans_b, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc, long r0, long r1, long c0, long c1);

/* The kernel family the backend runs ("SkylakeX", "Haswell", ...). */
const char *sc_blas_core(void);


#endif
