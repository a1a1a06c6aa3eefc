/* nice.h: kernels of the NICE method (nice/): CPU loops kernels/nice.c, CUDA
 * twins kernels/nice.cu. */
#ifndef NX_KERNELS_NICE_H
#define NX_KERNELS_NICE_H

#include "kernels/hd.h"

/* out[n] = sum over (c, m, k) and the 4 neighbour offsets
 * (-1,0), (0,-1), (-1,-1), (-1,+1) of |x[m,k] - x[m+dm, k+dk]|, neighbours
 * outside the image skipped (NICE eq. 9). */
void neighbor_l1_forward_cpu(float *out /* (N) */, const float *x /* (N, C, H, W) */, int N, int C, int H, int W,
                             void *ws);
void neighbor_l1_forward_cuda(float *out, const float *x, int N, int C, int H, int W, void *ws);
/* ws: the CUDA twin's partial sums (none on the CPU) */
static inline size_t neighbor_l1_forward_ws_cpu(int N, int C, int H, int W) {
    (void)N, (void)C, (void)H, (void)W;
    return 0;
}
size_t neighbor_l1_forward_ws_cuda(int N, int C, int H, int W);
/* dx += dout[n] * sum of sign(x[p] - x[q]) over the pairs p - q that contain the pixel (+ for p, - for q). */
void neighbor_l1_backward_cpu(float *dx /* (N, C, H, W) */, const float *dout /* (N) */, const float *x, int N, int C,
                              int H, int W);
void neighbor_l1_backward_cuda(float *dx, const float *dout, const float *x, int N, int C, int H, int W);

/* Logistic noise of the hard-concrete gate: out[i] = log(u) - log(1 - u),
 * u = philox_uniform(seed, offset + i) clamped to [eps, 1 - eps]. */
void logistic_noise_cpu(float *out /* (n) */, int64_t n, uint64_t seed, uint64_t offset, float eps);
void logistic_noise_cuda(float *out, int64_t n, uint64_t seed, uint64_t offset, float eps);

#endif
