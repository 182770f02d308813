/*
 * sc_wino.h - 3x3 convolutions of stride 1 and padding 1 by Winograd's
 * minimal filtering F(4x4, 3x3), for sc_conv.c.
 *
 * Each 4x4 block of output pixels comes from a 6x6 tile of the input.
 * Transformed by fixed matrices of small integers and fractions, a tile's
 * 36 values and a filter's 9 weights turn the block into 36 products
 * instead of 144, so the layer's matrix products do 4 times fewer
 * multiply-adds than with im2col patches (fewer at sizes that are not a
 * multiple of 4, where the last tiles overhang the edge: 3.1 times at
 * 14x14 and 7x7).  Forward, and backward through the same transforms
 * (their transposes), the products are 36 independent matrix products,
 * one per position in the tile (BLAS calls, or register-blocked loops
 * for layers of 16 or 32 channels and filters):
 *   forward:  M[t, f]  = sum_c V[t, c] U[f, c]
 *   backward: dU[f, c] += sum_t dM[t, f] V[t, c],  dV[t, c] = sum_f dM[t, f] U[f, c]
 * where t runs over tiles, V are the input tiles transformed, U the
 * filters transformed and dM the output gradient's blocks transformed.
 *
 * The results differ from the direct sums by rounding only, but more
 * than the direct loops' do: a few parts in a million of the largest
 * output or gradient.
 */
#ifndef SC_WINO_H
#define SC_WINO_H

#include <stddef.h>

#include "sc_nn.h"

/* Whether the layer's geometry is one these loops compute. */
int sc_wino_fits(const struct sc_layer *l);

/* Floats of the transformed filters U, shared by the threads. */
size_t sc_wino_shared(const struct sc_layer *l);

/* Floats of one thread's work, for batches of up to max_batch. */
size_t sc_wino_thread(const struct sc_layer *l, int max_batch);

/* U from the layer's weights, for filters lo..hi (a thread's share),
 * with that thread's work memory; with forward set, also the copy the
 * forward pass multiplies by. */
void sc_wino_filters(const struct sc_layer *l, float *u, long lo,
    long hi, int forward, float *work);

/* y for samples lo..hi of the batch x, in the calling thread. */
void sc_wino_forward(const struct sc_layer *l, const float *u,
    const float *x, float *y, long lo, long hi, float *work);

/* dW (set, not added to) for samples lo..hi, and dx for them when dx
 * is not NULL (set, or added to when the layer's dx_add[0] is set), in
 * the calling thread.  The bias gradient is the caller's. */
void sc_wino_backward(const struct sc_layer *l, const float *u,
    const float *x, const float *dy, float *dx, long lo, long hi,
    float *work, float *dw);

#endif
