/* elementwise_math.h: the scalar math of the unary ops that the CPU loops
 * (kernels/elementwise.c) and the CUDA twins (kernels/elementwise.cu) share,
 * once (NX_HD: host and device). Math and PyTorch semantics in
 * autograd/op_<name>.c.
 */
#ifndef NX_KERNELS_ELEMENTWISE_MATH_H
#define NX_KERNELS_ELEMENTWISE_MATH_H

#include "kernels/hd.h"

#include <math.h>

/* 1 / (1 + exp(-v)) for v >= 0 (exp(-v) <= 1: no overflow), exp(v) / (1 + exp(v))
 * for v < 0 (exp(v) < 1 underflows gracefully to 0). */
NX_HD float nx_sigmoid(float v) {
    if (v >= 0) return 1.0f / (1.0f + expf(-v));
    float e = expf(v);
    return e / (1.0f + e);
}

/* sign(v), 0 at 0 */
NX_HD float nx_sign(float v) { return v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f); }

/* x^p with torch's CPU special cases, so that forward and backward (which
 * takes x^(p-1) the same way) round like torch.pow. */
NX_HD float nx_pow(float x, float p) {
    if (p == 2.0f) return x * x;
    if (p == 3.0f) return x * x * x;
    if (p == -2.0f) return 1.0f / (x * x);
    if (p == 0.5f) return sqrtf(x);
    if (p == -0.5f) return 1.0f / sqrtf(x);
    if (p == -1.0f) return 1.0f / x;
    return powf(x, p);
}

/* min(max(v, lo), hi); a NaN fails both tests and stays NaN */
NX_HD float nx_clamp(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

#endif
