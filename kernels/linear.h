/* linear.h: the fully connected layer (math in autograd/op_linear.c; CPU
 * version kernels/linear.c, CUDA twin kernels/linear.cu), SGEMM calls
 * (kernels/gemm.h).
 */
#ifndef NX_KERNELS_LINEAR_H
#define NX_KERNELS_LINEAR_H

#include "kernels/hd.h"

/* ws: the GEMM's scratch, linear_<forward|backward>_ws_<cpu|cuda> bytes. */

/* y = x w^T + b */
void linear_forward_cpu(float *y /* (N, OUT) */, const float *x /* (N, IN) */, const float *w /* (OUT, IN) */,
                        const float *b /* (OUT) or NULL */, int N, int IN, int OUT, void *ws);
void linear_forward_cuda(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT, void *ws);
size_t linear_forward_ws_cpu(int N, int IN, int OUT);
static inline size_t linear_forward_ws_cuda(int N, int IN, int OUT) {
    (void)N, (void)IN, (void)OUT;
    return 0;
}
/* dx += dy w, dw += dy^T x, db += sum_n dy; each output may be NULL (not wanted). */
void linear_backward_cpu(float *dx /* (N, IN) or NULL */, float *dw /* (OUT, IN) or NULL */,
                         float *db /* (OUT) or NULL */, const float *dy /* (N, OUT) */, const float *x /* (N, IN) */,
                         const float *w /* (OUT, IN) */, int N, int IN, int OUT, void *ws);
void linear_backward_cuda(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                          int IN, int OUT, void *ws);
size_t linear_backward_ws_cpu(bool want_dx, bool want_dw, int N, int IN, int OUT);
static inline size_t linear_backward_ws_cuda(bool want_dx, bool want_dw, int N, int IN, int OUT) {
    (void)want_dx, (void)want_dw, (void)N, (void)IN, (void)OUT;
    return 0;
}

#endif
