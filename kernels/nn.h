/* nn.h: batch normalisation, pooling and dropout kernels (math in
 * autograd/op_batchnorm2d.c, op_maxpool2d.c, op_avgpool2d.c,
 * op_global_avgpool.c, op_dropout.c).
 *
 * Images are NCHW; the pooling kernels see their input as N*C independent
 * planes of H*W, the batchnorm kernels as (N, C, HW) with one set of
 * statistics per channel c. Sizes of a pooled output are in floor mode:
 * OH = (H + 2*pad - k) / stride + 1, and the same for OW.
 */
#ifndef NX_KERNELS_NN_H
#define NX_KERNELS_NN_H

#include "kernels/kernels.h"

/* ---- batchnorm2d ------------------------------------------------------ */
/* Per channel c, with n = N*HW:
 *   training: mean = sum(x)/n, var = sum((x-mean)^2)/n (biased),
 *             running_mean = (1-m)*running_mean + m*mean,
 *             running_var  = (1-m)*running_var  + m*var*n/(n-1)
 *             (running_* may be NULL: not tracked)
 *   eval:     mean = running_mean, var = running_var (both required)
 *   save_mean[c] = mean, save_invstd[c] = 1/sqrt(var + eps),
 *   y = (x - mean) * save_invstd * weight + bias  (weight, bias NULL: 1, 0) */
void batchnorm2d_forward_cpu(float *y /* (N, C, HW) */, float *save_mean /* (C) */, float *save_invstd /* (C) */,
                             float *running_mean /* (C) or NULL, updated in training */,
                             float *running_var /* (C) or NULL, updated in training */,
                             const float *x /* (N, C, HW) */, const float *weight /* (C) or NULL */,
                             const float *bias /* (C) or NULL */, int N, int C, int HW, bool training,
                             float momentum, float eps);
NX_CUDA_TWIN void batchnorm2d_forward_cuda(float *y, float *save_mean, float *save_invstd, float *running_mean,
                                           float *running_var, const float *x, const float *weight,
                                           const float *bias, int N, int C, int HW, bool training, float momentum,
                                           float eps);
/* With xhat = (x - mean) * invstd and g = dy * weight:
 *   training: dx += invstd * (g - mean(g) - xhat * mean(g * xhat))  (means over N, HW)
 *   eval:     dx += g * invstd
 *   dweight += sum(dy * xhat), dbias += sum(dy)
 * Any of dx, dweight, dbias may be NULL (not wanted). */
void batchnorm2d_backward_cpu(float *dx /* (N, C, HW) or NULL */, float *dweight /* (C) or NULL */,
                              float *dbias /* (C) or NULL */, const float *dy /* (N, C, HW) */,
                              const float *x /* (N, C, HW) */, const float *save_mean /* (C) */,
                              const float *save_invstd /* (C) */, const float *weight /* (C) or NULL */, int N,
                              int C, int HW, bool training);
NX_CUDA_TWIN void batchnorm2d_backward_cuda(float *dx, float *dweight, float *dbias, const float *dy,
                                            const float *x, const float *save_mean, const float *save_invstd,
                                            const float *weight, int N, int C, int HW, bool training);

/* ---- maxpool2d -------------------------------------------------------- */
/* y[p, oh, ow] = max over the k x k window at (oh*stride - pad, ow*stride - pad),
 * padding excluded (-inf); idx (may be NULL) gets the argmax as ih*W + iw,
 * the first maximum in row-major window order (a NaN wins: the last NaN,
 * exactly as PyTorch's CPU loop). */
void maxpool2d_forward_cpu(float *y /* (P, OH, OW) */, int32_t *idx /* (P, OH, OW) or NULL */,
                           const float *x /* (P, H, W) */, int P, int H, int W, int OH, int OW, int k, int stride,
                           int pad);
NX_CUDA_TWIN void maxpool2d_forward_cuda(float *y, int32_t *idx, const float *x, int P, int H, int W, int OH,
                                         int OW, int k, int stride, int pad);
/* dx[p, idx[p, o]] += dy[p, o] */
void maxpool2d_backward_cpu(float *dx /* (P, H*W) */, const float *dy /* (P, OH*OW) */,
                            const int32_t *idx /* (P, OH*OW) */, int P, int HW, int OHW);
NX_CUDA_TWIN void maxpool2d_backward_cuda(float *dx, const float *dy, const int32_t *idx, int P, int HW, int OHW);

/* ---- avgpool2d -------------------------------------------------------- */
/* y[p, oh, ow] = sum of the window's in-image values / (window size with the
 * padding counted, clipped at H + pad and W + pad): count_include_pad=True */
void avgpool2d_forward_cpu(float *y /* (P, OH, OW) */, const float *x /* (P, H, W) */, int P, int H, int W, int OH,
                           int OW, int k, int stride, int pad);
NX_CUDA_TWIN void avgpool2d_forward_cuda(float *y, const float *x, int P, int H, int W, int OH, int OW, int k,
                                         int stride, int pad);
/* dx[p, window] += dy[p, oh, ow] / (same divisor) */
void avgpool2d_backward_cpu(float *dx /* (P, H, W) */, const float *dy /* (P, OH, OW) */, int P, int H, int W,
                            int OH, int OW, int k, int stride, int pad);
NX_CUDA_TWIN void avgpool2d_backward_cuda(float *dx, const float *dy, int P, int H, int W, int OH, int OW, int k,
                                          int stride, int pad);

/* ---- global_avgpool --------------------------------------------------- */
/* y[p] = sum(x[p, :]) / HW */
void global_avgpool_forward_cpu(float *y /* (P) */, const float *x /* (P, HW) */, int64_t P, int64_t HW);
NX_CUDA_TWIN void global_avgpool_forward_cuda(float *y, const float *x, int64_t P, int64_t HW);
/* dx[p, :] += dy[p] / HW */
void global_avgpool_backward_cpu(float *dx /* (P, HW) */, const float *dy /* (P) */, int64_t P, int64_t HW);
NX_CUDA_TWIN void global_avgpool_backward_cuda(float *dx, const float *dy, int64_t P, int64_t HW);

/* ---- dropout ---------------------------------------------------------- */
/* u_i = philox_uniform(seed, offset + i) (tensor/rng.h; curand_uniform on the
 * GPU with curand_init(seed, 0, offset + i)), keep_i = u_i > p:
 *   y[i] = keep_i ? x[i] * (1 / (1 - p)) : 0
 * p == 0 is the identity and draws nothing. */
void dropout_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n, float p, uint64_t seed,
                         uint64_t offset);
NX_CUDA_TWIN void dropout_forward_cuda(float *y, const float *x, int64_t n, float p, uint64_t seed,
                                       uint64_t offset);
/* dx[i] += keep_i ? dy[i] * (1 / (1 - p)) : 0, the same mask regenerated from (seed, offset) */
void dropout_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, int64_t n, float p, uint64_t seed,
                          uint64_t offset);
NX_CUDA_TWIN void dropout_backward_cuda(float *dx, const float *dy, int64_t n, float p, uint64_t seed,
                                        uint64_t offset);

#endif
