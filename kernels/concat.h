/* concat.h: concatenation along dim 1 (math in autograd/op_concat.c; CPU
 * loops kernels/concat.c, CUDA twins kernels/concat.cu).
 */
#ifndef NX_KERNELS_CONCAT_H
#define NX_KERNELS_CONCAT_H

#include "kernels/hd.h"

/* ---- concatenation along dim 1, one input at a time ------------------- */
/* y[i][c_off + c][k] = x[i][c][k] for c < c_in: copies one input into its
 * channel slice of the output (inner = product of the dims after dim 1). */
void concat_forward_cpu(float *y /* (N, c_total, inner) */, const float *x /* (N, c_in, inner) */, int n,
                        int c_total, int c_off, int c_in, int64_t inner);
void concat_forward_cuda(float *y, const float *x, int n, int c_total, int c_off, int c_in,
                                      int64_t inner);
/* dx[i][c][k] += dy[i][c_off + c][k]: the gradient slice of one input */
void concat_backward_cpu(float *dx /* (N, c_in, inner) */, const float *dy /* (N, c_total, inner) */, int n,
                         int c_total, int c_off, int c_in, int64_t inner);
void concat_backward_cuda(float *dx, const float *dy, int n, int c_total, int c_off, int c_in,
                                       int64_t inner);

#endif
