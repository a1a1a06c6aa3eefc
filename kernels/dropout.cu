/* dropout.cu: CUDA twins of dropout (kernels/dropout.h; CPU loops in
 * kernels/dropout.c; math in autograd/op_dropout.c).
 *
 * One thread per Philox block of 4 numbers, the same words (kernels/philox.h)
 * and the same float conversion as dropout.c, so the mask is bit-identical.
 */
#include "kernels/cuda_common.cuh"
#include "kernels/dropout_math.h"

/* ---- dropout ----------------------------------------------------------- */

/* out[i] (+)= keep_i ? in[i] * scale : 0, keep_i = u(offset + i) > p; thread t
 * handles Philox block b0 + t, i.e. stream numbers 4(b0 + t) .. 4(b0 + t) + 3. */
static __global__ void dropout_kernel(float *out, const float *__restrict__ in, int64_t n, float p, float scale,
                                      uint64_t seed, uint64_t offset, int64_t b0, int64_t n_blocks, bool accumulate) {
    NX_GRID_STRIDE(t, n_blocks) {
        const int64_t b = b0 + t;
        const NxPhilox4 r = nx_philox_block(seed, (uint64_t)b);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int64_t i = 4 * b + j - (int64_t)offset; /* element index of stream number 4b + j */
            if (i < 0 || i >= n) continue;
            const float v = dropout_value(r.w[j], in[i], p, scale); /* never fused with the += below */
            if (accumulate)
                out[i] += v;
            else
                out[i] = v;
        }
    }
}

static __global__ void copy_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] = x[i];
}

static __global__ void add_into_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] += x[i];
}

static void dropout_apply(float *out, const float *in, int64_t n, float p, uint64_t seed, uint64_t offset,
                          bool accumulate) {
    if (n <= 0) return;
    if (p == 0) { /* identity, draws nothing */
        if (accumulate)
            add_into_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(out, in, n);
        else
            copy_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(out, in, n);
        NX_LAUNCH_CHECK();
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    const int64_t b0 = (int64_t)(offset >> 2), b1 = (int64_t)((offset + (uint64_t)n - 1) >> 2);
    const int64_t n_blocks = b1 - b0 + 1;
    dropout_kernel<<<nx_grid(n_blocks, NX_BLOCK), NX_BLOCK>>>(out, in, n, p, scale, seed, offset, b0, n_blocks,
                                                              accumulate);
    NX_LAUNCH_CHECK();
}

extern "C" void dropout_forward_cuda(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t offset) {
    dropout_apply(y, x, n, p, seed, offset, false);
}

extern "C" void dropout_backward_cuda(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t offset) {
    dropout_apply(dx, dy, n, p, seed, offset, true);
}
