/* dropout.h: dropout kernels (math in autograd/op_dropout.c; CPU loops
 * kernels/dropout.c, CUDA twins kernels/dropout.cu, the random numbers and
 * the keep test shared by both in kernels/philox.h and kernels/dropout_math.h).
 */
#ifndef NX_KERNELS_DROPOUT_H
#define NX_KERNELS_DROPOUT_H

#include "kernels/hd.h"

/* ---- dropout ---------------------------------------------------------- */
/* u_i = nx_philox_uniform(seed, offset + i) (kernels/philox.h; curand_uniform on the
 * GPU with curand_init(seed, 0, offset + i)), keep_i = u_i > p:
 *   y[i] = keep_i ? x[i] * (1 / (1 - p)) : 0
 * p == 0 is the identity and draws nothing. */
void dropout_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n, float p, uint64_t seed,
                         uint64_t offset);
void dropout_forward_cuda(float *y, const float *x, int64_t n, float p, uint64_t seed,
                                       uint64_t offset);
/* dx[i] += keep_i ? dy[i] * (1 / (1 - p)) : 0, the same mask regenerated from (seed, offset) */
void dropout_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, int64_t n, float p, uint64_t seed,
                          uint64_t offset);
void dropout_backward_cuda(float *dx, const float *dy, int64_t n, float p, uint64_t seed,
                                        uint64_t offset);

#endif
