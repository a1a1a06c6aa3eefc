/* pool_math.h: the window arithmetic of pooling, once for the CPU loops
 * (kernels/pool.c) and the CUDA twins (kernels/pool.cu).
 */
#ifndef NX_KERNELS_POOL_MATH_H
#define NX_KERNELS_POOL_MATH_H

#include "kernels/hd.h"

#include <math.h>

/* The window of output (oh, ow) clipped to the image: rows [h0, h1), cols [w0, w1). */
typedef struct {
    int h0, h1, w0, w1;
} PoolWindow;

NX_HD PoolWindow pool_window(int oh, int ow, int H, int W, int k, int stride, int pad) {
    PoolWindow win;
    int h = oh * stride - pad, w = ow * stride - pad;
    win.h0 = h > 0 ? h : 0;
    win.h1 = h + k < H ? h + k : H;
    win.w0 = w > 0 ? w : 0;
    win.w1 = w + k < W ? w + k : W;
    return win;
}

/* The max of plane xp (H, W) over the window, and its argmax as ih*W + iw:
 * the first maximum in row-major window order (strict >, so ties go to the
 * earliest cell), a NaN wins (the last NaN), exactly as PyTorch's CPU loop;
 * all -inf (or an empty window) gives -inf at PyTorch's start cell. */
NX_HD float pool_window_max(const float *xp, int W, PoolWindow win, int32_t *arg) {
    float best = -INFINITY;
    int32_t a = win.h0 * W + win.w0;
    for (int ih = win.h0; ih < win.h1; ih++)
        for (int iw = win.w0; iw < win.w1; iw++) {
            float v = xp[ih * W + iw];
            if (v > best || isnan(v)) {
                best = v;
                a = ih * W + iw;
            }
        }
    *arg = a;
    return best;
}

/* The sum of plane xp (H, W) over the window, in row-major order, in float. */
NX_HD float pool_window_sum(const float *xp, int W, PoolWindow win) {
    float s = 0;
    for (int ih = win.h0; ih < win.h1; ih++)
        for (int iw = win.w0; iw < win.w1; iw++) s += xp[ih * W + iw];
    return s;
}

/* count_include_pad=True: the divisor counts padded cells, but a window is
 * clipped at H + pad (W + pad) first, as PyTorch does (in floor mode no
 * window reaches past that, so the divisor is k*k). */
NX_HD int avg_divisor(int oh, int ow, int H, int W, int k, int stride, int pad) {
    int h0 = oh * stride - pad, w0 = ow * stride - pad;
    int h1 = h0 + k < H + pad ? h0 + k : H + pad, w1 = w0 + k < W + pad ? w0 + k : W + pad;
    return (h1 - h0) * (w1 - w0);
}

#endif
