/* resample_math.h: PyTorch's bilinear source index and weights, once for the
 * CPU loops (kernels/resample.c) and the CUDA twins (kernels/resample.cu).
 */
#ifndef NX_KERNELS_RESAMPLE_MATH_H
#define NX_KERNELS_RESAMPLE_MATH_H

#include "kernels/hd.h"

/* The two source taps of one output index along one axis, and their weights
 * (l0 for i0, l1 for i1). */
typedef struct {
    int i0, i1;
    float l0, l1;
} LinearTap;

/* PyTorch's area_pixel_compute_scale, in float as PyTorch does for fp32. */
NX_HD float bilinear_scale(int in, int out, bool align_corners) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)in / (float)out;
}

/* PyTorch's compute_source_index_and_lambda (ATen/native/UpSample.h): the
 * source coordinate is computed in double from the float scale (explicit
 * roundings, never a fused multiply-add, so floor() sees the same value on
 * both devices), clamped below at 0; i0 = floor(src), i1 = i0 + 1 except at
 * the last row/column (where both taps are the same pixel); lambda1 =
 * src - i0 rounded to float. */
NX_HD LinearTap bilinear_tap(float scale, int dst, int in, int out, bool align_corners) {
    LinearTap t;
    if (in == out) { /* identity along this axis */
        t.i0 = t.i1 = dst;
        t.l0 = 1.0f;
        t.l1 = 0.0f;
        return t;
    }
    double src = align_corners ? NX_DMUL((double)scale, (double)dst)
                               : NX_DADD(NX_DMUL((double)scale, (double)dst + 0.5), -0.5);
    if (src < 0) src = 0;
    t.i0 = (int)src;
    if (t.i0 > in - 1) t.i0 = in - 1; /* guard against rounding past the last pixel */
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = (float)(src - t.i0);
    t.l0 = 1.0f - t.l1;
    return t;
}

#endif
