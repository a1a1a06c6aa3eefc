/* batchnorm.h: 2-D batch normalisation kernels (math in
 * autograd/op_batchnorm2d.c; CPU loops kernels/batchnorm.c, CUDA twins
 * kernels/batchnorm.cu, scalar math shared by both kernels/batchnorm_math.h).
 *
 * The kernels see x as (N, C, HW) with one set of statistics per channel c.
 */
#ifndef NX_KERNELS_BATCHNORM_H
#define NX_KERNELS_BATCHNORM_H

#include "kernels/hd.h"

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
void batchnorm2d_forward_cuda(float *y, float *save_mean, float *save_invstd, float *running_mean,
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
void batchnorm2d_backward_cuda(float *dx, float *dweight, float *dbias, const float *dy,
                                            const float *x, const float *save_mean, const float *save_invstd,
                                            const float *weight, int N, int C, int HW, bool training);

#endif
