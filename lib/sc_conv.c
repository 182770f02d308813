/*
 * 2-D convolution on NHWC activations, as matrix products.
 *
 * The k x k patches of a chunk of samples are laid out as rows, one per
 * output pixel (im2col): col[P, k*k*C] with P = samples * OH * OW and the
 * columns in (kh, kw, c) order.  Then
 *   forward:   y[P, F]      = col[P, kkC] W[F, kkC]^T (+ b)
 *   backward:  dW[F, kkC]  += dy[P, F]^T col[P, kkC]
 *              dcol[P, kkC] = dy[P, F] W[F, kkC], summed back into dx.
 * A 1x1 convolution with stride 1 and no padding needs no patches: x is
 * already col.  Chunks keep the patch buffer within CONV_WORK floats.
 *
 * When a patch is short (kkC <= DIRECT_MAX, as in a first layer on one
 * or three input channels), the product would be a long, thin matrix
 * product that the BLAS runs far below its peak, after a patch copy per
 * input value.  Such layers run direct loops instead, along the filters
 * of each output pixel, with the weights transposed to Wt[kkC, F].
 * 3x3 layers on one channel (a first layer on grayscale images) with a
 * multiple of 16 filters run loops of their own, which keep the weights
 * in registers (is_mono); when such a layer does the batch norm after it,
 * and the pool after that, see fold_forward.
 * Layers of up to 32 filters run the direct loops forward too, and
 * those of 16 or 32 their weight gradient as well (is_narrow).  3x3
 * layers of stride 1 with 16 or more channels and filters run
 * Winograd's F(4x4, 3x3) instead (sc_wino.c).
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "sc_blas.h"
#include "sc_error.h"
#include "sc_nn.h"
#include "sc_simd.h"
#include "sc_wino.h"

#if SC_CLONES
#include <immintrin.h>
#endif

/*
 * Floats of patches per chunk (1 MiB), so that the patches stay in the
 * second-level cache between im2col and the product that reads them.
 * resnet8's stride-2 32->64 layer, 200 batches on two threads: 0.19 s
 * forward and 0.31 s backward, against 0.23 s and 0.35 s with 16 MiB;
 * 256 and 512 KiB did the same as 1 MiB.
 */
#define CONV_WORK (1u << 18)
#define DIRECT_MAX 32		/* longest patch run by the direct loops */
#define NARROW_MAX 32		/* most filters whose forward runs them */
#define WINO_MIN 16		/* fewest channels and filters for Winograd */

static size_t
patch_len(const struct sc_layer *l)
{
	return (size_t)l->k * l->k * l->in[0].c;
}

static size_t
out_pixels(const struct sc_layer *l)
{
	return (size_t)l->out.h * l->out.w;
}

static int
is_pointwise(const struct sc_layer *l)
{
	return l->k == 1 && l->stride == 1 && l->pad == 0;
}

static int
is_direct(const struct sc_layer *l)
{
	return !is_pointwise(l) && patch_len(l) <= DIRECT_MAX;
}

/*
 * 3x3 layers of stride 1 and padding 1 with enough channels and filters
 * run Winograd's F(4x4, 3x3) (sc_wino.c): 4 times fewer multiply-adds.
 * At 16 channels and filters it wins clearly (resnet8's first stage, 200
 * batches: 0.33 s against 0.49 s for the direct loops forward, 0.41 s
 * against 0.70 s backward); below that the transforms would cost about
 * as much as they save.
 */
static int
is_winograd(const struct sc_layer *l)
{
	return sc_wino_fits(l) && !is_direct(l) && l->in[0].c >= WINO_MIN &&
	    l->out.c >= WINO_MIN;
}

/* Few filters make the product's result matrix too narrow for the BLAS
 * as well; the direct loops run the forward pass of such layers, and the
 * matrix products their backward. */
static int
is_direct_forward(const struct sc_layer *l)
{
	return is_direct(l) || (!is_pointwise(l) && !is_winograd(l) &&
	    l->out.c <= NARROW_MAX);
}

/*
 * With stride 1, dx is itself a convolution: of dy, bordered by
 * K - 1 - pad, with the filters flipped and their channels swapped.  When
 * the forward runs the direct loops, so does that one (with F input
 * channels the matrix product dcol = dy W would have an inner dimension
 * of only F).
 */
static int
is_transposed_dx(const struct sc_layer *l)
{
	return !is_direct(l) && is_direct_forward(l) && l->stride == 1;
}

/* A layer of 16 or 32 filters whose forward runs the direct loops and
 * whose patch length is a whole number of groups of taps(F) values
 * computes dW by direct loops too, from the bordered sample and dy,
 * without patches; taps(F) x F sums make 8 AVX-512 registers, and
 * twice as many taps, 16, where the patch length allows (resnet8's
 * stride-2 16->32 layer, 200 batches: 0.345 s backward against 0.36 s).  At
 * stride 1, dx is the transposed convolution, and the backward pass needs
 * no patches at all; at other strides dx is the matrix product
 * dcol = dy W added back by col2im, a few samples at a time. */
static int
taps(int width)
{
	return 128 / width;
}

static int
is_narrow(const struct sc_layer *l)
{
	int F = l->out.c;

	return !is_direct(l) && is_direct_forward(l) && (F == 16 || F == 32) &&
	    patch_len(l) % taps(F) == 0;
}

/* Samples per chunk of dcol for a narrow layer of stride > 1: about
 * NARROW_DCOL floats. */
#define NARROW_DCOL (1u << 16)

static int
dcol_samples(const struct sc_layer *l, int max_batch)
{
	size_t n = NARROW_DCOL / (out_pixels(l) * patch_len(l));

	if (n < 1)
		n = 1;
	return n < (size_t)max_batch ? (int)n : max_batch;
}

/* The layer whose forward pass computes dx from dy. */
static struct sc_layer
transposed(const struct sc_layer *l)
{
	struct sc_layer t = *l;

	t.in[0] = l->out;
	t.out = l->in[0];
	t.stride = 1;
	t.pad = l->k - 1 - l->pad;
	t.n_b = 0;
	return t;
}

/* Its weights, as transpose_weights lays them out: for tap (kh, kw) and
 * input channel f, output channel c: W[f, K-1-kh, K-1-kw, c]. */
static void
transposed_weights(const struct sc_layer *l, float *wt)
{
	int K = l->k, C = l->in[0].c, F = l->out.c;

	for (int kh = 0; kh < K; kh++)
		for (int kw = 0; kw < K; kw++)
			for (int f = 0; f < F; f++)
				for (int c = 0; c < C; c++)
					wt[(((size_t)kh * K + kw) * F + f) * C +
					    c] = l->w[(((size_t)f * K + K - 1 -
					    kh) * K + K - 1 - kw) * C + c];
}

static size_t
round16(size_t n)
{
	return (n + 15) / 16 * 16;
}

/* Samples per chunk, at least one. */
static int
chunk_samples(const struct sc_layer *l, int max_batch)
{
	size_t per = out_pixels(l) * patch_len(l);
	size_t n = per > 0 ? CONV_WORK / per : (size_t)max_batch;

	if (n < 1)
		n = 1;
	return n < (size_t)max_batch ? (int)n : max_batch;
}

/* n floats from src to dst, or zeros when src is NULL.  The runs are
 * short (K * C floats) and many, so they go 16 floats at a time, copies
 * of a constant size that GCC makes single vector moves, rather than
 * through a call to memcpy each. */
static inline __attribute__((always_inline)) void
copy_run(float *restrict dst, const float *restrict src, size_t n)
{
	size_t i = 0;

	if (src == NULL) {
		for (; i + 16 <= n; i += 16)
			memset(dst + i, 0, 16 * sizeof(float));
		for (; i < n; i++)
			dst[i] = 0.0f;
		return;
	}
	for (; i + 16 <= n; i += 16)
		memcpy(dst + i, src + i, 16 * sizeof(float));
	for (; i < n; i++)
		dst[i] = src[i];
}

/* Row kh of a patch, whose first column is input column iw0 (negative
 * or past the right edge in the border): K * C floats, copied in one
 * run when the row lies inside the image. */
static inline __attribute__((always_inline)) void
patch_row(const float *restrict in_row, int iw0, int W, int K, int C,
    float *restrict dst)
{
	if (iw0 >= 0 && iw0 + K <= W) {
		copy_run(dst, in_row + (size_t)iw0 * C, (size_t)K * C);
		return;
	}
	for (int kw = 0; kw < K; kw++) {
		int iw = iw0 + kw;

		copy_run(dst + (size_t)kw * C, iw < 0 || iw >= W ? NULL :
		    in_row + (size_t)iw * C, C);
	}
}

SC_HOT static void
im2col(const struct sc_layer *l, const float *x, int n, float *col)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, K = l->k;
	size_t kkc = patch_len(l);

	for (int s = 0; s < n; s++) {
		const float *img = x + (size_t)s * H * W * C;

		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				float *row = col + (((size_t)s * OH + oh) *
				    OW + ow) * kkc;

				for (int kh = 0; kh < K; kh++) {
					int ih = oh * l->stride - l->pad + kh;
					float *dst = row + (size_t)kh * K * C;

					if (ih < 0 || ih >= H)
						copy_run(dst, NULL,
						    (size_t)K * C);
					else
						patch_row(img + (size_t)ih *
						    W * C, ow * l->stride -
						    l->pad, W, K, C, dst);
				}
			}
	}
}

/* The adjoint of im2col: add each patch row back into dx (zeroed here). */
SC_HOT static void
col2im(const struct sc_layer *l, const float *col, int n, float *dx)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, K = l->k;
	size_t kkc = patch_len(l);

	memset(dx, 0, (size_t)n * H * W * C * sizeof(float));
	for (int s = 0; s < n; s++) {
		float *img = dx + (size_t)s * H * W * C;

		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				const float *row = col + (((size_t)s * OH +
				    oh) * OW + ow) * kkc;

				for (int kh = 0; kh < K; kh++) {
					int ih = oh * l->stride - l->pad + kh;
					int iw0 = ow * l->stride - l->pad;
					const float *src = row + (size_t)kh *
					    K * C;
					float *dst = img + ((size_t)ih * W +
					    iw0) * C;

					if (ih < 0 || ih >= H)
						continue;
					/* Inside the image, the row is one
					 * run of K * C values. */
					if (iw0 >= 0 && iw0 + K <= W) {
						for (int j = 0; j < K * C; j++)
							dst[j] += src[j];
						continue;
					}
					for (int kw = 0; kw < K; kw++) {
						if (iw0 + kw < 0 ||
						    iw0 + kw >= W)
							continue;
						for (int c = 0; c < C; c++)
							dst[kw * C + c] +=
							    src[kw * C + c];
					}
				}
			}
	}
}

/* PyTorch's default: weights and biases uniform in +-1/sqrt(fan_in). */
static void
conv_init(struct sc_layer *l, struct sc_rng *rng)
{
	double bound = 1.0 / sqrt((double)patch_len(l));

	for (size_t j = 0; j < l->n_w; j++)
		l->w[j] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * bound);
	for (size_t j = 0; j < l->n_b; j++)
		l->b[j] = (float)((2.0 * sc_rng_uniform(rng) - 1.0) * bound);
}

/* A sample with its zero border: (H + 2 pad) x (W + 2 pad) x C. */
static size_t
padded_len(const struct sc_layer *l)
{
	return (size_t)(l->in[0].h + 2 * l->pad) * (l->in[0].w + 2 * l->pad) *
	    l->in[0].c;
}

/*
 * Work memory: the transposed weights Wt (direct loops only), then one
 * block per thread.  A thread's block holds, for the matrix products, the
 * patches and their gradient for a chunk; for the direct loops' backward,
 * its dWt, a bordered sample and the bordered gradient; and in every
 * case, last, its share of dW and db, which the threads then add up in a
 * fixed order.  A forward pass through the direct loops needs only a
 * bordered sample, at the start of the block, which is never smaller.
 * A layer doing its batch norm lays out its block as fold_block says.
 */
static size_t
shared_work(const struct sc_layer *l)
{
	if (is_winograd(l))
		return sc_wino_shared(l);
	return (is_direct_forward(l) + is_transposed_dx(l)) *
	    round16(l->n_w);
}

static size_t fold_block_len(const struct sc_layer *l);

/* Offset of the share of dW and db in a thread's block. */
static size_t
partial_offset(const struct sc_layer *l, int max_batch)
{
	struct sc_layer t = transposed(l);
	size_t patches;

	if (is_winograd(l))
		return round16(sc_wino_thread(l, max_batch));
	if (l->bn != NULL)
		return fold_block_len(l);
	if (is_direct(l))
		return round16(l->n_w) + 2 * round16(padded_len(l));
	if (is_narrow(l) && l->stride == 1)
		return round16(l->n_w) + round16(padded_len(l)) +
		    round16(padded_len(&t));
	if (is_narrow(l))
		return round16(l->n_w) + round16(padded_len(l)) +
		    round16((size_t)dcol_samples(l, max_batch) *
		    out_pixels(l) * patch_len(l));
	if (is_pointwise(l))
		return 0;
	patches = 2 * (size_t)chunk_samples(l, max_batch) * out_pixels(l) *
	    patch_len(l);
	if (patches < padded_len(l))
		patches = padded_len(l);
	if (is_transposed_dx(l) && patches < padded_len(&t))
		patches = padded_len(&t);
	return round16(patches);
}

static size_t
thread_work(const struct sc_layer *l, int max_batch)
{
	return round16(partial_offset(l, max_batch) + l->n_w + l->n_b);
}

static size_t
conv_work_size(const struct sc_layer *l, int max_batch)
{
	return shared_work(l) + (size_t)sc_threads() * thread_work(l,
	    max_batch);
}

static float *
thread_block(const struct sc_layer *l, int t)
{
	return l->work + shared_work(l) + (size_t)t * thread_work(l,
	    l->max_batch);
}

/* Wt[j, f] = W[f, j]. */
static void
transpose_weights(const struct sc_layer *l, float *wt)
{
	size_t kkc = patch_len(l);
	int F = l->out.c;

	for (int f = 0; f < F; f++)
		for (size_t j = 0; j < kkc; j++)
			wt[j * F + f] = l->w[(size_t)f * kkc + j];
}

/* Copy a sample into the middle of its bordered copy.  The border is
 * zeroed when `fresh` (the first sample of a range: the work memory
 * served other layers before); the later samples find it still zero,
 * as the loops only read pad. */
static inline __attribute__((always_inline)) void
add_border(const struct sc_layer *l, const float *restrict img,
    float *restrict pad, int fresh)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c, P = l->pad;
	size_t row = (size_t)(W + 2 * P) * C, n = (size_t)W * C;

	if (fresh)
		memset(pad, 0, padded_len(l) * sizeof(float));
	for (int h = 0; h < H; h++) {
		float *to = pad + (h + P) * row + (size_t)P * C;
		const float *from = img + (size_t)h * n;
		size_t i = 0;

		/* Rows of 16 values or more in vectors, the last one
		 * overlapping the one before: a call to memcpy a row
		 * cost as much as the copy. */
		if (n < 16) {
			memcpy(to, from, n * sizeof(float));
			continue;
		}
		for (; i + 16 <= n; i += 16)
			sc_vstore(to + i, sc_vload(from + i));
		if (i < n)
			sc_vstore(to + n - 16, sc_vload(from + n - 16));
	}
}

/*
 * The direct loops work on blocks of BLOCK filters; a whole block sums in
 * acc, which the compiler keeps in vector registers.  On the bordered
 * sample, row kh of a patch is K * C consecutive values, so the loops
 * need no bounds checks.
 */
#define BLOCK 16

/* Filters f0 .. f0 + nf - 1 of the output pixel whose patch starts at
 * v (row stride `row`): out = b + patch * Wt. */
static inline __attribute__((always_inline)) void
direct_pixel(const struct sc_layer *l, const float *restrict v, size_t row,
    const float *restrict wt, int f0, int nf, float *restrict out)
{
	int F = l->out.c, K = l->k, KC = l->k * l->in[0].c;
	float acc[BLOCK];

	if (nf == BLOCK) {
		for (int f = 0; f < BLOCK; f++)
			acc[f] = l->n_b > 0 ? l->b[f0 + f] : 0.0f;
		for (int kh = 0; kh < K; kh++)
			for (int j = 0; j < KC; j++) {
				const float *w = wt + (size_t)(kh * KC + j) *
				    F + f0;
				float a = v[kh * row + j];

				for (int f = 0; f < BLOCK; f++)
					acc[f] += a * w[f];
			}
		for (int f = 0; f < BLOCK; f++)
			out[f] = acc[f];
		return;
	}
	for (int f = 0; f < nf; f++)
		out[f] = l->n_b > 0 ? l->b[f0 + f] : 0.0f;
	for (int kh = 0; kh < K; kh++)
		for (int j = 0; j < KC; j++) {
			const float *w = wt + (size_t)(kh * KC + j) * F + f0;
			float a = v[kh * row + j];

			for (int f = 0; f < nf; f++)
				out[f] += a * w[f];
		}
}

/* pix neighbouring output pixels of one row at once, whose patches start
 * `step` floats apart, share each weight load: out[p] = b + patch_p * Wt
 * for filters f0 .. f0 + width - 1.  width (16, 32 or 64) and pix (4, or
 * 8 with 16 filters; 1 to 3 for the last pixels of a row) are constants
 * where this is inlined; pix x width sums fill 8 or 16 of the 32 vector
 * registers of AVX-512, enough independent sums to keep both FMA units
 * busy.  (Eight pixels of 32
 * filters measured slower: 0.37 s against 0.28 s for cnn's first layer.) */
#define MAX_PIX 8
#define WIDE 64

static inline __attribute__((always_inline)) void
direct_pixels(const struct sc_layer *l, const float *restrict v,
    size_t step, size_t row, const float *restrict wt, int f0,
    float *restrict out, const int width, const int pix)
{
	int F = l->out.c, K = l->k, KC = l->k * l->in[0].c;
	float acc[MAX_PIX][WIDE];

	/* Unrolled, so that acc lives in registers; the test on the bias
	 * stays outside the loops, which would otherwise load it masked. */
	if (l->n_b > 0) {
		#pragma GCC unroll 8
		for (int p = 0; p < pix; p++)
			for (int f = 0; f < width; f++)
				acc[p][f] = l->b[f0 + f];
	} else {
		#pragma GCC unroll 8
		for (int p = 0; p < pix; p++)
			for (int f = 0; f < width; f++)
				acc[p][f] = 0.0f;
	}
	for (int kh = 0; kh < K; kh++)
		for (int j = 0; j < KC; j++) {
			const float *w = wt + (size_t)(kh * KC + j) * F + f0;
			const float *a = v + kh * row + j;

			#pragma GCC unroll 8
			for (int p = 0; p < pix; p++)
				for (int f = 0; f < width; f++)
					acc[p][f] += a[p * step] * w[f];
		}
	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		for (int f = 0; f < width; f++)
			out[(size_t)p * F + f] = acc[p][f];
}

/* direct_pixels for a width and pix known here, so that each pair is
 * compiled with its constants. */
#define PIXELS_CASE(w, p) \
	case p: \
		direct_pixels(l, v, step, row, wt, f0, out + f0, w, p); \
		break

static inline __attribute__((always_inline)) void
direct_width(const struct sc_layer *l, const float *restrict v,
    size_t step, size_t row, const float *restrict wt, int f0,
    float *restrict out, const int width, int pix)
{
	switch (pix) {
	PIXELS_CASE(width, 8);
	PIXELS_CASE(width, 4);
	PIXELS_CASE(width, 3);
	PIXELS_CASE(width, 2);
	PIXELS_CASE(width, 1);
	}
}

/* The filters of pix (8 with 16 filters a block, else up to 4) output
 * pixels, width at a time. */
static inline __attribute__((always_inline)) void
direct_block(const struct sc_layer *l, const float *restrict v,
    size_t step, size_t row, const float *restrict wt,
    float *restrict out, int width, int pix)
{
	for (int f0 = 0; f0 < l->out.c; f0 += width)
		if (width == 64)
			direct_width(l, v, step, row, wt, f0, out, 64, pix);
		else if (width == 32)
			direct_width(l, v, step, row, wt, f0, out, 32, pix);
		else
			direct_width(l, v, step, row, wt, f0, out, 16, pix);
}

/* The widest of 64, 32 and 16 that divides n, or 0. */
static int
block_width(int n)
{
	return n % 64 == 0 ? 64 : n % 32 == 0 ? 32 : n % 16 == 0 ? 16 : 0;
}

/* The direct loops over samples lo..hi: y = x * W (+ b); pad holds a
 * bordered sample. */
SC_HOT static void
direct_forward(const struct sc_layer *l, const float *restrict x,
    const float *restrict wt, float *restrict y, long lo, long hi,
    float *restrict pad)
{
	int OH = l->out.h, OW = l->out.w, F = l->out.c, C = l->in[0].c;
	int width = block_width(F);
	size_t in_len = sc_shape_size(l->in[0]);
	size_t row = (size_t)(l->in[0].w + 2 * l->pad) * C;
	size_t step = (size_t)l->stride * C;

	for (long s = lo; s < hi; s++) {
		add_border(l, x + s * in_len, pad, s == lo);
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ) {
				const float *v = pad + (size_t)oh *
				    l->stride * row + (size_t)ow * l->stride *
				    C;
				float *out = y + (((size_t)s * OH + oh) * OW +
				    ow) * F;
				int left = OW - ow;
				int np = width == 0 ? 1 : width == 16 &&
				    left >= 8 ? 8 : left >= 4 ? 4 : left;

				if (width > 0)
					direct_block(l, v, step, row, wt, out,
					    width, np);
				for (int f0 = 0; width == 0 && f0 < F;
				    f0 += BLOCK) {
					int nf = F - f0 < BLOCK ? F - f0 :
					    BLOCK;

					direct_pixel(l, v, row, wt, f0, nf,
					    out + f0);
				}
				ow += np;
			}
	}
}

/* sum[f] += g[r, f] over rows r < P for `width` columns (a constant
 * where this is inlined), whose sums stay in registers. */
static inline __attribute__((always_inline)) void
add_rows_width(const float *restrict g, int P, int F, float *restrict sum,
    const int width)
{
	float acc[64];

	for (int f = 0; f < width; f++)
		acc[f] = 0.0f;
	for (int r = 0; r < P; r++)
		for (int f = 0; f < width; f++)
			acc[f] += g[(size_t)r * F + f];
	for (int f = 0; f < width; f++)
		sum[f] += acc[f];
}

/* sum[f] += g[r, f] over rows r < P: the bias gradient.  Summed into
 * sum directly, each row would wait for the last row's store. */
SC_HOT static void
add_rows(const float *restrict g, int P, int F, float *restrict sum)
{
	int f0 = 0;

	for (; f0 + 64 <= F; f0 += 64)
		add_rows_width(g + f0, P, F, sum + f0, 64);
	if (f0 + 32 <= F) {
		add_rows_width(g + f0, P, F, sum + f0, 32);
		f0 += 32;
	}
	if (f0 + 16 <= F) {
		add_rows_width(g + f0, P, F, sum + f0, 16);
		f0 += 16;
	}
	for (int r = 0; f0 < F && r < P; r++)
		for (int f = f0; f < F; f++)
			sum[f] += g[(size_t)r * F + f];
}

/* dWt[j, f] += sum over the pixels of one sample of patch[j] * g[f], for
 * `width` filters (16 or 32), nt patch values at a time (taps(width) or
 * twice that; both constants where this is inlined), whose sums stay in
 * registers. */
static inline __attribute__((always_inline)) void
narrow_dw_sample(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, float *restrict dwt, const int width,
    const int nt)
{
	enum { MAX_TAPS = 16 };
	int OH = l->out.h, OW = l->out.w, C = l->in[0].c;
	int KC = l->k * C, kkc = (int)patch_len(l);
	size_t row = (size_t)(l->in[0].w + 2 * l->pad) * C;
	size_t step = (size_t)l->stride * C;

	for (int j0 = 0; j0 < kkc; j0 += nt) {
		float acc[MAX_TAPS][32];
		size_t off[MAX_TAPS];

		#pragma GCC unroll 16
		for (int q = 0; q < nt; q++) {
			off[q] = (size_t)((j0 + q) / KC) * row +
			    (size_t)((j0 + q) % KC);
			for (int f = 0; f < width; f++)
				acc[q][f] = 0.0f;
		}
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				const float *a = pad + oh * l->stride * row +
				    ow * step;
				const float *gv = g + ((size_t)oh * OW + ow) *
				    width;

				#pragma GCC unroll 16
				for (int q = 0; q < nt; q++)
					for (int f = 0; f < width; f++)
						acc[q][f] += a[off[q]] * gv[f];
			}
		#pragma GCC unroll 16
		for (int q = 0; q < nt; q++)
			for (int f = 0; f < width; f++)
				dwt[(size_t)(j0 + q) * width + f] +=
				    acc[q][f];
	}
}

/* dW and db of samples lo..hi of a narrow layer, into dwt (Wt's layout)
 * and db, zeroed here; pad holds a bordered sample. */
SC_HOT static void
narrow_dw(const struct sc_layer *l, const float *restrict x,
    const float *restrict dy, long lo, long hi, float *restrict dwt,
    float *restrict db, float *restrict pad)
{
	int OH = l->out.h, OW = l->out.w, F = l->out.c;
	int wide = patch_len(l) % (2 * taps(F)) == 0;
	size_t in_len = sc_shape_size(l->in[0]);

	memset(dwt, 0, l->n_w * sizeof(float));
	memset(db, 0, l->n_b * sizeof(float));
	for (long s = lo; s < hi; s++) {
		const float *g = dy + (size_t)s * OH * OW * F;

		add_border(l, x + s * in_len, pad, s == lo);
		if (l->n_b > 0)
			add_rows(g, OH * OW, F, db);
		if (F == 16 && wide)
			narrow_dw_sample(l, pad, g, dwt, 16, 2 * taps(16));
		else if (F == 16)
			narrow_dw_sample(l, pad, g, dwt, 16, taps(16));
		else if (wide)
			narrow_dw_sample(l, pad, g, dwt, 32, 2 * taps(32));
		else
			narrow_dw_sample(l, pad, g, dwt, 32, taps(32));
	}
}

/*
 * A first layer on one input channel (grayscale images), 3x3, with a
 * multiple of 16 filters: each output value is 9 multiply-adds, so the
 * general direct loops spend most of their time on loop control and
 * reloading weights.  These hold the 9 taps' weights of a block of 16
 * or 32 filters (mono_width) in registers while they sweep the whole
 * sample, and broadcast each input value into the sums of several
 * pixels; the weight gradient keeps its 9 x width sums in registers the
 * same way.
 */
#define MONO_TAPS 9
#define MONO_PIX 8

static int
is_mono(const struct sc_layer *l)
{
	return l->in[0].c == 1 && l->k == 3 && l->out.c % 16 == 0;
}

/* Filters of one block: 32 when they divide, else 16. */
static int
mono_width(const struct sc_layer *l)
{
	return l->out.c % 32 == 0 ? 32 : 16;
}

/* pix output pixels of one row, filters f0 .. f0 + width - 1, from the
 * bordered sample at v (rows `row` apart, pixels `step` apart), stored
 * at out (pixels F apart). */
static inline __attribute__((always_inline)) void
mono_pixels(const float *restrict v, size_t step, size_t row,
    const float wv[MONO_TAPS][32], const float bias[32],
    float *restrict out, int F, const int width, const int pix)
{
	float acc[MONO_PIX][32];

	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		for (int f = 0; f < width; f++)
			acc[p][f] = bias[f];
	#pragma GCC unroll 9
	for (int t = 0; t < MONO_TAPS; t++)
		#pragma GCC unroll 8
		for (int p = 0; p < pix; p++)
			for (int f = 0; f < width; f++)
				acc[p][f] += v[p * step + (size_t)(t / 3) *
				    row + t % 3] * wv[t][f];
	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		for (int f = 0; f < width; f++)
			out[(size_t)p * F + f] = acc[p][f];
}

/* One sample's outputs for filters f0 .. f0 + width - 1 (a constant
 * where this is inlined): whole blocks of pix pixels (8 for 16 filters,
 * 4 for 32, so that the sums fill 8 registers), then the rest of each
 * row in halving blocks. */
static inline __attribute__((always_inline)) void
mono_sample(const struct sc_layer *l, const float *restrict pad,
    const float *restrict wt, int f0, float *restrict y, const int width)
{
	int OH = l->out.h, OW = l->out.w, F = l->out.c;
	const int pix = width == 16 ? MONO_PIX : MONO_PIX / 2;
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	size_t step = (size_t)l->stride;
	float wv[MONO_TAPS][32], bias[32];

	for (int t = 0; t < MONO_TAPS; t++)
		for (int f = 0; f < width; f++)
			wv[t][f] = wt[(size_t)t * F + f0 + f];
	for (int f = 0; f < width; f++)
		bias[f] = l->n_b > 0 ? l->b[f0 + f] : 0.0f;
	for (int oh = 0; oh < OH; oh++) {
		const float *v = pad + (size_t)oh * l->stride * row;
		float *out = y + (size_t)oh * OW * F + f0;
		int ow = 0;

		for (; ow + pix <= OW; ow += pix)
			mono_pixels(v + ow * step, step, row, wv, bias,
			    out + (size_t)ow * F, F, width, pix);
		if (pix == 8 && ow + 4 <= OW) {
			mono_pixels(v + ow * step, step, row, wv, bias,
			    out + (size_t)ow * F, F, width, 4);
			ow += 4;
		}
		if (ow + 2 <= OW) {
			mono_pixels(v + ow * step, step, row, wv, bias,
			    out + (size_t)ow * F, F, width, 2);
			ow += 2;
		}
		if (ow < OW)
			mono_pixels(v + ow * step, step, row, wv, bias,
			    out + (size_t)ow * F, F, width, 1);
	}
}

/* The forward pass of samples lo..hi of a one-channel layer. */
SC_HOT static void
mono_forward(const struct sc_layer *l, const float *restrict x,
    const float *restrict wt, float *restrict y, long lo, long hi,
    float *restrict pad)
{
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);
	int width = mono_width(l);

	for (long s = lo; s < hi; s++) {
		add_border(l, x + s * in_len, pad, s == lo);
		for (int f0 = 0; f0 < l->out.c; f0 += width)
			if (width == 32)
				mono_sample(l, pad, wt, f0, y + s * out_len,
				    32);
			else
				mono_sample(l, pad, wt, f0, y + s * out_len,
				    16);
	}
}

/* dWt[t, f0 + f] += the sum over one sample's pixels of tap t of the
 * pixel's patch times g[pixel, f], with g at the block's first filter
 * and its pixels gF apart. */
static inline __attribute__((always_inline)) void
mono_dw_sample(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, size_t gF, int f0, float *restrict dwt,
    const int width)
{
	int OH = l->out.h, OW = l->out.w, F = l->out.c;
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	float acc[MONO_TAPS][32];

	for (int t = 0; t < MONO_TAPS; t++)
		for (int f = 0; f < width; f++)
			acc[t][f] = 0.0f;
	for (int oh = 0; oh < OH; oh++) {
		const float *v = pad + (size_t)oh * l->stride * row;
		const float *gv = g + (size_t)oh * OW * gF;

		for (int ow = 0; ow < OW; ow++) {
			const float *a = v + (size_t)ow * l->stride;

			#pragma GCC unroll 9
			for (int t = 0; t < MONO_TAPS; t++)
				for (int f = 0; f < width; f++)
					acc[t][f] += a[(size_t)(t / 3) * row +
					    t % 3] * gv[(size_t)ow * gF + f];
		}
	}
	for (int t = 0; t < MONO_TAPS; t++)
		for (int f = 0; f < width; f++)
			dwt[(size_t)t * F + f0 + f] += acc[t][f];
}

/* dW and db of samples lo..hi of a one-channel layer into dwt (Wt's
 * layout) and db, zeroed here; pad holds a bordered sample. */
SC_HOT static void
mono_dw(const struct sc_layer *l, const float *restrict x,
    const float *restrict dy, long lo, long hi, float *restrict dwt,
    float *restrict db, float *restrict pad)
{
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);
	int F = l->out.c, width = mono_width(l);

	memset(dwt, 0, l->n_w * sizeof(float));
	memset(db, 0, l->n_b * sizeof(float));
	for (long s = lo; s < hi; s++) {
		const float *g = dy + s * out_len;

		add_border(l, x + s * in_len, pad, s == lo);
		if (l->n_b > 0)
			add_rows(g, (int)out_pixels(l), F, db);
		for (int f0 = 0; f0 < F; f0 += width)
			if (width == 32)
				mono_dw_sample(l, pad, g + f0, F, f0, dwt, 32);
			else
				mono_dw_sample(l, pad, g + f0, F, f0, dwt, 16);
	}
}

/* y += a * x over n values, in blocks the compiler keeps whole. */
static inline __attribute__((always_inline)) void
add_scaled(int n, float a, const float *restrict x, float *restrict y)
{
	int i = 0;

	for (; i + BLOCK <= n; i += BLOCK)
		for (int j = 0; j < BLOCK; j++)
			y[i + j] += a * x[i + j];
	for (; i < n; i++)
		y[i] += a * x[i];
}

static inline float
dot(int n, const float *restrict x, const float *restrict y)
{
	float sum = 0.0f;

	for (int i = 0; i < n; i++)
		sum += x[i] * y[i];
	return sum;
}

/* The direct loops' backward over samples lo..hi: dWt and db of these
 * samples into dwt and db (zeroed here), and dx when it is not NULL.
 * pad holds a bordered sample and dpad its gradient. */
SC_HOT static void
direct_backward(const struct sc_layer *l, const float *restrict x,
    const float *restrict wt, const float *restrict dy,
    float *restrict dx, long lo, long hi, float *restrict dwt,
    float *restrict db, float *restrict pad, float *restrict dpad)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c, P = l->pad;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, K = l->k;
	int KC = K * C;
	size_t in_len = sc_shape_size(l->in[0]);
	size_t row = (size_t)(W + 2 * P) * C;

	memset(dwt, 0, l->n_w * sizeof(float));
	memset(db, 0, l->n_b * sizeof(float));
	for (long s = lo; s < hi; s++) {
		add_border(l, x + s * in_len, pad, s == lo);
		if (l->n_b > 0)
			add_rows(dy + (size_t)s * OH * OW * F, OH * OW, F, db);
		if (dx != NULL)
			memset(dpad, 0, padded_len(l) * sizeof(float));
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				const float *restrict g = dy + (((size_t)s *
				    OH + oh) * OW + ow) * F;
				size_t at = (size_t)oh * l->stride * row +
				    (size_t)ow * l->stride * C;

				for (int kh = 0; kh < K; kh++)
					for (int j = 0; j < KC; j++)
						add_scaled(F,
						    pad[at + kh * row + j], g,
						    dwt + (size_t)(kh * KC +
						    j) * F);
				if (dx == NULL)
					continue;
				for (int kh = 0; kh < K; kh++)
					for (int j = 0; j < KC; j++)
						dpad[at + kh * row + j] +=
						    dot(F, g, wt + (size_t)(kh *
						    KC + j) * F);
			}
		if (dx == NULL)
			continue;
		/* The border's gradient belongs to no input. */
		for (int h = 0; h < H; h++)
			memcpy(dx + s * in_len + (size_t)h * W * C,
			    dpad + (h + P) * row + (size_t)P * C,
			    (size_t)W * C * sizeof(float));
	}
}

/* Samples lo..hi of the batch, chunk by chunk, in the calling thread. */
static void
forward_range(struct sc_layer *l, const float *x, float *y, long lo, long hi,
    int chunk, float *work)
{
	size_t in_len = sc_shape_size(l->in[0]), kkc = patch_len(l);
	int F = l->out.c;

	for (long s0 = lo; s0 < hi; s0 += chunk) {
		int cn = hi - s0 < chunk ? (int)(hi - s0) : chunk;
		int P = cn * (int)out_pixels(l);
		const float *col = x + (size_t)s0 * in_len;
		float *out = y + (size_t)s0 * out_pixels(l) * F;

		if (!is_pointwise(l)) {
			im2col(l, col, cn, work);
			col = work;
		}
		if (l->n_b > 0)
			for (int r = 0; r < P; r++)
				memcpy(out + (size_t)r * F, l->b,
				    F * sizeof(float));
		sc_sgemm(0, 1, P, F, (int)kkc, 1.0f, col, (int)kkc, l->w,
		    (int)kkc, l->n_b > 0 ? 1.0f : 0.0f, out, F);
	}
}

/* Each thread (t of parts) adds every thread's share of one slice of
 * the parameters' gradients, at offset in the threads' blocks, in thread
 * order. */
static void
add_shares(struct sc_layer *l, int t, int parts, size_t offset)
{
	long lo, hi;

	sc_split((long)(l->n_w + l->n_b), t, parts, &lo, &hi);
	for (int u = 0; u < parts; u++) {
		const float *part = thread_block(l, u) + offset;

		for (long j = lo; j < hi; j++) {
			if ((size_t)j < l->n_w)
				l->dw[j] += part[j];
			else
				l->db[j - l->n_w] += part[j];
		}
	}
}

/* dWt in a thread's block, transposed into its share of dW. */
static void
share_from_wt(const struct sc_layer *l, float *block, size_t offset)
{
	size_t kkc = patch_len(l);

	for (int f = 0; f < l->out.c; f++)
		for (size_t j = 0; j < kkc; j++)
			block[offset + (size_t)f * kkc + j] =
			    block[j * l->out.c + f];
}

/*
 * fold_forward, fold_backward: a one-channel layer doing its batch norm
 * (bn in sc_nn.h), and the 2x2 max pool after it when it has one (pool).
 *
 * Its outputs z = w . p + b, p a pixel's patch of 9 input values, have
 * over the batch the mean w . pbar + b and the variance w' Cov w, where
 * pbar and Cov are the patches' mean and covariance.  So the batch
 * norm's statistics come from a pass over the input alone (at stride 1
 * 14 sums a pixel, from the input's lagged products; else 54, a sixth
 * of the layer's multiply-adds), and a single pass computing z writes
 * the batch norm's output, or the pool's, which is all that is stored;
 * with each value goes its route, saying which z of its window it came
 * from, or that the ReLU stopped its gradient: under
 * the pool a byte (FOLD_STOP for stopped), with the ReLU alone a bit
 * (set where the gradient passes; see fold_route_at).
 *
 * Backward, z's gradient g is the output's, sent along the routes, then
 * the batch norm's: dz = k (g - S / M - xhat Q / M), with k = gamma
 * invstd, S = sum g and Q = sum g xhat over the batch's M pixels.  Q,
 * dW = sum dz p and db = sum dz all follow from A = sum g p (9 sums a
 * filter), S, pbar and Cov (see fold_finish), so one pass accumulating A
 * and S, the work of a plain layer's weight gradient, is the whole
 * backward.
 *
 * These sums run over each sample's values minus the sample's mean, so
 * that images far from zero lose no digits, in float within blocks of
 * FOLD_ROWS rows and in double beyond.  With 8 rows, adding the blocks'
 * lanes in double took a third of the moments' pass on 28 x 28 images.
 */
#define FOLD_ROWS 32
/* The backward prefetches g this many outputs z ahead (96 / win^2
 * windows): at 24 windows for both, resnet8's first layer (win 1) spent
 * a fifth longer, waiting for g. */
#define FOLD_AHEAD 96
#define FOLD_STOP 255
#define FOLD_MOMENTS (MONO_TAPS + MONO_TAPS * MONO_TAPS)

/* The side of the windows whose outputs the layer writes: 2 with a
 * pool, else 1. */
static int
fold_win(const struct sc_layer *l)
{
	return l->pool != NULL ? 2 : 1;
}

/* The values a sample's output holds: the pool's or the batch norm's. */
static size_t
fold_len(const struct sc_layer *l)
{
	int win = fold_win(l);

	return (size_t)(l->out.h / win) * (l->out.w / win) * l->out.c;
}

/* Private memory: pbar (9 doubles) and Cov (9 x 9) of the last training
 * pass, then the routes of its outputs, a byte each at most. */
#define FOLD_ROUTES (2 * FOLD_MOMENTS + 14)

static size_t
conv_priv_size(const struct sc_layer *l, int max_batch)
{
	if (l->bn == NULL)
		return 0;
	return FOLD_ROUTES + ((size_t)max_batch * fold_len(l) + 3) / 4;
}

static double *
fold_moments(const struct sc_layer *l)
{
	return (double *)l->priv;
}

static unsigned char *
fold_routes(const struct sc_layer *l)
{
	return (unsigned char *)(l->priv + FOLD_ROUTES);
}

/* Where in the routes is that of the value at (a pixel's index times F,
 * plus its filter).  Under the pool a byte a value; with the ReLU alone
 * a bit, 16 filters' in two bytes (bit i for filter 16 j + i), which
 * the output pass writes and the backward reads at an eighth of the
 * bytes' cost: with bytes, resnet8's first layer spent a third of its
 * output pass on them. */
static inline size_t
fold_route_at(size_t at, int win)
{
	return win == 1 ? at / 8 : at;
}

/*
 * At stride 1 the moments come from the bordered sample's lagged
 * products instead.  Taps j and k of a patch sit at offsets a and b of
 * its window, so the sum over the output pixels p of X[p + a] X[p + b]
 * is the sum of X[q] X[q + d], d = b - a, over the pixels q of the
 * region a + [0, OH) x [0, OW): the 45 products need only the 13 lags d
 * of FOLD_LAG (d after 0 in reading order), 13 multiply-adds a pixel
 * against the patches' 54.  The 9 regions differ only in their first
 * and last two rows and columns, so the pass keeps the products apart
 * by row (rows 0 and 1, the middle rows, rows OH and OH + 1: the
 * classes below) and, in the vector lanes, by column, and adds each
 * region's share once its samples are done (lag_finish).
 */
#define FOLD_LAGS 13
#define FOLD_CLASSES 5
#define FOLD_EDGES 4
#define FOLD_SLACK 32

static const signed char fold_lag[FOLD_LAGS][2] = {
	{ 0, 0 }, { 0, 1 }, { 0, 2 },
	{ 1, -2 }, { 1, -1 }, { 1, 0 }, { 1, 1 }, { 1, 2 },
	{ 2, -2 }, { 2, -1 }, { 2, 0 }, { 2, 1 }, { 2, 2 },
};

/* The lags valid from each class's rows: rows OH and OH + 1 have one
 * and no row below them. */
static const int fold_class_lags[FOLD_CLASSES] = { 13, 13, 13, 8, 3 };

/* The classes of single rows, rows 0, 1, OH and OH + 1, whose products
 * a thread keeps in float over up to FOLD_ROWS samples. */
static const int fold_edge_class[FOLD_EDGES] = { 0, 1, 3, 4 };

/* Whether the class's rows are in the region of the window's row ay
 * (its rows are ay .. ay + OH - 1 of the bordered sample). */
static int
fold_class_in(int cls, int ay)
{
	static const unsigned char in[FOLD_CLASSES][3] = {
		{ 1, 0, 0 }, { 1, 1, 0 }, { 1, 1, 1 }, { 0, 1, 1 },
		{ 0, 0, 1 },
	};

	return in[cls][ay];
}

/* The columns a thread's lag sums keep: all of the bordered row's. */
static size_t
fold_lag_cols(const struct sc_layer *l)
{
	return round16((size_t)l->out.w + 2);
}

/* Whether the moments take the lags: stride 1 and at least two output
 * rows, so that the five classes are distinct rows. */
static int
fold_lagged(const struct sc_layer *l)
{
	return l->stride == 1 && l->out.h >= 2;
}

/*
 * A thread's lag sums, after FOLD_SLACK zeros that the last row's loads
 * may reach past the bordered sample: in double, the products by class,
 * lag and column (summed over the samples), the values by class and
 * column, and those times each sample's shift c; in float, the edge
 * classes' products over up to FOLD_ROWS samples.
 */
struct fold_lags {
	double *prod, *val, *cval;
	float *edge;
	size_t cols;
};

static size_t
fold_lag_len(const struct sc_layer *l)
{
	size_t cols = fold_lag_cols(l);

	return FOLD_SLACK + 2 * (FOLD_CLASSES * (FOLD_LAGS + 2)) * cols +
	    FOLD_EDGES * FOLD_LAGS * cols;
}

static struct fold_lags
fold_lags(const struct sc_layer *l, float *taps)
{
	struct fold_lags s;

	s.cols = fold_lag_cols(l);
	s.prod = (double *)(taps + FOLD_SLACK);
	s.val = s.prod + FOLD_CLASSES * FOLD_LAGS * s.cols;
	s.cval = s.val + FOLD_CLASSES * s.cols;
	s.edge = (float *)(s.cval + FOLD_CLASSES * s.cols);
	return s;
}


/* A thread's block: a bordered sample, FOLD_ROWS rows of taps or, at
 * stride 1, the lag sums (fold_taps_len), and doubles: the sums of the
 * moments (FOLD_MOMENTS), then A (9 F) and S (F). */
struct fold_block {
	float *pad, *taps;
	double *moments, *grad;
};

static size_t
fold_tap_row(const struct sc_layer *l)
{
	return round16((size_t)l->out.w);
}

/* The floats after the bordered sample: the rows of taps, or the lag
 * sums at stride 1. */
static size_t
fold_taps_len(const struct sc_layer *l)
{
	size_t taps = FOLD_ROWS * MONO_TAPS * fold_tap_row(l);

	if (fold_lagged(l) && fold_lag_len(l) > taps)
		taps = round16(fold_lag_len(l));
	return taps;
}

static size_t
fold_block_len(const struct sc_layer *l)
{
	return round16(padded_len(l)) + fold_taps_len(l) +
	    round16(2 * (FOLD_MOMENTS + 10 * (size_t)l->out.c));
}

static struct fold_block
fold_block(const struct sc_layer *l, int t)
{
	struct fold_block b;

	b.pad = thread_block(l, t);
	b.taps = b.pad + round16(padded_len(l));
	b.moments = (double *)(b.taps + fold_taps_len(l));
	b.grad = b.moments + FOLD_MOMENTS;
	return b;
}

/* The sum of v's lanes in double, as a tree of vector additions: lane
 * by lane, each sum was a chain of 16 dependent additions, which cost
 * the moments' pass a third of its time. */
typedef float fold_vh __attribute__((vector_size(32)));
typedef double fold_vd __attribute__((vector_size(64)));
typedef double fold_vd4 __attribute__((vector_size(32)));
typedef double fold_vd2 __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) double
lanes_sum(sc_vf v)
{
	fold_vh lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
	fold_vh hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14,
	    15);
	fold_vd d = __builtin_convertvector(lo, fold_vd) +
	    __builtin_convertvector(hi, fold_vd);
	fold_vd4 q = __builtin_shufflevector(d, d, 0, 1, 2, 3) +
	    __builtin_shufflevector(d, d, 4, 5, 6, 7);
	fold_vd2 h = __builtin_shufflevector(q, q, 0, 1) +
	    __builtin_shufflevector(q, q, 2, 3);

	return h[0] + h[1];
}

/* Asks for the next sample's n values at img while this sample is
 * worked on: a pass over the batch finds each new sample in memory, not
 * in the cache. */
static inline __attribute__((always_inline)) void
prefetch_sample(const float *img, size_t n)
{
	for (size_t i = 0; i < n; i += 16)
		__builtin_prefetch(img + i);
}

/* to[0 .. n) = from[0 .. n) + add, 16 at a time; n at least 16, the
 * last 16 overlapping the ones before. */
static inline __attribute__((always_inline)) void
row_plus(float *restrict to, const float *restrict from, size_t n,
    float add)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		sc_vstore(to + i, sc_vload(from + i) + add);
	if (i < n)
		sc_vstore(to + n - 16, sc_vload(from + n - 16) + add);
}

/* to[0 .. n) = v, 16 at a time where n is 16 or more. */
static inline __attribute__((always_inline)) void
row_fill(float *to, size_t n, float v)
{
	sc_vf vv = (sc_vf){ 0.0f } + v;
	size_t i = 0;

	if (n < 16) {
		for (; i < n; i++)
			to[i] = v;
		return;
	}
	for (; i + 16 <= n; i += 16)
		sc_vstore(to + i, vv);
	if (i < n)
		sc_vstore(to + n - 16, vv);
}

/* The sample img less c, about its mean, bordered with -c, into pad;
 * returns c.  Inlined, so that the loops vectorise in each caller's
 * clone.  Any c would give the same sums but for rounding, so the mean
 * is summed the fast way, 16 float lanes apart. */
static inline __attribute__((always_inline)) float
shifted_border(const struct sc_layer *l, const float *restrict img,
    float *restrict pad)
{
	int H = l->in[0].h, W = l->in[0].w, P = l->pad;
	size_t row = (size_t)W + 2 * P, n = (size_t)H * W, i = 0;
	sc_vf part = { 0.0f };
	float c = 0.0f;

	for (; i + 16 <= n; i += 16)
		part += sc_vload(img + i);
	for (; i < n; i++)
		c += img[i];
	c = (float)((lanes_sum(part) + c) / (double)n);
	row_fill(pad, P * row, -c);
	row_fill(pad + (H + P) * row, padded_len(l) - (H + P) * row, -c);
	for (int h = 0; h < H; h++) {
		float *to = pad + (h + P) * row;
		const float *from = img + (size_t)h * W;

		for (int p = 0; p < P; p++)
			to[p] = to[P + W + p] = -c;
		if (W >= 16) {
			row_plus(to + P, from, (size_t)W, -c);
			continue;
		}
		for (int w = 0; w < W; w++)
			to[P + w] = from[w] - c;
	}
	return c;
}

/*
 * The moments' 54 sums, p_j and p_j p_k (j <= k), numbered in the order
 * j = 0..8, then for each j p_j and p_j p_k for k = j..8, run in
 * FOLD_GROUPS groups, each over the same rows of taps, so that a group's
 * sums and the 9 taps fit in the vector registers.
 */
#define FOLD_SUMS (MONO_TAPS + MONO_TAPS * (MONO_TAPS + 1) / 2)
#define FOLD_GROUPS 3
#define FOLD_GROUP (FOLD_SUMS / FOLD_GROUPS)

/* Where sum p_j p_k is in that order, or sum p_j for k = j - 1. */
static int
fold_at(int j, int k)
{
	return 10 * j - j * (j - 1) / 2 + 1 + k - j;
}

/* Group g's share of one vector of taps v into its sums acc. */
static inline __attribute__((always_inline)) void
moment_add(sc_vf acc[FOLD_GROUP], const sc_vf v[MONO_TAPS], const int g)
{
	int at = 0;

	#pragma GCC unroll 9
	for (int j = 0; j < MONO_TAPS; j++)
		#pragma GCC unroll 10
		for (int k = j - 1; k < MONO_TAPS; k++, at++)
			if (at / FOLD_GROUP == g)
				acc[at % FOLD_GROUP] += k < j ? v[j] :
				    v[j] * v[k];
}

/* Group g's float sums acc added into sum, lane by lane in double. */
static inline __attribute__((always_inline)) void
moment_flush(const sc_vf acc[FOLD_GROUP], double *restrict sum,
    const int g)
{
	#pragma GCC unroll 18
	for (int a = 0; a < FOLD_GROUP; a++)
		sum[g * FOLD_GROUP + a] += lanes_sum(acc[a]);
}

/* Group g's sums over n rows of taps, 16 pixels a vector, the rows of
 * tap t of row i starting at src[i][t], the last vector masked by tail;
 * added into sum (FOLD_SUMS doubles, in the order above). */
static inline __attribute__((always_inline)) void
moment_group(const float *const src[FOLD_ROWS][MONO_TAPS], int n, int R,
    sc_vi tail, double *restrict sum, const int g)
{
	sc_vf acc[FOLD_GROUP];

	#pragma GCC unroll 18
	for (int a = 0; a < FOLD_GROUP; a++)
		acc[a] = (sc_vf){ 0.0f };
	for (int i = 0; i < n; i++)
		for (int c = 0; c < R; c += 16) {
			sc_vi keep = c + 16 < R ? (sc_vi){ 0 } - 1 : tail;
			sc_vf v[MONO_TAPS];

			#pragma GCC unroll 9
			for (int t = 0; t < MONO_TAPS; t++)
				v[t] = (sc_vf)((sc_vi)sc_vload(src[i][t] + c) &
				    keep);
			moment_add(acc, v, g);
		}
	moment_flush(acc, sum, g);
}

/* v's 16 lanes added into the doubles at to, times k. */
static inline __attribute__((always_inline)) void
add_wide(double *to, sc_vf v, double k)
{
	fold_vh lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
	fold_vh hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14,
	    15);
	fold_vd a, b;

	memcpy(&a, to, sizeof(a));
	memcpy(&b, to + 8, sizeof(b));
	a += __builtin_convertvector(lo, fold_vd) * k;
	b += __builtin_convertvector(hi, fold_vd) * k;
	memcpy(to, &a, sizeof(a));
	memcpy(to + 8, &b, sizeof(b));
}

/* The products of rows lo .. hi - 1 of the middle class, 16 columns
 * from col, with their lags, into acc (and the rows' values into sum).
 * A row's five shifts are loaded once, as the row two below, and kept
 * in registers while it is the row below and then the row itself:
 * loading each product's operand cost more than the products. */
static inline __attribute__((always_inline)) void
lag_rows(const float *X, size_t row, int lo, int hi, sc_vf acc[FOLD_LAGS],
    sc_vf *sum)
{
	const float *p = X + (size_t)lo * row;
	sc_vf x0 = sc_vload(p), x1 = sc_vload(p + 1), x2 = sc_vload(p + 2);
	sc_vf below[5];

	#pragma GCC unroll 5
	for (int t = 0; t < 5; t++)
		below[t] = sc_vload(p + row + t - 2);
	for (int r = lo; r < hi; r++) {
		const float *p2 = X + (size_t)(r + 2) * row;
		sc_vf next[5];

		#pragma GCC unroll 5
		for (int t = 0; t < 5; t++)
			next[t] = sc_vload(p2 + t - 2);
		*sum += x0;
		acc[0] += x0 * x0;
		acc[1] += x0 * x1;
		acc[2] += x0 * x2;
		#pragma GCC unroll 5
		for (int t = 0; t < 5; t++) {
			acc[3 + t] += x0 * below[t];
			acc[8 + t] += x0 * next[t];
		}
		x0 = below[2];
		x1 = below[3];
		x2 = below[4];
		#pragma GCC unroll 5
		for (int t = 0; t < 5; t++)
			below[t] = next[t];
	}
}

/* One bordered sample X (Hp = OH + 2 rows of row values), shifted by c,
 * into s. */
static inline __attribute__((always_inline)) void
lag_sample(const float *X, size_t row, int Hp, float c, struct fold_lags s)
{
	size_t cols = s.cols;
	int edge_row[FOLD_EDGES] = { 0, 1, Hp - 2, Hp - 1 };

	for (size_t q = 0; q < cols; q += 16) {
		const float *at = X + q;

		for (int r0 = 2; r0 < Hp - 2; r0 += FOLD_ROWS) {
			int r1 = Hp - 2 - r0 < FOLD_ROWS ? Hp - 2 : r0 +
			    FOLD_ROWS;
			sc_vf acc[FOLD_LAGS], sum = { 0.0f };

			#pragma GCC unroll 13
			for (int d = 0; d < FOLD_LAGS; d++)
				acc[d] = (sc_vf){ 0.0f };
			lag_rows(at, row, r0, r1, acc, &sum);
			#pragma GCC unroll 13
			for (int d = 0; d < FOLD_LAGS; d++)
				add_wide(s.prod + (2 * FOLD_LAGS + d) * cols +
				    q, acc[d], 1.0);
			add_wide(s.val + 2 * cols + q, sum, 1.0);
			add_wide(s.cval + 2 * cols + q, sum, c);
		}
		for (int e = 0; e < FOLD_EDGES; e++) {
			const float *p0 = at + (size_t)edge_row[e] * row;
			int cls = fold_edge_class[e], n = fold_class_lags[cls];
			sc_vf x0 = sc_vload(p0);

			for (int d = 0; d < n; d++) {
				float *to = s.edge + ((size_t)e * FOLD_LAGS +
				    d) * cols + q;

				sc_vstore(to, sc_vload(to) + x0 *
				    sc_vload(p0 + (ptrdiff_t)fold_lag[d][0] *
				    (ptrdiff_t)row + fold_lag[d][1]));
			}
			add_wide(s.val + cls * cols + q, x0, 1.0);
			add_wide(s.cval + cls * cols + q, x0, c);
		}
	}
}

/* The edge classes' float sums into their doubles, and cleared. */
static void
lag_flush(struct fold_lags s)
{
	for (int e = 0; e < FOLD_EDGES; e++)
		for (int d = 0; d < fold_class_lags[fold_edge_class[e]];
		    d++) {
			float *from = s.edge + ((size_t)e * FOLD_LAGS + d) *
			    s.cols;
			double *to = s.prod + ((size_t)fold_edge_class[e] *
			    FOLD_LAGS + d) * s.cols;

			for (size_t q = 0; q < s.cols; q++)
				to[q] += from[q];
			memset(from, 0, s.cols * sizeof(float));
		}
}

/* The sum of v[class][q] over the window's region: the classes in its
 * rows ay .., columns ax .. ax + OW - 1; per is the doubles a class
 * holds. */
static double
lag_region(const double *v, size_t per, int ay, int ax, int OW)
{
	double sum = 0.0;

	for (int cls = 0; cls < FOLD_CLASSES; cls++)
		if (fold_class_in(cls, ay))
			for (int q = ax; q < ax + OW; q++)
				sum += v[cls * per + (size_t)q];
	return sum;
}

/* The moments (as fold_moments_range gives them) from s, over samples
 * whose shifts c sum to sc and whose squares to scc. */
static void
lag_finish(const struct sc_layer *l, struct fold_lags s, double sc,
    double scc, double *restrict moments)
{
	int OW = l->out.w;
	double n = (double)l->out.h * OW, u[MONO_TAPS], cu[MONO_TAPS];
	double *P = moments + MONO_TAPS;

	for (int j = 0; j < MONO_TAPS; j++) {
		u[j] = lag_region(s.val, s.cols, j / 3, j % 3, OW);
		cu[j] = lag_region(s.cval, s.cols, j / 3, j % 3, OW);
		moments[j] = u[j] + n * sc;
	}
	for (int j = 0; j < MONO_TAPS; j++)
		for (int k = j; k < MONO_TAPS; k++) {
			int dy = k / 3 - j / 3, dx = k % 3 - j % 3, d;

			d = dy == 0 ? dx : 3 + (dy - 1) * 5 + dx + 2;
			P[j * MONO_TAPS + k] = lag_region(s.prod + (size_t)d *
			    s.cols, FOLD_LAGS * s.cols, j / 3, j % 3, OW) +
			    cu[j] + cu[k] + n * scc;
		}
}

/* The sums of the patches p and of p p' over samples lo..hi, into
 * moments (9, then 9 x 9 with only j <= k set), at stride 1 from the
 * lags (lag_sample).  At other strides from the patches: their taps are
 * copied to rows first, FOLD_ROWS output rows at a time. */
SC_HOT static void
fold_moments_range(const struct sc_layer *l, const float *restrict x,
    long lo, long hi, float *restrict pad, float *restrict taps,
    double *restrict moments)
{
	int OH = l->out.h, OW = l->out.w, S = l->stride;
	int R = (int)fold_tap_row(l);
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	size_t in_len = sc_shape_size(l->in[0]);
	double n = (double)OH * OW, *P = moments + MONO_TAPS;
	const float *src[FOLD_ROWS][MONO_TAPS];
	sc_vi tail;

	if (fold_lagged(l)) {
		struct fold_lags s = fold_lags(l, taps);
		size_t len = padded_len(l);
		double sc = 0.0, scc = 0.0;

		memset(pad + len, 0, (round16(len) - len + FOLD_SLACK) *
		    sizeof(float));
		memset(s.prod, 0, (fold_lag_len(l) - FOLD_SLACK) *
		    sizeof(float));
		for (long k = lo; k < hi; k++) {
			float c = shifted_border(l, x + k * in_len, pad);

			if (k + 1 < hi)
				prefetch_sample(x + (k + 1) * in_len, in_len);
			lag_sample(pad, row, OH + 2, c, s);
			sc += c;
			scc += (double)c * c;
			if ((k - lo) % FOLD_ROWS == FOLD_ROWS - 1)
				lag_flush(s);
		}
		lag_flush(s);
		lag_finish(l, s, sc, scc, moments);
		return;
	}
	for (int i = 0; i < 16; i++)
		tail[i] = R - 16 + i < OW ? -1 : 0;
	memset(moments, 0, FOLD_MOMENTS * sizeof(double));
	for (long s = lo; s < hi; s++) {
		double sum[FOLD_SUMS] = { 0.0 };
		float c = shifted_border(l, x + s * in_len, pad);

		if (s + 1 < hi)
			prefetch_sample(x + (s + 1) * in_len, in_len);
		for (int oh = 0; oh < OH; oh += FOLD_ROWS) {
			int n_rows = OH - oh < FOLD_ROWS ? OH - oh : FOLD_ROWS;

			for (int i = 0; i < n_rows; i++)
				for (int t = 0; t < MONO_TAPS; t++) {
					const float *v = pad + ((size_t)(oh +
					    i) * S + t / 3) * row + t % 3;
					float *to = taps + ((size_t)i *
					    MONO_TAPS + t) * R;

					if (S == 1) {
						src[i][t] = v;
						continue;
					}
					for (int ow = 0; ow < OW; ow++)
						to[ow] = v[(size_t)ow * S];
					src[i][t] = to;
				}
			moment_group(src, n_rows, R, tail, sum, 0);
			moment_group(src, n_rows, R, tail, sum, 1);
			moment_group(src, n_rows, R, tail, sum, 2);
		}
		/* Back from p - c to p. */
		for (int j = 0; j < MONO_TAPS; j++) {
			double uj = sum[fold_at(j, j - 1)];

			moments[j] += uj + n * c;
			for (int k = j; k < MONO_TAPS; k++)
				P[j * MONO_TAPS + k] += sum[fold_at(j, k)] +
				    c * (uj + sum[fold_at(k, k - 1)]) +
				    n * c * c;
		}
	}
}

/* pbar and Cov from every thread's sums, in thread order, and the batch
 * norm's statistics from them. */
static void
fold_stats(struct sc_layer *l, int n)
{
	int F = l->out.c, parts = sc_threads();
	double M = (double)n * out_pixels(l), sum[FOLD_MOMENTS] = { 0.0 };
	double *pbar = fold_moments(l), *cov = pbar + MONO_TAPS;
	double *mean = fold_block(l, 0).grad, *var = mean + F;

	for (int t = 0; t < parts; t++)
		for (int j = 0; j < FOLD_MOMENTS; j++)
			sum[j] += fold_block(l, t).moments[j];
	for (int j = 0; j < MONO_TAPS; j++)
		pbar[j] = sum[j] / M;
	for (int j = 0; j < MONO_TAPS; j++)
		for (int k = j; k < MONO_TAPS; k++)
			cov[j * MONO_TAPS + k] = cov[k * MONO_TAPS + j] =
			    sum[MONO_TAPS + j * MONO_TAPS + k] / M -
			    pbar[j] * pbar[k];
	for (int f = 0; f < F; f++) {
		const float *w = l->w + (size_t)f * MONO_TAPS;

		mean[f] = l->n_b > 0 ? l->b[f] : 0.0;
		var[f] = 0.0;
		for (int j = 0; j < MONO_TAPS; j++) {
			double wc = 0.0;

			for (int k = 0; k < MONO_TAPS; k++)
				wc += w[k] * cov[j * MONO_TAPS + k];
			mean[f] += w[j] * pbar[j];
			var[f] += w[j] * wc;
		}
	}
	sc_bn_set(l->bn, mean, var, (size_t)M);
}

/* A route byte for each of 16 lanes, and the step between them and
 * sc_vi lanes: GCC widens bytes to ints one lane at a time, but in two
 * steps through shorts with vector instructions. */
typedef unsigned char fold_vb __attribute__((vector_size(16)));
typedef unsigned short fold_vs __attribute__((vector_size(32)));

/* The 16 lanes of a compare's result (0 or -1 each) as bits. */
typedef int fold_vi8 __attribute__((vector_size(32)));
typedef int fold_vi4 __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) unsigned short
fold_bits(sc_vi yes)
{
	const sc_vi bit = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
	    2048, 4096, 8192, 16384, 32768 };
	sc_vi v = yes & bit;
	fold_vi8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) |
	    __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
	fold_vi4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) |
	    __builtin_shufflevector(h, h, 4, 5, 6, 7);

	return (unsigned short)(q[0] | q[1] | q[2] | q[3]);
}

/* The lanes (-1 where set, else 0) of 16 bits. */
static inline __attribute__((always_inline)) sc_vi
fold_lanes(unsigned short bits)
{
	const sc_vi bit = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
	    2048, 4096, 8192, 16384, 32768 };

	return (((sc_vi){ 0 } + bits) & bit) != 0;
}

#if SC_CLONES
/* The ReLU on v with its bits (fold_bits) straight from AVX-512's
 * compare: the vector code's packing of 16 lanes into bits cost as much
 * as storing them as bytes had.  Not always_inline: the portable clones
 * cannot take it in, and call it only where relu is 2 (never). */
static inline SC_MASKS unsigned short
fold_relu_masked(sc_vf *v)
{
	__mmask16 pos = _mm512_cmp_ps_mask((__m512)*v, _mm512_setzero_ps(),
	    _CMP_GT_OQ);

	*v = (sc_vf)_mm512_maskz_mov_ps(pos, (__m512)*v);
	return pos;
}
#endif

/* best and its route k become a and ka where a is larger. */
static inline __attribute__((always_inline)) void
fold_pick(sc_vf *best, sc_vi *k, sc_vf a, sc_vi ka)
{
	sc_vi gt = a > *best;

	*k = (*k & ~gt) | (ka & gt);
	*best = (sc_vf)(((sc_vi)a & gt) | ((sc_vi)*best & ~gt));
}

/* pix windows of one row of windows (win x win outputs z each, the
 * first at the bordered sample's v), filters f0 .. f0 + 16 V - 1: the
 * batch norm's output (with the ReLU when relu is set), its largest in
 * each window, stored at out (windows F apart) with its route.  The sums
 * start at start; the batch norm's map is in wv and start already.  The
 * vectors are named: left to the vectoriser, the choice of the largest
 * stayed scalar. */
static inline __attribute__((always_inline)) void
fold_windows(const float *restrict v, size_t step, size_t row,
    const sc_vf wv[MONO_TAPS][2], const sc_vf start[2], float *restrict out,
    unsigned char *restrict route, int F, const int V, const int pix,
    const int win, const int relu)
{
	sc_vf acc[4][MONO_PIX][2];

	#pragma GCC unroll 4
	for (int q = 0; q < win * win; q++)
		#pragma GCC unroll 8
		for (int p = 0; p < pix; p++)
			#pragma GCC unroll 2
			for (int u = 0; u < V; u++)
				acc[q][p][u] = start[u];
	#pragma GCC unroll 9
	for (int t = 0; t < MONO_TAPS; t++)
		#pragma GCC unroll 4
		for (int q = 0; q < win * win; q++)
			#pragma GCC unroll 8
			for (int p = 0; p < pix; p++) {
				float in = v[((size_t)(q / win) * step +
				    t / 3) * row + (size_t)(p * win + q % win) *
				    step + t % 3];

				#pragma GCC unroll 2
				for (int u = 0; u < V; u++)
					acc[q][p][u] += wv[t][u] * in;
			}
	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		#pragma GCC unroll 2
		for (int u = 0; u < V; u++) {
			sc_vf best = acc[0][p][u], zero = { 0.0f };
			sc_vi k = { 0 };

			if (win > 1) {
				/* The largest as a tree, the first of
				 * equals. */
				sc_vf c = acc[2][p][u];
				sc_vi one = k + 1, kc = k + 2, three = k + 3;

				fold_pick(&best, &k, acc[1][p][u], one);
				fold_pick(&c, &kc, acc[3][p][u], three);
				fold_pick(&best, &k, c, kc);
			}
			if (relu && win == 1) {
				unsigned short b;
#if SC_CLONES
				if (relu == 2)
					b = fold_relu_masked(&best);
				else
#endif
				{
					sc_vi pos = best > zero;

					b = fold_bits(pos);
					best = (sc_vf)((sc_vi)best & pos);
				}
				memcpy(route + fold_route_at((size_t)p * F +
				    16 * u, win), &b, sizeof(b));
			} else if (relu) {
				sc_vi pos = best > zero;

				k = (k & pos) | (~pos & FOLD_STOP);
				best = (sc_vf)((sc_vi)best & pos);
			}
			sc_vstore(out + (size_t)p * F + 16 * u, best);
			if (win > 1) {
				fold_vb b = __builtin_convertvector(k,
				    fold_vb);

				memcpy(route + (size_t)p * F + 16 * u, &b,
				    sizeof(b));
			}
		}
}

/* One sample's outputs for filters f0 .. f0 + width - 1, from the
 * bordered sample pad: blocks of pix windows, then the rest of each row
 * in halving blocks.  width, win, relu and unit (stride 1) are
 * constants where this is inlined. */
static inline __attribute__((always_inline)) void
fold_sample(const struct sc_layer *l, const float *restrict pad,
    const float *restrict wt, int f0, float *restrict y,
    unsigned char *restrict route, const int width, const int win,
    const int relu, const int unit)
{
	int F = l->out.c, OHw = l->out.h / win, OWw = l->out.w / win;
	const int pix = win == 2 ? 2 : width == 32 ? MONO_PIX / 2 : MONO_PIX;
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	size_t step = unit ? 1 : (size_t)l->stride, wstep = step * win;
	const int V = width / 16;
	sc_vf wv[MONO_TAPS][2], start[2], scale[2], shift[2];
	const float *sc, *sh;

	/* The batch norm's scale goes into the weights and its shift (with
	 * the bias) into the sums' start: under the pool 8 multiply-adds
	 * fewer in 80, without it 1 in 10 (resnet8's first layer's
	 * forward 3-6 % faster).  The outputs round differently from the
	 * layers apart, so a ReLU may choose differently at a value within
	 * rounding of 0. */
	sc_bn_affine(l->bn, &sc, &sh);
	for (int u = 0; u < V; u++) {
		int f = f0 + 16 * u;

		scale[u] = sc_vload(sc + f);
		shift[u] = sc_vload(sh + f);
		start[u] = (sc_vf){ 0.0f };
		if (l->n_b > 0)
			start[u] = sc_vload(l->b + f);
		for (int t = 0; t < MONO_TAPS; t++)
			wv[t][u] = sc_vload(wt + (size_t)t * F + f) * scale[u];
		start[u] = start[u] * scale[u] + shift[u];
	}
	for (int r = 0; r < OHw; r++) {
		const float *v = pad + (size_t)r * win * step * row;
		size_t at = (size_t)r * OWw * F + f0;
		int c = 0;

		/* Without the pool the outputs, 9 multiply-adds a value, come
		 * faster than their lines: asking for those of a row 4 ahead
		 * took a tenth off resnet8's first layer (and nothing off
		 * cnn's, which has the pool). */
		if (win == 1 && f0 == 0)
			for (size_t i = 0; i < (size_t)OWw * F; i += 16)
				__builtin_prefetch(y + at + 4 * (size_t)OWw *
				    F + i, 1);

		for (; c + pix <= OWw; c += pix)
			fold_windows(v + c * wstep, step, row, wv, start,
			    y + at + (size_t)c * F, route +
			    fold_route_at(at + (size_t)c * F, win), F, V, pix,
			    win, relu);
		if (pix == 8 && c + 4 <= OWw) {
			fold_windows(v + c * wstep, step, row, wv, start,
			    y + at + (size_t)c * F, route +
			    fold_route_at(at + (size_t)c * F, win), F, V, 4,
			    win, relu);
			c += 4;
		}
		if (c + 2 <= OWw) {
			fold_windows(v + c * wstep, step, row, wv, start,
			    y + at + (size_t)c * F, route +
			    fold_route_at(at + (size_t)c * F, win), F, V, 2,
			    win, relu);
			c += 2;
		}
		if (c < OWw)
			fold_windows(v + c * wstep, step, row, wv, start,
			    y + at + (size_t)c * F, route +
			    fold_route_at(at + (size_t)c * F, win), F, V, 1,
			    win, relu);
	}
}

/* fold_sample with relu and unit (stride 1) made constants; relu 2 is
 * the ReLU alone (win 1) by AVX-512's compare. */
static inline __attribute__((always_inline)) void
fold_sample_as(const struct sc_layer *l, const float *restrict pad,
    const float *restrict wt, int f0, float *restrict y,
    unsigned char *restrict route, const int width, const int win,
    int relu, int unit)
{
#if SC_CLONES
	if (win == 1 && relu == 2 && unit)
		fold_sample(l, pad, wt, f0, y, route, width, win, 2, 1);
	else if (win == 1 && relu == 2)
		fold_sample(l, pad, wt, f0, y, route, width, win, 2, 0);
	else
#endif
	if (relu && unit)
		fold_sample(l, pad, wt, f0, y, route, width, win, 1, 1);
	else if (relu)
		fold_sample(l, pad, wt, f0, y, route, width, win, 1, 0);
	else if (unit)
		fold_sample(l, pad, wt, f0, y, route, width, win, 0, 1);
	else
		fold_sample(l, pad, wt, f0, y, route, width, win, 0, 0);
}

/* Every filter's outputs of one sample: 16 filters a block under a pool
 * (more sums would not fit the registers), else mono_width's.  masks:
 * the ReLU alone may use AVX-512's compare. */
static inline __attribute__((always_inline)) void
fold_filters(const struct sc_layer *l, const float *restrict pad,
    const float *restrict wt, float *restrict y,
    unsigned char *restrict route, int masks)
{
	int relu = l->bn->relu, unit = l->stride == 1;

	if (relu && masks && l->pool == NULL)
		relu = 2;
	if (l->pool != NULL)
		for (int f0 = 0; f0 < l->out.c; f0 += 16)
			fold_sample_as(l, pad, wt, f0, y, route, 16, 2, relu,
			    unit);
	else if (mono_width(l) == 32)
		for (int f0 = 0; f0 < l->out.c; f0 += 32)
			fold_sample_as(l, pad, wt, f0, y, route, 32, 1, relu,
			    unit);
	else
		for (int f0 = 0; f0 < l->out.c; f0 += 16)
			fold_sample_as(l, pad, wt, f0, y, route, 16, 1, relu,
			    unit);
}

/* The outputs of samples lo..hi, with the batch norm's map set. */
SC_HOT static void
fold_output_range(const struct sc_layer *l, const float *restrict x,
    const float *restrict wt, float *restrict y, long lo, long hi,
    float *restrict pad)
{
	size_t in_len = sc_shape_size(l->in[0]), len = fold_len(l);
	int win = fold_win(l), masks = 0;

#if SC_CLONES
	masks = sc_simd_masks();
#endif
	for (long s = lo; s < hi; s++) {
		add_border(l, x + s * in_len, pad, s == lo);
		if (s + 1 < hi)
			prefetch_sample(x + (s + 1) * in_len, in_len);
		fold_filters(l, pad, wt, y + s * len, fold_routes(l) +
		    fold_route_at(s * len, win), masks);
	}
}

/* The patch of pixel q (row-major in its win x win window) of window
 * (r, w), in the bordered sample pad. */
static inline __attribute__((always_inline)) const float *
fold_pixel(const float *pad, int r, int w, int q, const int win,
    size_t step, size_t row)
{
	return pad + ((size_t)r * win + q / win) * step * row +
	    ((size_t)w * win + q % win) * step;
}

/* A block's float sums into grad and sample: acc[t][f] is filter f0 +
 * f's sum of tap t, sum[f] its sum of g. */
static inline __attribute__((always_inline)) void
fold_add_block(double *restrict grad, int F, int f0,
    const float acc[MONO_TAPS][32], const float sum[32],
    double *restrict sample, const int width)
{
	for (int f = 0; f < width; f++) {
		for (int t = 0; t < MONO_TAPS; t++)
			grad[(size_t)t * F + f0 + f] += acc[t][f];
		sample[f] += sum[f];
	}
}

/* A sample's sums, on p - c, back to p: A += c S. */
static inline __attribute__((always_inline)) void
fold_add_sample(double *restrict grad, int F, int f0,
    const double *restrict sample, float c, const int width)
{
	for (int f = 0; f < width; f++) {
		for (int t = 0; t < MONO_TAPS; t++)
			grad[(size_t)t * F + f0 + f] += c * sample[f];
		grad[(size_t)MONO_TAPS * F + f0 + f] += sample[f];
	}
}

#if SC_CLONES
/* g where the bits are set, else 0, by AVX-512's zeroing mask; not
 * always_inline, as fold_relu_masked. */
static inline SC_MASKS sc_vf
fold_live_masked(sc_vf g, unsigned short bits)
{
	return (sc_vf)_mm512_maskz_mov_ps(bits, (__m512)g);
}
#endif

/* g where its route's bits are set (the ReLU passed it), else 0. */
static inline __attribute__((always_inline)) sc_vf
fold_live(sc_vf g, const unsigned char *route, const int masks)
{
	unsigned short bits;

	memcpy(&bits, route, sizeof(bits));
#if SC_CLONES
	if (masks)
		return fold_live_masked(g, bits);
#else
	(void)masks;
#endif
	return (sc_vf)((sc_vi)g & fold_lanes(bits));
}

/* Without the pool: pix outputs of a row, from the one whose patch
 * starts at v in the bordered sample and whose gradient is at g (route
 * its routes' bits, when routed), into the sums acc (A) and sum (S) of
 * 16 V filters.  Pixels side by side share input values, so each is
 * loaded once for up to three multiply-adds: one pixel at a time, with
 * a load for each, the backward of resnet8's first layer ran at half
 * the multiply-add rate.  Each sum still takes the pixels in order. */
static inline __attribute__((always_inline)) void
fold_dw_pixels(const float *restrict v, size_t step, size_t row,
    const float *restrict g, const unsigned char *restrict route, int F,
    sc_vf acc[MONO_TAPS][2], sc_vf sum[2], const int V, const int pix,
    const int routed, const int masks)
{
	sc_vf gq[MONO_PIX][2];

	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		#pragma GCC unroll 2
		for (int u = 0; u < V; u++) {
			__builtin_prefetch(g + (size_t)(p + FOLD_AHEAD) * F +
			    16 * u);
			gq[p][u] = sc_vload(g + (size_t)p * F + 16 * u);
			if (routed)
				gq[p][u] = fold_live(gq[p][u], route +
				    fold_route_at((size_t)p * F + 16 * u, 1),
				    masks);
			sum[u] += gq[p][u];
		}
	#pragma GCC unroll 9
	for (int t = 0; t < MONO_TAPS; t++)
		#pragma GCC unroll 8
		for (int p = 0; p < pix; p++) {
			float in = v[(size_t)(t / 3) * row + (size_t)p * step +
			    t % 3];

			#pragma GCC unroll 2
			for (int u = 0; u < V; u++)
				acc[t][u] += gq[p][u] * in;
		}
}

/* One sample's A (less c S) and S for 16 V filters from f0, without
 * the pool, added into grad: rows of pixels in blocks of MONO_PIX / V,
 * then halving blocks.  unit: stride 1, as a constant. */
static inline __attribute__((always_inline)) void
fold_dw_rows(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, const unsigned char *restrict route, int f0,
    float c, double *restrict grad, const int V, const int routed,
    const int masks, const int unit)
{
	int F = l->out.c, OH = l->out.h, OW = l->out.w;
	const int pix = MONO_PIX / V;
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	size_t step = unit ? 1 : (size_t)l->stride;
	sc_vf acc[MONO_TAPS][2], sum[2], zero = { 0.0f };
	float block[MONO_TAPS][32], block_sum[32];
	double sample[32] = { 0.0 };

	for (int u = 0; u < 2; u++) {
		for (int t = 0; t < MONO_TAPS; t++)
			acc[t][u] = zero;
		sum[u] = zero;
	}
	for (int r = 0; r < OH; r++) {
		const float *v = pad + (size_t)r * step * row;
		size_t at = (size_t)r * OW * F;
		int w = 0;

		for (; w + pix <= OW; w += pix)
			fold_dw_pixels(v + w * step, step, row, g + at +
			    (size_t)w * F, route + fold_route_at(at +
			    (size_t)w * F, 1), F, acc, sum, V, pix, routed,
			    masks);
		if (pix == 8 && w + 4 <= OW) {
			fold_dw_pixels(v + w * step, step, row, g + at +
			    (size_t)w * F, route + fold_route_at(at +
			    (size_t)w * F, 1), F, acc, sum, V, 4, routed,
			    masks);
			w += 4;
		}
		if (w + 2 <= OW) {
			fold_dw_pixels(v + w * step, step, row, g + at +
			    (size_t)w * F, route + fold_route_at(at +
			    (size_t)w * F, 1), F, acc, sum, V, 2, routed,
			    masks);
			w += 2;
		}
		if (w < OW)
			fold_dw_pixels(v + w * step, step, row, g + at +
			    (size_t)w * F, route + fold_route_at(at +
			    (size_t)w * F, 1), F, acc, sum, V, 1, routed,
			    masks);
		/* Blocks of FOLD_ROWS rows sum in float. */
		if ((r + 1) % FOLD_ROWS != 0 && r + 1 < OH)
			continue;
		for (int u = 0; u < V; u++) {
			for (int t = 0; t < MONO_TAPS; t++) {
				sc_vstore(block[t] + 16 * u, acc[t][u]);
				acc[t][u] = zero;
			}
			sc_vstore(block_sum + 16 * u, sum[u]);
			sum[u] = zero;
		}
		fold_add_block(grad, F, f0, block, block_sum, sample, 16 * V);
	}
	fold_add_sample(grad, F, f0, sample, c, 16 * V);
}

/* fold_dw_rows for every filter of a sample, routed, masks and unit
 * made constants. */
static inline __attribute__((always_inline)) void
fold_dw_plain(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, const unsigned char *restrict route,
    float c, double *restrict grad, const int routed, const int masks,
    const int unit)
{
	int f0 = 0;

	for (; f0 + 32 <= l->out.c; f0 += 32)
		fold_dw_rows(l, pad, g + f0, route + fold_route_at((size_t)f0,
		    1), f0, c, grad, 2, routed, masks, unit);
	if (f0 < l->out.c)
		fold_dw_rows(l, pad, g + f0, route + fold_route_at((size_t)f0,
		    1), f0, c, grad, 1, routed, masks, unit);
}

/* Under the pool: one sample's A (less c S) and S for filters f0 ..
 * f0 + 15, added into grad, from the gradient g of its outputs (at
 * filter f0) sent along their routes, and the sample less its mean c,
 * bordered, in pad.  16 filters a block leave the sums, the gradient
 * and its routes all in registers: 0.075 s against 0.095 s for cnn's
 * 200 updates at 32. */
static inline __attribute__((always_inline)) void
fold_dw_sample(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, const unsigned char *restrict route, int f0,
    float c, double *restrict grad)
{
	int F = l->out.c, OHw = l->out.h / 2, OWw = l->out.w / 2;
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	size_t step = (size_t)l->stride;
	sc_vf acc[MONO_TAPS], sum, zero = { 0.0f };
	float block[MONO_TAPS][32], block_sum[32];
	double sample[32] = { 0.0 };

	for (int t = 0; t < MONO_TAPS; t++)
		acc[t] = zero;
	sum = zero;
	/* Blocks of FOLD_ROWS rows sum in float. */
	for (int r = 0; r < OHw; r++) {
		for (int w = 0; w < OWw; w++) {
			size_t at = ((size_t)r * OWw + w) * F;
			sc_vf gv = sc_vload(g + at);
			sc_vi rv;
			fold_vb b;

			__builtin_prefetch(g + at + FOLD_AHEAD / 4 * F);
			memcpy(&b, route + at, sizeof(b));
			rv = __builtin_convertvector(__builtin_convertvector(b,
			    fold_vs), sc_vi);
			sum += (sc_vf)((sc_vi)gv & (rv != FOLD_STOP));
			#pragma GCC unroll 4
			for (int q = 0; q < 4; q++) {
				const float *a = fold_pixel(pad, r, w, q, 2,
				    step, row);
				sc_vf gq = (sc_vf)((sc_vi)gv & (rv == q));

				#pragma GCC unroll 9
				for (int t = 0; t < MONO_TAPS; t++)
					acc[t] += gq * a[(size_t)(t / 3) * row +
					    t % 3];
			}
		}
		if ((r + 1) % FOLD_ROWS != 0 && r + 1 < OHw)
			continue;
		for (int t = 0; t < MONO_TAPS; t++) {
			sc_vstore(block[t], acc[t]);
			acc[t] = zero;
		}
		sc_vstore(block_sum, sum);
		sum = zero;
		fold_add_block(grad, F, f0, block, block_sum, sample, 16);
	}
	fold_add_sample(grad, F, f0, sample, c, 16);
}

#if SC_CLONES
/*
 * fold_dw_sample for 16 V filters with AVX-512's masks: a compare of 16
 * route bytes with q gives the mask of the filters whose gradient goes
 * to pixel q, and the multiply-adds take it as their write mask.  The
 * portable kernel widens the bytes to 32-bit lanes (GCC does it in 7
 * steps) and masks g before each pixel's 9 multiply-adds: cnn's first
 * layer's backward took 0.045 s against 0.036 s here for 200 updates at
 * 16 filters a pass, 0.034 s at 32.  The sums are the same, in the same
 * order: bit for bit where GCC fuses the portable kernel's multiply-adds
 * too (-O2).
 */
static inline __attribute__((always_inline)) SC_MASKS void
fold_dw_masked(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, const unsigned char *restrict route, int f0,
    float c, double *restrict grad, const int V)
{
	int F = l->out.c, OHw = l->out.h / 2, OWw = l->out.w / 2;
	size_t row = (size_t)l->in[0].w + 2 * l->pad;
	size_t step = (size_t)l->stride;
	__m512 acc[MONO_TAPS][2], sum[2];
	__m128i stop = _mm_set1_epi8((char)FOLD_STOP), to[4];
	float block[MONO_TAPS][32], block_sum[32];
	double sample[32] = { 0.0 };

	for (int q = 0; q < 4; q++)
		to[q] = _mm_set1_epi8((char)q);
	for (int u = 0; u < V; u++) {
		for (int t = 0; t < MONO_TAPS; t++)
			acc[t][u] = _mm512_setzero_ps();
		sum[u] = _mm512_setzero_ps();
	}
	for (int r = 0; r < OHw; r++) {
		for (int w = 0; w < OWw; w++) {
			size_t at = ((size_t)r * OWw + w) * F;
			__m512 gv[2];
			__m128i b[2];

			__builtin_prefetch(g + at + FOLD_AHEAD / 4 * F);
			for (int u = 0; u < V; u++) {
				gv[u] = _mm512_loadu_ps(g + at + 16 * u);
				b[u] = _mm_loadu_si128((const __m128i *)(route +
				    at + 16 * u));
				sum[u] = _mm512_mask_add_ps(sum[u],
				    _mm_cmpneq_epi8_mask(b[u], stop), sum[u],
				    gv[u]);
			}
			#pragma GCC unroll 4
			for (int q = 0; q < 4; q++) {
				const float *a = fold_pixel(pad, r, w, q, 2,
				    step, row);
				__mmask16 m[2];

				for (int u = 0; u < V; u++)
					m[u] = _mm_cmpeq_epi8_mask(b[u], to[q]);
				#pragma GCC unroll 9
				for (int t = 0; t < MONO_TAPS; t++) {
					__m512 in = _mm512_set1_ps(a[(size_t)(t /
					    3) * row + t % 3]);

					for (int u = 0; u < V; u++)
						acc[t][u] = _mm512_mask3_fmadd_ps(
						    gv[u], in, acc[t][u], m[u]);
				}
			}
		}
		if ((r + 1) % FOLD_ROWS != 0 && r + 1 < OHw)
			continue;
		for (int u = 0; u < V; u++) {
			for (int t = 0; t < MONO_TAPS; t++) {
				_mm512_storeu_ps(block[t] + 16 * u, acc[t][u]);
				acc[t][u] = _mm512_setzero_ps();
			}
			_mm512_storeu_ps(block_sum + 16 * u, sum[u]);
			sum[u] = _mm512_setzero_ps();
		}
		fold_add_block(grad, F, f0, block, block_sum, sample, 16 * V);
	}
	fold_add_sample(grad, F, f0, sample, c, 16 * V);
}

/* Every filter's sums of a routed output: without the pool fold_dw_rows
 * with the masks; under it 32 filters a pass where that many are left,
 * so that each input value feeds two multiply-adds and the gradient's
 * lines are read whole. */
static SC_MASKS void
fold_dw_masks(const struct sc_layer *l, const float *restrict pad,
    const float *restrict g, const unsigned char *restrict route,
    float c, double *restrict grad)
{
	int f0 = 0;

	if (fold_win(l) == 1) {
		if (l->stride == 1)
			fold_dw_plain(l, pad, g, route, c, grad, 1, 1, 1);
		else
			fold_dw_plain(l, pad, g, route, c, grad, 1, 1, 0);
		return;
	}
	for (; f0 + 32 <= l->out.c; f0 += 32)
		fold_dw_masked(l, pad, g + f0, route + f0, f0, c, grad, 2);
	if (f0 < l->out.c)
		fold_dw_masked(l, pad, g + f0, route + f0, f0, c, grad, 1);
}
#endif

/* A and S of samples lo..hi into grad (10 F doubles, zeroed here). */
SC_HOT static void
fold_grad_range(const struct sc_layer *l, const float *restrict x,
    const float *restrict dy, long lo, long hi, float *restrict pad,
    double *restrict grad)
{
	size_t in_len = sc_shape_size(l->in[0]), len = fold_len(l);
	int win = fold_win(l);
	int routed = win == 2 || l->bn->relu, unit = l->stride == 1;

#if SC_CLONES
	int masks = routed && sc_simd_masks();
#endif

	memset(grad, 0, 10 * (size_t)l->out.c * sizeof(double));
	for (long s = lo; s < hi; s++) {
		const float *g = dy + s * len;
		const unsigned char *route = fold_routes(l) +
		    fold_route_at(s * len, win);
		float c = shifted_border(l, x + s * in_len, pad);

		if (s + 1 < hi)
			prefetch_sample(x + (s + 1) * in_len, in_len);
#if SC_CLONES
		if (masks) {
			fold_dw_masks(l, pad, g, route, c, grad);
			continue;
		}
#endif
		if (win == 2)
			for (int f0 = 0; f0 < l->out.c; f0 += 16)
				fold_dw_sample(l, pad, g + f0, route + f0, f0,
				    c, grad);
		else if (routed && unit)
			fold_dw_plain(l, pad, g, route, c, grad, 1, 0, 1);
		else if (routed)
			fold_dw_plain(l, pad, g, route, c, grad, 1, 0, 0);
		else if (unit)
			fold_dw_plain(l, pad, g, route, c, grad, 0, 0, 1);
		else
			fold_dw_plain(l, pad, g, route, c, grad, 0, 0, 0);
	}
}

/*
 * The gradients from every thread's A and S, added in thread order.
 * With xhat = (z - mean) invstd and z = w . p + b, the sums over the
 * batch's M pixels are, where delta = w . pbar + b - mean (0 but for the
 * mean's rounding) and Ac = A - S pbar:
 *   sum g xhat = Q = invstd (w . Ac + delta S)
 *   sum xhat p    = M invstd (Cov w + delta pbar)
 * so dW = sum dz p = k (Ac - Q invstd (Cov w + delta pbar)) and db =
 * sum dz = -k Q invstd delta.  After a scoring pass mean and invstd are
 * constants: dz = k g, dW = k A, db = k S and Q = invstd (w . A + (b -
 * mean) S).  The batch norm's gradients are Q (gamma) and S (beta).
 */
static void
fold_finish(struct sc_layer *l)
{
	struct sc_layer *bn = l->bn;
	int F = l->out.c, parts = sc_threads();
	const double *pbar = fold_moments(l), *cov = pbar + MONO_TAPS;
	const float *mean, *invstd;

	sc_bn_stats(bn, &mean, &invstd);
	for (int f = 0; f < F; f++) {
		const float *w = l->w + (size_t)f * MONO_TAPS;
		double A[MONO_TAPS] = { 0.0 }, S = 0.0, Q;
		double r = invstd[f], k = (double)bn->w[f] * invstd[f];
		double delta = (l->n_b > 0 ? l->b[f] : 0.0) - mean[f];

		for (int t = 0; t < parts; t++) {
			const double *grad = fold_block(l, t).grad;

			for (int j = 0; j < MONO_TAPS; j++)
				A[j] += grad[(size_t)j * F + f];
			S += grad[(size_t)MONO_TAPS * F + f];
		}
		if (!bn->train) {
			Q = delta * S;
			for (int j = 0; j < MONO_TAPS; j++) {
				Q += w[j] * A[j];
				l->dw[(size_t)f * MONO_TAPS + j] += (float)(k *
				    A[j]);
			}
			Q *= r;
			if (l->n_b > 0)
				l->db[f] += (float)(k * S);
		} else {
			for (int j = 0; j < MONO_TAPS; j++) {
				delta += w[j] * pbar[j];
				A[j] -= S * pbar[j];
			}
			Q = delta * S;
			for (int j = 0; j < MONO_TAPS; j++)
				Q += w[j] * A[j];
			Q *= r;
			for (int j = 0; j < MONO_TAPS; j++) {
				double cw = delta * pbar[j];

				for (int i = 0; i < MONO_TAPS; i++)
					cw += cov[j * MONO_TAPS + i] * w[i];
				l->dw[(size_t)f * MONO_TAPS + j] += (float)(k *
				    (A[j] - Q * r * cw));
			}
			if (l->n_b > 0)
				l->db[f] += (float)(-k * Q * r * delta);
		}
		bn->dw[f] += (float)Q;
		bn->db[f] += (float)S;
	}
}

static void
fold_forward(struct sc_layer *l, const float *x, float *y, int n, int train)
{
	transpose_weights(l, l->work);
	if (!train)
		sc_bn_set(l->bn, NULL, NULL, 0);
	#pragma omp parallel num_threads(sc_threads())
	{
		struct fold_block b = fold_block(l, omp_get_thread_num());
		long lo, hi;

		sc_share(n, &lo, &hi);
		if (train) {
			fold_moments_range(l, x, lo, hi, b.pad, b.taps,
			    b.moments);
			#pragma omp barrier
			#pragma omp master
			fold_stats(l, n);
			#pragma omp barrier
		}
		fold_output_range(l, x, l->work, y, lo, hi, b.pad);
	}
}

static void
fold_backward(struct sc_layer *l, const float *x, const float *dy, int n)
{
	#pragma omp parallel num_threads(sc_threads())
	{
		struct fold_block b = fold_block(l, omp_get_thread_num());
		long lo, hi;

		sc_share(n, &lo, &hi);
		fold_grad_range(l, x, dy, lo, hi, b.pad, b.grad);
	}
	fold_finish(l);
}

static void
conv_forward(struct sc_layer *l, const float *const *x, float *y, int n,
    int train)
{
	int parts = sc_threads(), chunk = chunk_samples(l, l->max_batch);
	int direct = is_direct_forward(l), wino = is_winograd(l);
	int mono = is_mono(l);

	if (l->bn != NULL) {
		fold_forward(l, x[0], y, n, train);
		return;
	}
	if (direct)
		transpose_weights(l, l->work);
	#pragma omp parallel num_threads(parts)
	{
		int t = omp_get_thread_num();
		long lo, hi;

		if (wino) {
			sc_split(l->out.c, t, parts, &lo, &hi);
			sc_wino_filters(l, l->work, lo, hi, 1,
			    thread_block(l, t));
			#pragma omp barrier
		}
		sc_split(n, t, parts, &lo, &hi);
		if (wino)
			sc_wino_forward(l, l->work, x[0], y, lo, hi,
			    thread_block(l, t));
		else if (mono)
			mono_forward(l, x[0], l->work, y, lo, hi,
			    thread_block(l, t));
		else if (direct)
			direct_forward(l, x[0], l->work, y, lo, hi,
			    thread_block(l, t));
		else
			forward_range(l, x[0], y, lo, hi, chunk,
			    thread_block(l, t));
	}
}

/* The backward pass of samples lo..hi into this thread's dW and db. */
static void
backward_range(struct sc_layer *l, const float *x, const float *dy,
    float *dx, long lo, long hi, int chunk, float *work)
{
	size_t in_len = sc_shape_size(l->in[0]), kkc = patch_len(l);
	size_t patches = (size_t)chunk * out_pixels(l) * kkc;
	int F = l->out.c;
	float *dcol = work + patches;
	float *dw = work + partial_offset(l, l->max_batch);
	float *db = dw + l->n_w;

	memset(dw, 0, (l->n_w + l->n_b) * sizeof(float));
	for (long s0 = lo; s0 < hi; s0 += chunk) {
		int cn = hi - s0 < chunk ? (int)(hi - s0) : chunk;
		int P = cn * (int)out_pixels(l);
		const float *col = x + (size_t)s0 * in_len;
		const float *g = dy + (size_t)s0 * out_pixels(l) * F;

		if (!is_pointwise(l)) {
			im2col(l, col, cn, work);
			col = work;
		}
		sc_sgemm(1, 0, F, (int)kkc, P, 1.0f, g, F, col, (int)kkc,
		    1.0f, dw, (int)kkc);
		if (l->n_b > 0)
			add_rows(g, P, F, db);
		if (dx == NULL)
			continue;
		if (is_pointwise(l)) {
			sc_sgemm(0, 0, P, (int)kkc, F, 1.0f, g, F, l->w,
			    (int)kkc, l->dx_add[0] ? 1.0f : 0.0f,
			    dx + (size_t)s0 * in_len, (int)kkc);
			continue;
		}
		sc_sgemm(0, 0, P, (int)kkc, F, 1.0f, g, F, l->w, (int)kkc,
		    0.0f, dcol, (int)kkc);
		col2im(l, dcol, cn, dx + (size_t)s0 * in_len);
	}
}

/* dx of samples lo..hi as col2im(dy W), in chunks of dcol_samples. */
static void
dx_by_product(const struct sc_layer *l, const float *dy, float *dx,
    long lo, long hi, float *dcol)
{
	size_t in_len = sc_shape_size(l->in[0]), kkc = patch_len(l);
	int F = l->out.c, chunk = dcol_samples(l, l->max_batch);

	for (long s0 = lo; s0 < hi; s0 += chunk) {
		int cn = hi - s0 < chunk ? (int)(hi - s0) : chunk;
		int P = cn * (int)out_pixels(l);

		sc_sgemm(0, 0, P, (int)kkc, F, 1.0f, dy + (size_t)s0 *
		    out_pixels(l) * F, F, l->w, (int)kkc, 0.0f, dcol,
		    (int)kkc);
		col2im(l, dcol, cn, dx + (size_t)s0 * in_len);
	}
}

/*
 * Winograd and the pointwise product add dx into a gradient already
 * there, which saves writing it apart and adding it after.  col2im could
 * too, but measured slower so: resnet8's stride-2 16->32 layer, 200
 * batches at one thread, 0.78-0.86 s against 0.69-0.72 s, as adding into
 * a gradient written long before waits for memory where zeroing a fresh
 * one does not.
 */
static int
conv_adds_dx(const struct sc_layer *l)
{
	return is_winograd(l) || is_pointwise(l);
}

static void
conv_backward(struct sc_layer *l, const float *const *x, const float *y,
    const float *dy, float *const *dx, int n)
{
	int parts = sc_threads(), chunk = chunk_samples(l, l->max_batch);
	size_t offset = partial_offset(l, l->max_batch);
	int direct = is_direct(l), wino = is_winograd(l), F = l->out.c;
	int trans = is_transposed_dx(l) && dx[0] != NULL;
	struct sc_layer tl = transposed(l);
	float *wt2 = l->work + round16(l->n_w);

	(void)y;
	if (l->bn != NULL) {
		fold_backward(l, x[0], dy, n);
		return;
	}
	if (direct)
		transpose_weights(l, l->work);
	if (trans)
		transposed_weights(l, wt2);
	#pragma omp parallel num_threads(parts)
	{
		int t = omp_get_thread_num();
		float *block = thread_block(l, t);
		long lo, hi;

		if (wino) {
			sc_split(l->out.c, t, parts, &lo, &hi);
			sc_wino_filters(l, l->work, lo, hi, 0,
			    thread_block(l, t));
			#pragma omp barrier
		}
		sc_split(n, t, parts, &lo, &hi);
		if (wino) {
			float *db = block + offset + l->n_w;

			sc_wino_backward(l, l->work, x[0], dy, dx[0], lo, hi,
			    block, block + offset);
			if (l->n_b > 0) {
				memset(db, 0, l->n_b * sizeof(float));
				add_rows(dy + (size_t)lo * out_pixels(l) * F,
				    (int)((hi - lo) * out_pixels(l)), F, db);
			}
		} else if (direct) {
			/* dWt, then transposed into this thread's dW. */
			if (is_mono(l) && dx[0] == NULL)
				mono_dw(l, x[0], dy, lo, hi, block,
				    block + offset + l->n_w,
				    block + round16(l->n_w));
			else
				direct_backward(l, x[0], l->work, dy, dx[0],
				    lo, hi, block, block + offset + l->n_w,
				    block + round16(l->n_w), block +
				    round16(l->n_w) + round16(padded_len(l)));
			share_from_wt(l, block, offset);
		} else if (is_narrow(l)) {
			float *pad = block + round16(l->n_w);

			narrow_dw(l, x[0], dy, lo, hi, block,
			    block + offset + l->n_w, pad);
			share_from_wt(l, block, offset);
			if (trans)
				direct_forward(&tl, dy, wt2, dx[0], lo, hi,
				    pad + round16(padded_len(l)));
			else if (dx[0] != NULL)
				dx_by_product(l, dy, dx[0], lo, hi,
				    pad + round16(padded_len(l)));
		} else {
			backward_range(l, x[0], dy, trans ? NULL : dx[0], lo,
			    hi, chunk, block);
			if (trans)
				direct_forward(&tl, dy, wt2, dx[0], lo, hi,
				    block);
		}
		#pragma omp barrier
		add_shares(l, t, parts, offset);
	}
}

void
sc_conv_patch_stats(const struct sc_layer *l, double pbar[9],
    double cov[81])
{
	const double *m = fold_moments(l);

	memcpy(pbar, m, MONO_TAPS * sizeof(double));
	memcpy(cov, m + MONO_TAPS, MONO_TAPS * MONO_TAPS * sizeof(double));
}

/* The batch norm reading a one-channel layer of 3x3 filters. */
static int
conv_takes_bn(const struct sc_layer *l)
{
	return is_mono(l) && is_direct(l);
}

static const struct sc_layer_ops conv_ops = {
	.kind = "conv",
	.init = conv_init,
	.forward = conv_forward,
	.backward = conv_backward,
	.priv_size = conv_priv_size,
	.work_size = conv_work_size,
	.adds_dx = conv_adds_dx,
	.takes_bn = conv_takes_bn,
};

int
sc_conv_setup(struct sc_layer *l, struct sc_shape in, int filters, int k,
    int stride, int pad, int bias)
{
	int oh = (in.h + 2 * pad - k) / stride + 1;
	int ow = (in.w + 2 * pad - k) / stride + 1;

	if (filters < 1 || k < 1 || stride < 1 || pad < 0 || pad >= k)
		return sc_fail("conv: filters %d, kernel %d, stride %d, "
		    "padding %d: need filters, kernel and stride >= 1 and "
		    "0 <= padding < kernel", filters, k, stride, pad);
	if (in.h + 2 * pad < k || in.w + 2 * pad < k)
		return sc_fail("conv: kernel %d does not fit a %dx%d input "
		    "with padding %d", k, in.h, in.w, pad);
	l->ops = &conv_ops;
	l->in[0] = in;
	l->out = (struct sc_shape){ filters, oh, ow };
	l->k = k;
	l->stride = stride;
	l->pad = pad;
	l->n_w = (size_t)filters * k * k * in.c;
	l->n_b = bias ? (size_t)filters : 0;
	return 0;
}

void
sc_conv_naive_forward(const struct sc_layer *l, const float *x, float *y,
    int n)
{
	int H = l->in[0].h, W = l->in[0].w, C = l->in[0].c;
	int OH = l->out.h, OW = l->out.w, F = l->out.c, K = l->k;

	for (int s = 0; s < n; s++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				for (int f = 0; f < F; f++) {
					double sum = l->n_b > 0 ? l->b[f] : 0;

					for (int kh = 0; kh < K; kh++)
						for (int kw = 0; kw < K; kw++)
							for (int c = 0; c < C;
							    c++) {
								int ih = oh *
								    l->stride -
								    l->pad + kh;
								int iw = ow *
								    l->stride -
								    l->pad + kw;

								if (ih < 0 ||
								    ih >= H ||
								    iw < 0 ||
								    iw >= W)
									continue;
								sum += (double)
								    x[(((size_t)
								    s * H + ih)
								    * W + iw) *
								    C + c] *
								    l->w[((size_t)
								    (f * K + kh)
								    * K + kw) *
								    C + c];
							}
					y[(((size_t)s * OH + oh) * OW + ow) *
					    F + f] = (float)sum;
				}
}
