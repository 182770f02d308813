/*
 * Winograd F(2x2, 3x3) convolutions (see sc_wino.h).
 *
 * With the tile d (4x4), the filter g (3x3) and the output block y (2x2):
 *   V = B^T d B,  U = G g G^T,  y = A^T (U .* V) A,
 * and backward, with dy the block's gradient:
 *   dM = A dy A^T,  dU = sum over tiles of dM .* V,  dV = dM .* U,
 *   dg = G^T dU G,  dd = B dV B^T (added into dx, as tiles overlap),
 * where
 *   B^T = | 1  0 -1  0 |   G = | 1    0    0  |   A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |       | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
 *         | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |       | 0    0    1  |
 * Activations are NHWC, so each transform is a loop along the channels
 * (filters, for the output side) of 16 or 4 pixels at once; a tile's 16
 * transformed rows are stored together, [tile][16][C], and the product
 * for position xi reads every 16th row.  Tile (th, tw) of a sample starts
 * at input pixel (2 th - 1, 2 tw - 1); pixels outside the image read as
 * zeros, and outputs outside it go to scratch rows.
 */
#include <string.h>

#include "sc_blas.h"
#include "sc_simd.h"
#include "sc_wino.h"

#define XI 16			/* positions in a transformed tile */
/*
 * Floats of V and M (or dM) per chunk of samples.  Measured on AMD Zen 5
 * with the cnn preset's layers: the forward pass was fastest with 2^19
 * floats (2 MiB) a chunk (its 64-filter layer a little faster with less,
 * its 128-filter one with more), the backward pass, which also reads dM
 * twice and writes dV over V, with 2^18 (1 MiB); from 3 MiB on, the
 * backward ran 1.5 times slower.  The work memory is sized for the
 * forward chunk, which must be the larger.
 */
#define FORWARD_WORK (1u << 19)
#define BACKWARD_WORK (1u << 18)

int
sc_wino_fits(const struct sc_layer *l)
{
	return l->k == 3 && l->stride == 1 && l->pad == 1;
}

static int
tiles_h(const struct sc_layer *l)
{
	return (l->out.h + 1) / 2;
}

static int
tiles_w(const struct sc_layer *l)
{
	return (l->out.w + 1) / 2;
}

static size_t
sample_tiles(const struct sc_layer *l)
{
	return (size_t)tiles_h(l) * tiles_w(l);
}

static size_t
round16(size_t n)
{
	return (n + 15) / 16 * 16;
}

/* The widest row a transform reads or writes: channels or filters. */
static int
row_len(const struct sc_layer *l)
{
	return l->in[0].c > l->out.c ? l->in[0].c : l->out.c;
}

/* Samples per chunk: V and M of a chunk within `budget` floats. */
static int
chunk_samples(const struct sc_layer *l, int max_batch, size_t budget)
{
	size_t per = sample_tiles(l) * XI * (size_t)(l->in[0].c + l->out.c);
	size_t n = budget / per;

	if (n < 1)
		n = 1;
	return n < (size_t)max_batch ? (int)n : max_batch;
}

/* Floats of one set of transformed filters, or of their gradient. */
static size_t
filters_len(const struct sc_layer *l)
{
	return round16((size_t)XI * l->out.c * l->in[0].c);
}

/*
 * Layers whose channels and filters are each 16 or 32 run the products
 * in the Winograd domain as loops of their own rather than as BLAS
 * calls: with an inner dimension of 16 or 32, the BLAS spends about as
 * much on packing its operands and clearing its result as on the sums.
 * The loops keep a block of sums in vector registers, like the direct
 * convolution's.  Measured on resnet8's 32-filter layer, 200 batches:
 * forward 0.31 s against 0.46 s, backward the same.  With 64 filters the
 * BLAS won (cnn's second layer forward: 0.74 s against 1.00 s).
 */
static int
vector_width(int n)
{
	return n == 16 || n == 32;
}

static int
own_products(const struct sc_layer *l)
{
	return vector_width(l->in[0].c) && vector_width(l->out.c);
}

size_t
sc_wino_shared(const struct sc_layer *l)
{
	/* U as [xi][F][C], and for the own loops also as [xi][C][F]. */
	return (1 + own_products(l)) * filters_len(l);
}

/*
 * A thread's work: V for a chunk, M (or dM) for it, dU, then rows for the
 * transforms: 16 of scratch, one of zeros, and 16 that absorb the writes
 * to pixels outside the image (one for each position in a tile, so that
 * no two outputs of a transform share memory).
 */
struct wino_work {
	float *v, *m, *du, *tmp, *zero, *sink;
	int chunk;
};

enum { AT_M, AT_DU, AT_TMP, AT_ZERO, AT_SINK, AT_END };

/* Where each part starts, in floats from the block's start; the sizes
 * are those of the larger, forward chunk. */
static void
offsets(const struct sc_layer *l, int max_batch, size_t at[AT_END])
{
	size_t tiles = (size_t)chunk_samples(l, max_batch, FORWARD_WORK) *
	    sample_tiles(l);

	at[AT_M] = round16(tiles * XI * l->in[0].c);
	at[AT_DU] = at[AT_M] + round16(tiles * XI * l->out.c);
	at[AT_TMP] = at[AT_DU] + filters_len(l);
	at[AT_ZERO] = at[AT_TMP] + round16((size_t)XI * row_len(l));
	at[AT_SINK] = at[AT_ZERO] + round16(row_len(l));
}

static struct wino_work
layout(const struct sc_layer *l, int max_batch, size_t budget, float *base)
{
	struct wino_work w;
	size_t at[AT_END];

	offsets(l, max_batch, at);
	w.chunk = chunk_samples(l, max_batch, budget);
	w.v = base;
	w.m = base + at[AT_M];
	w.du = base + at[AT_DU];
	w.tmp = base + at[AT_TMP];
	w.zero = base + at[AT_ZERO];
	w.sink = base + at[AT_SINK];
	return w;
}

size_t
sc_wino_thread(const struct sc_layer *l, int max_batch)
{
	size_t at[AT_END];

	offsets(l, max_batch, at);
	return at[AT_SINK] + XI * round16(row_len(l));
}

/*
 * The four one-dimensional transforms, each along n channels of four (or
 * two) rows.  Applied to the rows of a tile and then to its columns,
 * they give the two-dimensional ones.
 */

/* o = B^T a. */
static inline __attribute__((always_inline)) void
bt4(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3, float *restrict o0,
    float *restrict o1, float *restrict o2, float *restrict o3)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];

		o0[c] = x0 - x2;
		o1[c] = x1 + x2;
		o2[c] = x2 - x1;
		o3[c] = x1 - x3;
	}
}

/* o = B a: the transpose. */
static inline __attribute__((always_inline)) void
b4(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3, float *restrict o0,
    float *restrict o1, float *restrict o2, float *restrict o3)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];

		o0[c] = x0;
		o1[c] = x1 - x2 + x3;
		o2[c] = x1 + x2 - x0;
		o3[c] = -x3;
	}
}

/* o += B a. */
static inline __attribute__((always_inline)) void
add_b4(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3, float *restrict o0,
    float *restrict o1, float *restrict o2, float *restrict o3)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];

		o0[c] += x0;
		o1[c] += x1 - x2 + x3;
		o2[c] += x1 + x2 - x0;
		o3[c] -= x3;
	}
}

/* o = bias + A^T a (bias: a row of n values). */
static inline __attribute__((always_inline)) void
at4(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3,
    const float *restrict bias, float *restrict o0, float *restrict o1)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];

		o0[c] = bias[c] + (x0 + x1 + x2);
		o1[c] = bias[c] + (x1 - x2 - x3);
	}
}

/* o = A a: the transpose, from two rows to four. */
static inline __attribute__((always_inline)) void
a4(int n, const float *restrict a0, const float *restrict a1,
    float *restrict o0, float *restrict o1, float *restrict o2,
    float *restrict o3)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c];

		o0[c] = x0;
		o1[c] = x0 + x1;
		o2[c] = x0 - x1;
		o3[c] = -x1;
	}
}

/* Where the 16 pixels of tile (th, tw) of an H x W image start, in
 * pixels, row-major; OUTSIDE for those outside the image. */
#define OUTSIDE ((size_t)-1)

static inline void
tile_pixels(int H, int W, int th, int tw, size_t at[XI])
{
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			int h = 2 * th - 1 + i, w = 2 * tw - 1 + j;

			at[i * 4 + j] = h < 0 || h >= H || w < 0 || w >= W ?
			    OUTSIDE : (size_t)h * W + w;
		}
}

/*
 * Each transform is written once for a width n (channels or filters)
 * and run through AT_WIDTH, which passes 16 and 32 as constants, so that
 * the loops along a row unroll for those widths, and any other width as
 * it is.
 */
#define AT_WIDTH(n, f, ...) ((n) == 16 ? f(__VA_ARGS__, 16) : \
    (n) == 32 ? f(__VA_ARGS__, 32) : f(__VA_ARGS__, (n)))

/* V of samples 0..n-1 of x: [tile][16][C]. */
static inline __attribute__((always_inline)) void
input_tiles_n(const struct sc_layer *l, const float *x, int n,
    const struct wino_work *w, const int C)
{
	int H = l->in[0].h, W = l->in[0].w;
	int TH = tiles_h(l), TW = tiles_w(l);
	float *t = w->tmp, *v = w->v;

	for (int s = 0; s < n; s++)
		for (int th = 0; th < TH; th++)
			for (int tw = 0; tw < TW; tw++, v += XI * C) {
				const float *img = x + (size_t)s * H * W * C;
				const float *d[XI];
				size_t at[XI];

				tile_pixels(H, W, th, tw, at);
				for (int k = 0; k < XI; k++)
					d[k] = at[k] == OUTSIDE ? w->zero :
					    img + at[k] * C;
				for (int j = 0; j < 4; j++)
					bt4(C, d[j], d[4 + j], d[8 + j],
					    d[12 + j], t + j * C,
					    t + (4 + j) * C, t + (8 + j) * C,
					    t + (12 + j) * C);
				for (int i = 0; i < 4; i++) {
					const float *r = t + 4 * i * C;
					float *o = v + 4 * i * C;

					bt4(C, r, r + C, r + 2 * C, r + 3 * C,
					    o, o + C, o + 2 * C, o + 3 * C);
				}
			}
}

SC_HOT static void
input_tiles(const struct sc_layer *l, const float *x, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->in[0].c, input_tiles_n, l, x, n, w);
}

/* y of samples 0..n-1 from M: [tile][16][F]. */
static inline __attribute__((always_inline)) void
output_tiles_n(const struct sc_layer *l, float *y, int n,
    const struct wino_work *w, const int F)
{
	int OH = l->out.h, OW = l->out.w;
	int TH = tiles_h(l), TW = tiles_w(l);
	const float *bias = l->n_b > 0 ? l->b : w->zero;
	const float *m = w->m;
	float *t = w->tmp;

	for (int s = 0; s < n; s++)
		for (int th = 0; th < TH; th++)
			for (int tw = 0; tw < TW; tw++, m += XI * F) {
				float *o[4];

				for (int i = 0; i < 2; i++)
					for (int j = 0; j < 2; j++) {
						int h = 2 * th + i;
						int x = 2 * tw + j;

						o[i * 2 + j] = h < OH && x < OW ?
						    y + (((size_t)s * OH + h) *
						    OW + x) * F : w->sink +
						    (i * 2 + j) *
						    round16(row_len(l));
					}
				/* Rows: t[r][j] for r < 2, j < 4. */
				for (int j = 0; j < 4; j++)
					at4(F, m + j * F, m + (4 + j) * F,
					    m + (8 + j) * F, m + (12 + j) * F,
					    w->zero, t + j * F,
					    t + (4 + j) * F);
				for (int r = 0; r < 2; r++) {
					const float *q = t + 4 * r * F;

					at4(F, q, q + F, q + 2 * F, q + 3 * F,
					    bias, o[2 * r], o[2 * r + 1]);
				}
			}
}

SC_HOT static void
output_tiles(const struct sc_layer *l, float *y, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->out.c, output_tiles_n, l, y, n, w);
}

/* dM of samples 0..n-1 from dy, into M: [tile][16][F]. */
static inline __attribute__((always_inline)) void
gradient_tiles_n(const struct sc_layer *l, const float *dy, int n,
    const struct wino_work *w, const int F)
{
	int OH = l->out.h, OW = l->out.w;
	int TH = tiles_h(l), TW = tiles_w(l);
	float *t = w->tmp, *m = w->m;

	for (int s = 0; s < n; s++)
		for (int th = 0; th < TH; th++)
			for (int tw = 0; tw < TW; tw++, m += XI * F) {
				const float *g[4];

				for (int i = 0; i < 2; i++)
					for (int j = 0; j < 2; j++) {
						int h = 2 * th + i;
						int x = 2 * tw + j;

						g[i * 2 + j] = h < OH && x < OW ?
						    dy + (((size_t)s * OH + h) *
						    OW + x) * F : w->zero;
					}
				/* Rows: t[i][j] for i < 4, j < 2. */
				for (int j = 0; j < 2; j++)
					a4(F, g[j], g[2 + j], t + j * F,
					    t + (2 + j) * F, t + (4 + j) * F,
					    t + (6 + j) * F);
				for (int i = 0; i < 4; i++) {
					const float *q = t + 2 * i * F;
					float *o = m + 4 * i * F;

					a4(F, q, q + F, o, o + F, o + 2 * F,
					    o + 3 * F);
				}
			}
}

SC_HOT static void
gradient_tiles(const struct sc_layer *l, const float *dy, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->out.c, gradient_tiles_n, l, dy, n, w);
}

/* dx of samples 0..n-1 from dV, which is in V: each tile's B dV B^T
 * added into its 16 pixels. */
static inline __attribute__((always_inline)) void
add_input_tiles_n(const struct sc_layer *l, float *dx, int n,
    const struct wino_work *w, const int C)
{
	int H = l->in[0].h, W = l->in[0].w;
	int TH = tiles_h(l), TW = tiles_w(l);
	const float *v = w->v;
	float *t = w->tmp;

	memset(dx, 0, (size_t)n * H * W * C * sizeof(float));
	for (int s = 0; s < n; s++)
		for (int th = 0; th < TH; th++)
			for (int tw = 0; tw < TW; tw++, v += XI * C) {
				float *img = dx + (size_t)s * H * W * C;
				float *d[XI];
				size_t at[XI];

				tile_pixels(H, W, th, tw, at);
				for (int k = 0; k < XI; k++)
					d[k] = at[k] == OUTSIDE ? w->sink + k *
					    round16(row_len(l)) : img + at[k] * C;
				/* Columns first: t[i][j] = (dV B^T)[i][j]. */
				for (int i = 0; i < 4; i++) {
					const float *r = v + 4 * i * C;
					float *o = t + 4 * i * C;

					b4(C, r, r + C, r + 2 * C, r + 3 * C,
					    o, o + C, o + 2 * C, o + 3 * C);
				}
				/* Then rows, each added into its pixel. */
				for (int j = 0; j < 4; j++)
					add_b4(C, t + j * C, t + (4 + j) * C,
					    t + (8 + j) * C, t + (12 + j) * C,
					    d[j], d[4 + j], d[8 + j], d[12 + j]);
			}
}

SC_HOT static void
add_input_tiles(const struct sc_layer *l, float *dx, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->in[0].c, add_input_tiles_n, l, dx, n, w);
}

/* o = G a, from three rows to four. */
static inline __attribute__((always_inline)) void
g4(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, float *restrict o0, float *restrict o1,
    float *restrict o2, float *restrict o3)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c];

		o0[c] = x0;
		o1[c] = 0.5f * (x0 + x1 + x2);
		o2[c] = 0.5f * (x0 - x1 + x2);
		o3[c] = x2;
	}
}

/* o = G^T a: the transpose, from four rows to three. */
static inline __attribute__((always_inline)) void
gt4(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3, float *restrict o0,
    float *restrict o1, float *restrict o2)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];

		o0[c] = x0 + 0.5f * (x1 + x2);
		o1[c] = 0.5f * (x1 - x2);
		o2[c] = 0.5f * (x1 + x2) + x3;
	}
}

/* U = G g G^T for filters lo..hi: U[xi][f][c]. */
SC_HOT static void
filters_range(const struct sc_layer *l, float *u, long lo, long hi,
    float *t)
{
	int C = l->in[0].c, F = l->out.c;
	size_t plane = (size_t)F * C;

	for (long f = lo; f < hi; f++) {
		const float *g = l->w + (size_t)f * 9 * C;
		float *o = u + (size_t)f * C;

		/* Columns of g: t[i][j] = (G g)[i][j], rows of 3 taps. */
		for (int j = 0; j < 3; j++)
			g4(C, g + j * C, g + (3 + j) * C, g + (6 + j) * C,
			    t + j * C, t + (3 + j) * C, t + (6 + j) * C,
			    t + (9 + j) * C);
		for (int i = 0; i < 4; i++) {
			const float *r = t + 3 * i * C;
			float *q = o + (size_t)4 * i * plane;

			g4(C, r, r + C, r + 2 * C, q, q + plane,
			    q + 2 * plane, q + 3 * plane);
		}
		/* The copy for the own loops' forward pass: [xi][C][F]. */
		for (int xi = 0; own_products(l) && xi < XI; xi++)
			for (int c = 0; c < C; c++)
				u[filters_len(l) + (size_t)xi * plane +
				    (size_t)c * F + f] = o[xi * plane + c];
	}
}

void
sc_wino_filters(const struct sc_layer *l, float *u, long lo, long hi,
    float *work)
{
	struct wino_work w = layout(l, l->max_batch, FORWARD_WORK, work);

	filters_range(l, u, lo, hi, w.tmp);
}

/* dW = G^T dU G, into the layer's weight layout [F][3][3][C]. */
SC_HOT static void
filter_gradient(const struct sc_layer *l, const float *du, float *dw,
    float *t)
{
	int C = l->in[0].c, F = l->out.c;
	size_t plane = (size_t)F * C;

	for (int f = 0; f < F; f++) {
		const float *q = du + (size_t)f * C;
		float *o = dw + (size_t)f * 9 * C;

		/* Columns of dU: t[k][j] = (G^T dU)[k][j]. */
		for (int j = 0; j < 4; j++)
			gt4(C, q + j * plane, q + (4 + j) * plane,
			    q + (8 + j) * plane, q + (12 + j) * plane,
			    t + j * C, t + (4 + j) * C, t + (8 + j) * C);
		for (int k = 0; k < 3; k++) {
			const float *r = t + 4 * k * C;

			gt4(C, r, r + C, r + 2 * C, r + 3 * C, o + 3 * k * C,
			    o + (3 * k + 1) * C, o + (3 * k + 2) * C);
		}
	}
}

/*
 * The own loops.  tile_products: out[t][xi][0..width) = sum over k < K of
 * in[t][xi][k] mat[xi][k][0..width), for T tiles; forward (in = V,
 * mat = U as [xi][C][F]) and for dV (in = dM, mat = U as [xi][F][C]).
 * pix tiles at a time share each row of mat, and pix x width sums stay
 * in registers; width (16 or 32, as own_products allows) and pix are
 * constants where this is inlined.
 */
#define MAX_TILES 8
#define MAX_WIDTH 32

static inline __attribute__((always_inline)) void
products_block(const float *restrict in, size_t in_row, int K,
    const float *restrict mat, float *restrict out, size_t out_row,
    const int width, const int pix)
{
	float acc[MAX_TILES][MAX_WIDTH];

	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		for (int f = 0; f < width; f++)
			acc[p][f] = 0.0f;
	for (int k = 0; k < K; k++) {
		const float *restrict w = mat + (size_t)k * width;

		#pragma GCC unroll 8
		for (int p = 0; p < pix; p++)
			for (int f = 0; f < width; f++)
				acc[p][f] += in[p * in_row + k] * w[f];
	}
	#pragma GCC unroll 8
	for (int p = 0; p < pix; p++)
		for (int f = 0; f < width; f++)
			out[p * out_row + f] = acc[p][f];
}

static inline __attribute__((always_inline)) void
products_width(const float *restrict in, int K, const float *restrict mat,
    float *restrict out, int T, const int width, const int pix)
{
	size_t in_row = (size_t)XI * K, out_row = (size_t)XI * width;
	int t = 0;

	for (; t + pix <= T; t += pix)
		for (int xi = 0; xi < XI; xi++)
			products_block(in + t * in_row + xi * K, in_row, K,
			    mat + (size_t)xi * K * width, out + t * out_row +
			    xi * width, out_row, width, pix);
	for (; t < T; t++)
		for (int xi = 0; xi < XI; xi++)
			products_block(in + t * in_row + xi * K, in_row, K,
			    mat + (size_t)xi * K * width, out + t * out_row +
			    xi * width, out_row, width, 1);
}

SC_HOT static void
tile_products(const float *in, int K, const float *mat, float *out, int T,
    int width)
{
	if (width == 16)
		products_width(in, K, mat, out, T, 16, 8);
	else
		products_width(in, K, mat, out, T, 32, 4);
}

/*
 * tile_outer: du[xi][f][0..width) += sum over tiles t of
 * a[t][xi][f] b[t][xi][0..width), for f < F: dU from dM (a) and V (b).
 * rows x width sums (16 vector registers) stay in registers while the
 * tiles stream past.
 */
static inline __attribute__((always_inline)) void
outer_width(const float *restrict a, int F, const float *restrict b,
    float *restrict du, int T, const int width, const int rows)
{
	size_t a_row = (size_t)XI * F, b_row = (size_t)XI * width;

	for (int xi = 0; xi < XI; xi++)
		for (int f0 = 0; f0 < F; f0 += rows) {
			const float *restrict g = a + xi * F + f0;
			const float *restrict v = b + xi * width;
			float *restrict d = du + ((size_t)xi * F + f0) * width;
			float acc[16][MAX_WIDTH];

			#pragma GCC unroll 16
			for (int r = 0; r < rows; r++)
				for (int c = 0; c < width; c++)
					acc[r][c] = 0.0f;
			for (int t = 0; t < T; t++)
				#pragma GCC unroll 16
				for (int r = 0; r < rows; r++)
					for (int c = 0; c < width; c++)
						acc[r][c] += g[t * a_row + r] *
						    v[t * b_row + c];
			#pragma GCC unroll 16
			for (int r = 0; r < rows; r++)
				for (int c = 0; c < width; c++)
					d[r * width + c] += acc[r][c];
		}
}

SC_HOT static void
tile_outer(const float *a, int F, const float *b, float *du, int T,
    int width)
{
	if (width == 16)
		outer_width(a, F, b, du, T, 16, 16);
	else
		outer_width(a, F, b, du, T, 32, 8);
}

void
sc_wino_forward(const struct sc_layer *l, const float *u, const float *x,
    float *y, long lo, long hi, float *work)
{
	struct wino_work w = layout(l, l->max_batch, FORWARD_WORK, work);
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);
	int C = l->in[0].c, F = l->out.c;

	memset(w.zero, 0, row_len(l) * sizeof(float));
	for (long s0 = lo; s0 < hi; s0 += w.chunk) {
		int n = hi - s0 < w.chunk ? (int)(hi - s0) : w.chunk;
		int T = n * (int)sample_tiles(l);

		input_tiles(l, x + (size_t)s0 * in_len, n, &w);
		if (own_products(l))
			tile_products(w.v, C, u + filters_len(l), w.m, T, F);
		else
			for (int xi = 0; xi < XI; xi++)
				sc_sgemm(0, 1, T, F, C, 1.0f, w.v +
				    (size_t)xi * C, XI * C, u + (size_t)xi *
				    F * C, C, 0.0f, w.m + (size_t)xi * F,
				    XI * F);
		output_tiles(l, y + (size_t)s0 * out_len, n, &w);
	}
}

void
sc_wino_backward(const struct sc_layer *l, const float *u, const float *x,
    const float *dy, float *dx, long lo, long hi, float *work, float *dw)
{
	struct wino_work w = layout(l, l->max_batch, BACKWARD_WORK, work);
	size_t in_len = sc_shape_size(l->in[0]);
	size_t out_len = sc_shape_size(l->out);
	int C = l->in[0].c, F = l->out.c;

	memset(w.zero, 0, row_len(l) * sizeof(float));
	memset(w.du, 0, filters_len(l) * sizeof(float));
	for (long s0 = lo; s0 < hi; s0 += w.chunk) {
		int n = hi - s0 < w.chunk ? (int)(hi - s0) : w.chunk;
		int T = n * (int)sample_tiles(l);

		input_tiles(l, x + (size_t)s0 * in_len, n, &w);
		gradient_tiles(l, dy + (size_t)s0 * out_len, n, &w);
		if (own_products(l))
			tile_outer(w.m, F, w.v, w.du, T, C);
		else
			for (int xi = 0; xi < XI; xi++)
				sc_sgemm(1, 0, F, C, T, 1.0f, w.m +
				    (size_t)xi * F, XI * F, w.v +
				    (size_t)xi * C, XI * C, 1.0f, w.du +
				    (size_t)xi * F * C, C);
		if (dx == NULL)
			continue;
		/* dV overwrites V, which dU no longer needs. */
		if (own_products(l))
			tile_products(w.m, F, u, w.v, T, C);
		else
			for (int xi = 0; xi < XI; xi++)
				sc_sgemm(0, 0, T, C, F, 1.0f, w.m +
				    (size_t)xi * F, XI * F, u + (size_t)xi *
				    F * C, C, 0.0f, w.v + (size_t)xi * C,
				    XI * C);
		add_input_tiles(l, dx + (size_t)s0 * in_len, n, &w);
	}
	filter_gradient(l, w.du, dw, w.tmp);
}
