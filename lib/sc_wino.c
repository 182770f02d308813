/*
 * Winograd F(4x4, 3x3) convolutions (see sc_wino.h).
 *
 * With the tile d (6x6), the filter g (3x3) and the output block y (4x4):
 *   V = B^T d B,  U = G g G^T,  y = A^T (U .* V) A,
 * and backward, with dy the block's gradient:
 *   dM = A dy A^T,  dU = sum over tiles of dM .* V,  dV = dM .* U,
 *   dg = G^T dU G,  dd = B dV B^T (added into dx, as tiles overlap),
 * where, from the interpolation points 0, 1, -1, 2, -2 and infinity,
 *   B^T = | 4  0 -5  0  1  0 |   G = |  1/4     0     0   |
 *         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6   |
 *         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6   |
 *         | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6   |
 *         | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6   |
 *         | 0  4  0 -5  0  1 |       |  0     0     1     |
 *   A^T = | 1  1  1  1  1  0 |
 *         | 0  1 -1  2 -2  0 |
 *         | 0  1  1  4  4  0 |
 *         | 0  1 -1  8 -8  1 |
 * Activations are NHWC, so each transform is a loop along the channels
 * (filters, for the output side) of six, four or three pixels at once; a
 * tile's 36 transformed rows are stored together, [tile][36][C], and the
 * product for position xi reads every 36th row.  Tile (th, tw) of a
 * sample starts at input pixel (4 th - 1, 4 tw - 1); pixels outside the
 * image read as zeros, and outputs outside it go to scratch rows.
 *
 * F(2x2, 3x3), with 16 positions for 4 outputs where this has 36 for 16,
 * did 1.8 times the multiply-adds and moved 1.8 times the transformed
 * values through memory: measured on Zen 5, 200 batches, resnet8's
 * 16-channel layer took 1.15 s against 0.78 s here, cnn's 64-filter
 * layer 1.39 s against 0.97 s.  The price is rounding: the larger
 * interpolation points put the results a few parts in a million (of the
 * largest output) from the direct sums, against about one in ten million
 * for the direct loops.
 */
#include <string.h>

#include "sc_blas.h"
#include "sc_simd.h"
#include "sc_wino.h"

#define TILE 6			/* a tile's side, in input pixels */
#define OUT 4			/* an output block's side */
#define XI (TILE * TILE)	/* positions in a transformed tile */
/*
 * Floats of V and M (or dM) per chunk of samples.  Measured on AMD Zen 5
 * with the cnn and resnet8 presets' layers: the forward pass was fastest
 * with 2^18 to 2^19 floats (1-2 MiB) a chunk, the backward pass, which
 * also reads dM twice and writes dV over V, with 2^16 to 2^18; between
 * those the differences were within the machine's noise, and at 2^21
 * (8 MiB) both ran 1.3 to 1.6 times slower.  The work memory is sized
 * for the forward chunk, which must be the larger.
 */
#define FORWARD_WORK (1u << 19)
#define BACKWARD_WORK (1u << 18)
/*
 * The layers whose products run the own loops (see own_products) do
 * best with chunks that stay in the second-level cache, about a sample
 * of 28x28 at 16 channels: resnet8's 16-channel layers, 200 batches on
 * two threads, forward 0.27-0.28 s against 0.28-0.30 s with the chunks
 * above, backward 0.28 s against 0.29-0.31 s.
 */
#define OWN_WORK (1u << 15)

int
sc_wino_fits(const struct sc_layer *l)
{
	return l->k == 3 && l->stride == 1 && l->pad == 1;
}

static int
tiles_h(const struct sc_layer *l)
{
	return (l->out.h + OUT - 1) / OUT;
}

static int
tiles_w(const struct sc_layer *l)
{
	return (l->out.w + OUT - 1) / OUT;
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
 * convolution's.  Measured on resnet8's layers, 200 batches: forward
 * 0.36 s against 0.49 s at 16 channels, 0.25 s against 0.31 s at 32,
 * the backward about the same either way.  With 64 filters the BLAS won
 * (cnn's second layer forward: 0.74 s against 1.00 s, with F(2x2, 3x3)).
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
	/* U as [xi][F][C], for the backward pass, and as [xi][C][F], for
	 * the forward: through the BLAS, the product with U transposed
	 * took a third longer than with this copy (cnn's 64-filter layer,
	 * 200 batches: 0.47 s against 0.35 s forward). */
	return 2 * filters_len(l);
}

/*
 * A thread's work: V for a chunk, M (or dM) for it, dU, then rows for the
 * transforms: 36 of scratch, one of zeros, and 36 that absorb the writes
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
	w.chunk = chunk_samples(l, max_batch, own_products(l) ? OWN_WORK :
	    budget);
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
 * The six one-dimensional transforms, each along n channels (or filters)
 * of six, four or three rows.  Applied to the rows of a tile and then to
 * its columns, they give the two-dimensional ones.  p, m, q and r are the
 * sums and differences that several outputs share.
 */

/* o = B^T a. */
static inline __attribute__((always_inline)) void
bt6(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3,
    const float *restrict a4, const float *restrict a5, float *restrict o0,
    float *restrict o1, float *restrict o2, float *restrict o3,
    float *restrict o4, float *restrict o5)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];
		float x4 = a4[c], x5 = a5[c];
		float p = x4 - 4.0f * x2, m = x3 - 4.0f * x1;
		float q = x4 - x2, r = 2.0f * (x3 - x1);

		o0[c] = 4.0f * x0 - 5.0f * x2 + x4;
		o1[c] = p + m;
		o2[c] = p - m;
		o3[c] = q + r;
		o4[c] = q - r;
		o5[c] = 4.0f * x1 - 5.0f * x3 + x5;
	}
}

/* o = B a (+= with add), the transpose: for dx. */
static inline __attribute__((always_inline)) void
b6(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3,
    const float *restrict a4, const float *restrict a5, float *restrict o0,
    float *restrict o1, float *restrict o2, float *restrict o3,
    float *restrict o4, float *restrict o5, const int add)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];
		float x4 = a4[c], x5 = a5[c];
		float p = x1 + x2, m = x1 - x2, q = x3 + x4, r = x3 - x4;
		float y0 = 4.0f * x0;
		float y1 = 4.0f * (x5 - m) - 2.0f * r;
		float y2 = -5.0f * x0 - 4.0f * p - q;
		float y3 = m + 2.0f * r - 5.0f * x5;
		float y4 = x0 + p + q;

		if (add) {
			o0[c] += y0, o1[c] += y1, o2[c] += y2;
			o3[c] += y3, o4[c] += y4, o5[c] += x5;
		} else {
			o0[c] = y0, o1[c] = y1, o2[c] = y2;
			o3[c] = y3, o4[c] = y4, o5[c] = x5;
		}
	}
}

/* o = bias + A^T a, from six rows to four (bias: a row of n values). */
static inline __attribute__((always_inline)) void
at6(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3,
    const float *restrict a4, const float *restrict a5,
    const float *restrict bias, float *restrict o0, float *restrict o1,
    float *restrict o2, float *restrict o3)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];
		float x4 = a4[c], x5 = a5[c];
		float p = x1 + x2, m = x1 - x2, q = x3 + x4, r = x3 - x4;

		o0[c] = bias[c] + (x0 + p + q);
		o1[c] = bias[c] + (m + 2.0f * r);
		o2[c] = bias[c] + (p + 4.0f * q);
		o3[c] = bias[c] + (m + 8.0f * r + x5);
	}
}

/* o = A a, the transpose, from four rows to six: for dM. */
static inline __attribute__((always_inline)) void
a6(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3, float *restrict o0,
    float *restrict o1, float *restrict o2, float *restrict o3,
    float *restrict o4, float *restrict o5)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];
		float p = x0 + x2, m = x1 + x3;
		float q = x0 + 4.0f * x2, r = 2.0f * x1 + 8.0f * x3;

		o0[c] = x0;
		o1[c] = p + m;
		o2[c] = p - m;
		o3[c] = q + r;
		o4[c] = q - r;
		o5[c] = x3;
	}
}

/* o = G a, from three rows to six: the filters. */
static inline __attribute__((always_inline)) void
g6(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, float *restrict o0, float *restrict o1,
    float *restrict o2, float *restrict o3, float *restrict o4,
    float *restrict o5)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c];
		float p = x0 + x2, q = x0 / 24.0f + x2 / 6.0f;

		o0[c] = x0 / 4.0f;
		o1[c] = -(p + x1) / 6.0f;
		o2[c] = -(p - x1) / 6.0f;
		o3[c] = q + x1 / 12.0f;
		o4[c] = q - x1 / 12.0f;
		o5[c] = x2;
	}
}

/* o = G^T a, the transpose, from six rows to three: for dW. */
static inline __attribute__((always_inline)) void
gt6(int n, const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3,
    const float *restrict a4, const float *restrict a5, float *restrict o0,
    float *restrict o1, float *restrict o2)
{
	for (int c = 0; c < n; c++) {
		float x0 = a0[c], x1 = a1[c], x2 = a2[c], x3 = a3[c];
		float x4 = a4[c], x5 = a5[c];
		float p = x1 + x2, m = x1 - x2, q = x3 + x4, r = x3 - x4;

		o0[c] = x0 / 4.0f - p / 6.0f + q / 24.0f;
		o1[c] = r / 12.0f - m / 6.0f;
		o2[c] = (q - p) / 6.0f + x5;
	}
}

/* Where the side x side pixels from (h0, w0) of an H x W image are, in
 * pixels, row-major; OUTSIDE for those outside the image. */
#define OUTSIDE ((size_t)-1)

static inline void
square_pixels(int H, int W, int h0, int w0, int side, size_t *at)
{
	for (int i = 0; i < side; i++)
		for (int j = 0; j < side; j++) {
			int h = h0 + i, w = w0 + j;

			at[i * side + j] = h < 0 || h >= H || w < 0 ||
			    w >= W ? OUTSIDE : (size_t)h * W + w;
		}
}

/* Whether the side x side pixels from (h0, w0) all lie inside an H x W
 * image: then pixel k of them is (h0 + k / side, w0 + k % side), which
 * the transforms compute directly rather than through square_pixels'
 * table (which took about a tenth of the input transform's time). */
static inline int
square_inside(int H, int W, int h0, int w0, int side)
{
	return h0 >= 0 && w0 >= 0 && h0 + side <= H && w0 + side <= W;
}

/* The pixel offset of pixel k of a square of `side` from (h0, w0), which
 * lies inside a W-wide image. */
static inline size_t
square_at(int W, int h0, int w0, int side, int k)
{
	return (size_t)(h0 + k / side) * W + w0 + k % side;
}

/* Pointers to the side x side pixels from (h0, w0) of an H x W image of
 * n floats a pixel at img, row-major; pixel k, where it lies outside
 * the image, gets outside + k * gap instead (rows of scratch of their
 * own, or with gap 0 one row of zeros).  The reading transforms pass
 * their const image cast, and only read through the pointers. */
static inline __attribute__((always_inline)) void
square_rows(float *img, int H, int W, int n, int h0, int w0, int side,
    float *outside, size_t gap, float **p)
{
	size_t at[XI];

	if (square_inside(H, W, h0, w0, side)) {
		for (int k = 0; k < side * side; k++)
			p[k] = img + square_at(W, h0, w0, side, k) * n;
		return;
	}
	square_pixels(H, W, h0, w0, side, at);
	for (int k = 0; k < side * side; k++)
		p[k] = at[k] == OUTSIDE ? outside + k * gap : img + at[k] * n;
}

/*
 * Each transform is written once for a width n (channels or filters)
 * and run through AT_WIDTH, which passes 16 and 32 as constants, so that
 * the loops along a row unroll for those widths, and any other width as
 * it is.
 */
#define AT_WIDTH(n, f, ...) ((n) == 16 ? f(__VA_ARGS__, 16) : \
    (n) == 32 ? f(__VA_ARGS__, 32) : f(__VA_ARGS__, (n)))

/*
 * Fetch into cache the 4x4 pixels at (h0, w0) of an H x W image of C
 * channels (those inside it): the part of the image that the tile below
 * the current one reads and the current one does not.  Without this,
 * waiting for those pixels took most of the input transform's time.
 */
static inline __attribute__((always_inline)) void
ahead(const float *img, int H, int W, int C, int h0, int w0, const int rw)
{
	int w1 = w0 + OUT < W ? w0 + OUT : W;

	for (int h = h0; h < h0 + OUT && h < H && w0 < W; h++)
		for (size_t k = ((size_t)h * W + w0) * C;
		    k < ((size_t)h * W + w1) * C; k += 16)
			__builtin_prefetch(img + k, rw);
}

/* V of samples 0..n-1 of x: [tile][36][C]. */
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
				float *d[XI];

				square_rows((float *)img, H, W, C,
				    OUT * th - 1, OUT * tw - 1, TILE, w->zero,
				    0, d);
				ahead(img, H, W, C, OUT * th + TILE - 1,
				    OUT * tw + 1, 0);
				/* Columns: t[i][j] = (B^T d)[i][j]. */
				for (int j = 0; j < TILE; j++)
					bt6(C, d[j], d[6 + j], d[12 + j],
					    d[18 + j], d[24 + j], d[30 + j],
					    t + j * C, t + (6 + j) * C,
					    t + (12 + j) * C, t + (18 + j) * C,
					    t + (24 + j) * C, t + (30 + j) * C);
				for (int i = 0; i < TILE; i++) {
					const float *r = t + TILE * i * C;
					float *o = v + TILE * i * C;

					bt6(C, r, r + C, r + 2 * C, r + 3 * C,
					    r + 4 * C, r + 5 * C, o, o + C,
					    o + 2 * C, o + 3 * C, o + 4 * C,
					    o + 5 * C);
				}
			}
}

SC_HOT static void
input_tiles(const struct sc_layer *l, const float *x, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->in[0].c, input_tiles_n, l, x, n, w);
}

/* y of samples 0..n-1 from M: [tile][36][F]. */
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
				float *img = y + (size_t)s * OH * OW * F;
				float *o[OUT * OUT];

				square_rows(img, OH, OW, F, OUT * th,
				    OUT * tw, OUT, w->sink,
				    round16(row_len(l)), o);
				/* The block two to the right: waiting to
				 * own its lines took most of this pass. */
				ahead(img, OH, OW, F, OUT * th,
				    OUT * (tw + 2), 1);
				/* Columns: t[r][j] for r < 4, j < 6. */
				for (int j = 0; j < TILE; j++)
					at6(F, m + j * F, m + (6 + j) * F,
					    m + (12 + j) * F, m + (18 + j) * F,
					    m + (24 + j) * F, m + (30 + j) * F,
					    w->zero, t + j * F, t + (6 + j) * F,
					    t + (12 + j) * F, t + (18 + j) * F);
				for (int r = 0; r < OUT; r++) {
					const float *q = t + TILE * r * F;
					float *const *ob = o + OUT * r;

					at6(F, q, q + F, q + 2 * F, q + 3 * F,
					    q + 4 * F, q + 5 * F, bias, ob[0],
					    ob[1], ob[2], ob[3]);
				}
			}
}

SC_HOT static void
output_tiles(const struct sc_layer *l, float *y, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->out.c, output_tiles_n, l, y, n, w);
}

/* dM of samples 0..n-1 from dy, into M: [tile][36][F]. */
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
				const float *img = dy + (size_t)s * OH * OW * F;
				float *g[OUT * OUT];

				square_rows((float *)img, OH, OW, F,
				    OUT * th, OUT * tw, OUT, w->zero, 0, g);
				ahead(img, OH, OW, F, OUT * (th + 1), OUT * tw,
				    0);
				/* Columns: t[i][j] for i < 6, j < 4. */
				for (int j = 0; j < OUT; j++)
					a6(F, g[j], g[4 + j], g[8 + j],
					    g[12 + j], t + j * F,
					    t + (4 + j) * F, t + (8 + j) * F,
					    t + (12 + j) * F, t + (16 + j) * F,
					    t + (20 + j) * F);
				for (int i = 0; i < TILE; i++) {
					const float *q = t + OUT * i * F;
					float *o = m + TILE * i * F;

					a6(F, q, q + F, q + 2 * F, q + 3 * F,
					    o, o + F, o + 2 * F, o + 3 * F,
					    o + 4 * F, o + 5 * F);
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
 * added into its 36 pixels, after zeroing dx unless the layer adds into
 * it. */
static inline __attribute__((always_inline)) void
add_input_tiles_n(const struct sc_layer *l, float *dx, int n,
    const struct wino_work *w, const int C)
{
	int H = l->in[0].h, W = l->in[0].w;
	int TH = tiles_h(l), TW = tiles_w(l);
	const float *v = w->v;
	float *t = w->tmp;

	if (!l->dx_add[0])
		memset(dx, 0, (size_t)n * H * W * C * sizeof(float));
	for (int s = 0; s < n; s++)
		for (int th = 0; th < TH; th++)
			for (int tw = 0; tw < TW; tw++, v += XI * C) {
				float *img = dx + (size_t)s * H * W * C;
				float *d[XI];

				square_rows(img, H, W, C, OUT * th - 1,
				    OUT * tw - 1, TILE, w->sink,
				    round16(row_len(l)), d);
				if (l->dx_add[0])
					ahead(img, H, W, C, OUT * th + TILE -
					    1, OUT * tw + 1, 1);
				/* Rows first: t[i][j] = (dV B^T)[i][j]. */
				for (int i = 0; i < TILE; i++) {
					const float *r = v + TILE * i * C;
					float *o = t + TILE * i * C;

					b6(C, r, r + C, r + 2 * C, r + 3 * C,
					    r + 4 * C, r + 5 * C, o, o + C,
					    o + 2 * C, o + 3 * C, o + 4 * C,
					    o + 5 * C, 0);
				}
				/* Then columns, each added into its pixel. */
				for (int j = 0; j < TILE; j++)
					b6(C, t + j * C, t + (6 + j) * C,
					    t + (12 + j) * C, t + (18 + j) * C,
					    t + (24 + j) * C, t + (30 + j) * C,
					    d[j], d[6 + j], d[12 + j], d[18 + j],
					    d[24 + j], d[30 + j], 1);
			}
}

SC_HOT static void
add_input_tiles(const struct sc_layer *l, float *dx, int n,
    const struct wino_work *w)
{
	AT_WIDTH(l->in[0].c, add_input_tiles_n, l, dx, n, w);
}

/* U = G g G^T for filters lo..hi: U[xi][f][c]. */
SC_HOT static void
filters_range(const struct sc_layer *l, float *u, long lo, long hi,
    int forward, float *t)
{
	int C = l->in[0].c, F = l->out.c;
	size_t plane = (size_t)F * C;

	for (long f = lo; f < hi; f++) {
		const float *g = l->w + (size_t)f * 9 * C;
		float *o = u + (size_t)f * C;

		/* Columns of g: t[i][j] = (G g)[i][j], rows of 3 taps. */
		for (int j = 0; j < 3; j++)
			g6(C, g + j * C, g + (3 + j) * C, g + (6 + j) * C,
			    t + j * C, t + (3 + j) * C, t + (6 + j) * C,
			    t + (9 + j) * C, t + (12 + j) * C,
			    t + (15 + j) * C);
		for (int i = 0; i < TILE; i++) {
			const float *r = t + 3 * i * C;
			float *q = o + (size_t)TILE * i * plane;

			g6(C, r, r + C, r + 2 * C, q, q + plane,
			    q + 2 * plane, q + 3 * plane, q + 4 * plane,
			    q + 5 * plane);
		}
	}
	/* The copy for the forward pass, [xi][C][F], a row of
	 * filters lo..hi at a time: written along the rows, where writing
	 * each filter's column in turn took most of this function's time. */
	for (int xi = 0; forward && xi < XI; xi++)
		for (int c = 0; c < C; c++) {
			const float *src = u + (size_t)xi * plane + c;
			float *dst = u + filters_len(l) + (size_t)xi * plane +
			    (size_t)c * F;

			for (long f = lo; f < hi; f++)
				dst[f] = src[f * C];
		}
}

void
sc_wino_filters(const struct sc_layer *l, float *u, long lo, long hi,
    int forward, float *work)
{
	struct wino_work w = layout(l, l->max_batch, FORWARD_WORK, work);

	filters_range(l, u, lo, hi, forward, w.tmp);
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
		for (int j = 0; j < TILE; j++)
			gt6(C, q + j * plane, q + (6 + j) * plane,
			    q + (12 + j) * plane, q + (18 + j) * plane,
			    q + (24 + j) * plane, q + (30 + j) * plane,
			    t + j * C, t + (6 + j) * C, t + (12 + j) * C);
		for (int k = 0; k < 3; k++) {
			const float *r = t + TILE * k * C;

			gt6(C, r, r + C, r + 2 * C, r + 3 * C, r + 4 * C,
			    r + 5 * C, o + 3 * k * C, o + (3 * k + 1) * C,
			    o + (3 * k + 2) * C);
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
				sc_sgemm(0, 0, T, F, C, 1.0f, w.v +
				    (size_t)xi * C, XI * C, u + filters_len(l) +
				    (size_t)xi * F * C, F, 0.0f, w.m +
				    (size_t)xi * F, XI * F);
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
