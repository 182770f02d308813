/*
 * OpenBLAS picks its kernels from the CPU model when it is loaded, and
 * Debian's 0.3.21 does not know recent Intel models: it falls back to SSE3
 * kernels several times slower than the AVX-512 ones.  It reads the
 * OPENBLAS_CORETYPE environment variable only in its load-time
 * constructor, so superconv does not link it: sc_blas_init sets the
 * variable from the CPU's features (unless the user set it) and only then
 * opens the library.
 */
#include <dlfcn.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

#include "sc_blas.h"
#include "sc_error.h"
#include "sc_simd.h"

/* CBLAS enum values, fixed by the CBLAS standard. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float,
    const float *, int, const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);

static void *blas_handle;
static sgemm_fn blas_sgemm;
static int n_threads_set = 1;
static const char *blas_core = "unknown";

/* AVX-512 with the byte and 128/256-bit forms (F, BW, VL). */
static int
has_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl");
}

static const char *
pick_core(void)
{
	if (has_avx512())
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
	return NULL;
}

static int portable;

int
sc_simd_masks(void)
{
#ifdef SC_MASKS
	return !portable && has_avx512();
#else
	return 0;
#endif
}

void
sc_simd_portable(int on)
{
	portable = on;
}

static void *
open_openblas(void)
{
	static const char *names[] = {
		"libopenblas.so.0", "libopenblas.so",
		"libopenblasp.so.0", NULL,
	};
	void *h = NULL;

	for (int i = 0; names[i] != NULL && h == NULL; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	return h;
}

int
sc_blas_init(int n_threads)
{
	const char *core;
	set_threads_fn set_threads;

	if (blas_handle == NULL) {
		core = getenv("OPENBLAS_CORETYPE");
		if (core == NULL || *core == '\0') {
			core = pick_core();
			if (core != NULL)
				setenv("OPENBLAS_CORETYPE", core, 1);
		}
		blas_core = core != NULL ? core : "default";

		blas_handle = open_openblas();
		if (blas_handle == NULL)
			return sc_fail("cannot load OpenBLAS: %s (install "
			    "libopenblas0)", dlerror());
		blas_sgemm = (sgemm_fn)dlsym(blas_handle, "cblas_sgemm");
		if (blas_sgemm == NULL)
			return sc_fail("OpenBLAS has no cblas_sgemm");
	}

	if (n_threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		n_threads = n > 0 ? (int)n : 1;
	}
	/* OpenBLAS computes in whichever of our threads calls it. */
	set_threads = (set_threads_fn)dlsym(blas_handle,
	    "openblas_set_num_threads");
	if (set_threads != NULL)
		set_threads(1);
	omp_set_num_threads(n_threads);
	omp_set_dynamic(0);
	n_threads_set = n_threads;
	return 0;
}

void
sc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc)
{
	blas_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS,
	    trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb,
	    beta, c, ldc);
}

void
sc_sgemm_piece(int trans_a, int m, int n, int part, int parts, long *r0,
    long *r1, long *c0, long *c1)
{
	int rows_ok = m >= 16 * parts, cols_ok = n >= 16 * parts;

	*r0 = 0, *r1 = m, *c0 = 0, *c1 = n;
	if (parts == 1 || (!rows_ok && !cols_ok)) {
		if (part != 0)
			*r1 = 0;
	} else if (rows_ok && (trans_a || !cols_ok))
		sc_split(m, part, parts, r0, r1);
	else
		sc_split(n, part, parts, c0, c1);
}

void
sc_sgemm_block(int trans_a, int trans_b, int k, float alpha, const float *a,
    int lda, const float *b, int ldb, float beta, float *c, int ldc,
    long r0, long r1, long c0, long c1)
{
	if (r1 <= r0 || c1 <= c0)
		return;
	/* Rows r0..r1 of C are rows of op(A), columns c0..c1 columns of
	 * op(B). */
	sc_sgemm(trans_a, trans_b, (int)(r1 - r0), (int)(c1 - c0), k, alpha,
	    trans_a ? a + r0 : a + r0 * lda, lda,
	    trans_b ? b + c0 * ldb : b + c0, ldb, beta, c + r0 * ldc + c0,
	    ldc);
}

void
sc_sgemm_par(int trans_a, int trans_b, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc)
{
	int parts = n_threads_set;

	if (parts == 1 || (m < 16 * parts && n < 16 * parts)) {
		sc_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
		    beta, c, ldc);
		return;
	}
	#pragma omp parallel num_threads(parts)
	{
		long r0, r1, c0, c1;

		sc_sgemm_piece(trans_a, m, n, omp_get_thread_num(), parts,
		    &r0, &r1, &c0, &c1);
		sc_sgemm_block(trans_a, trans_b, k, alpha, a, lda, b, ldb,
		    beta, c, ldc, r0, r1, c0, c1);
	}
}

void
sc_split(long n, int part, int parts, long *lo, long *hi)
{
	long base = n / parts, extra = n % parts;

	*lo = part * base + (part < extra ? part : extra);
	*hi = *lo + base + (part < extra ? 1 : 0);
}

const char *
sc_blas_core(void)
{
	return blas_core;
}

int
sc_threads(void)
{
	return n_threads_set;
}
