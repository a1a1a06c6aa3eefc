/* elementwise.h: unary and broadcasting binary elementwise kernels, reductions. */
#ifndef NX_KERNELS_ELEMENTWISE_H
#define NX_KERNELS_ELEMENTWISE_H

#include "kernels/kernels.h"

/* y[i] = max(x[i], 0) */
void relu_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
NX_CUDA_TWIN void relu_forward_cuda(float *y, const float *x, int64_t n);
/* dx[i] += dy[i] * (x[i] > 0) */
void relu_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *x /* (n) */, int64_t n);
NX_CUDA_TWIN void relu_backward_cuda(float *dx, const float *dy, const float *x, int64_t n);

#endif
