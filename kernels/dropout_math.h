/* dropout_math.h: the keep test and the kept value of dropout, once for the
 * CPU loop (kernels/dropout.c) and the CUDA twin (kernels/dropout.cu).
 *
 * Element i is kept iff u_i = nx_philox_uniform(seed, offset + i) > p
 * (kernels/philox.h), and a kept element is scaled by 1 / (1 - p) in one
 * rounding (never fused with the += of the backward).
 */
#ifndef NX_KERNELS_DROPOUT_MATH_H
#define NX_KERNELS_DROPOUT_MATH_H

#include "kernels/philox.h"

/* keep_i ? v * scale : 0 for the Philox word of element i */
NX_HD float dropout_value(uint32_t word, float v, float p, float scale) {
    return nx_philox_to_uniform(word) > p ? NX_FMUL(v, scale) : 0.0f;
}

#endif
