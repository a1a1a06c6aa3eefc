/* concat.cu: CUDA twins of channel concatenation (kernels/concat.h; CPU
 * loops in kernels/concat.c; math in autograd/op_concat.c).
 *
 * One thread per element of the input slice: the forward copies it into its
 * channel slice of y, the backward adds the slice of dy into dx (a gather:
 * no atomics).
 */
#include "kernels/cuda_common.cuh"

/* ---- concat along dim 1 ------------------------------------------------ */

/* Element t of x (N, c_in, inner) sits at y[i][c_off + ...]: sample i = t / block, k = t % block. */
static __global__ void concat_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t total,
                                             int c_total, int c_off, int64_t block, int64_t inner) {
    NX_GRID_STRIDE(t, total) {
        const int64_t i = t / block, k = t - i * block;
        y[(i * c_total + c_off) * inner + k] = x[t];
    }
}

extern "C" void concat_forward_cuda(float *y, const float *x, int n, int c_total, int c_off, int c_in, int64_t inner) {
    const int64_t block = (int64_t)c_in * inner, total = (int64_t)n * block;
    if (total <= 0) return;
    concat_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, total, c_total, c_off, block, inner);
    NX_LAUNCH_CHECK();
}

static __global__ void concat_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int64_t total,
                                              int c_total, int c_off, int64_t block, int64_t inner) {
    NX_GRID_STRIDE(t, total) {
        const int64_t i = t / block, k = t - i * block;
        dx[t] += dy[(i * c_total + c_off) * inner + k];
    }
}

extern "C" void concat_backward_cuda(float *dx, const float *dy, int n, int c_total, int c_off, int c_in,
                                     int64_t inner) {
    const int64_t block = (int64_t)c_in * inner, total = (int64_t)n * block;
    if (total <= 0) return;
    concat_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, total, c_total, c_off, block, inner);
    NX_LAUNCH_CHECK();
}
