/*
 * sc_blas.h - the one door to the matrix library.
 *
 * Every matrix product in superconv goes through sc_sgemm, so the backend
 * can change in this one place.  The backend is OpenBLAS, loaded at run
 * time by sc_blas_init so that its CPU kernel can be chosen before the
 * library starts (see sc_blas.c).
 */
#ifndef SC_BLAS_H
#define SC_BLAS_H

/* Load the backend and set its thread count (0: all cores).
 * Returns 0, or -1 with a message when the library cannot be loaded. */
int sc_blas_init(int n_threads);

/* Row-major C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, where
 * op(X) is X^T when trans_x is nonzero.  lda, ldb, ldc are row strides. */
void sc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc);

/* The kernel family the backend runs ("SkylakeX", "Haswell", ...). */
const char *sc_blas_core(void);

/* Threads the backend uses. */
int sc_blas_threads(void);

#endif
