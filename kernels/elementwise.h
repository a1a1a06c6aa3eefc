/* elementwise.h: unary and broadcasting binary elementwise kernels, the
 * sum/mean reductions and the reshape gradient (CPU loops
 * kernels/elementwise.c, CUDA twins kernels/elementwise.cu, the scalar math
 * both share kernels/elementwise_math.h). The reductions belong to this
 * family because their CUDA twin shares the box reductions of the binary
 * backward.
 *
 * Unary kernels see their tensors as flat arrays of n floats; the math of
 * each is in autograd/op_<name>.c.
 *
 * Binary kernels broadcast with numpy's rules. The op pads
 * every shape on the left with 1s to four dims (bcast_shape4 below), so a
 * kernel sees y (ys[0], ys[1], ys[2], ys[3]) and inputs a (as[..]) and b
 * (bs[..]) whose dims are each equal to y's or 1. A dim of size 1 is walked
 * with stride 0: element (i0, i1, i2, i3) of y reads a at
 *     sum_d (as[d] == 1 ? 0 : i_d) * stride_a[d].
 * Backward sums the gradient over the dims an input was broadcast along;
 * its CUDA twin needs scratch for the partial sums of large boxes: ws of
 * <op>_backward_ws_<cpu|cuda>(ys, as, bs) bytes (none on the CPU).
 * Fast paths: equal shapes (a flat loop) and a one-element input.
 * The shape arrays (ys, as, bs here, xs below) are host memory: a CUDA twin
 * copies them into its launch arguments.
 *
 * Reductions see x as (xs[0], xs[1], xs[2], xs[3]) and a
 * bit mask `dims` of the dims to reduce (bit d = dim d of the padded shape);
 * y holds the kept dims in order. They accumulate in double and divide by
 * `div` (1 for sum, the number of reduced elements for mean). ws:
 * sum_forward_ws_<cpu|cuda>(xs, dims) bytes (the CUDA twin's partial sums).
 */
#ifndef NX_KERNELS_ELEMENTWISE_H
#define NX_KERNELS_ELEMENTWISE_H

#include "kernels/hd.h"

/* ---- unary ------------------------------------------------------------- */

/* y[i] = max(x[i], 0) */
void relu_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
void relu_forward_cuda(float *y, const float *x, int64_t n);
/* dx[i] += dy[i] * (x[i] > 0); with accumulate false, dx[i] = 0 + that (dx is not read) */
void relu_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *x /* (n) */, int64_t n,
                       bool accumulate);
void relu_backward_cuda(float *dx, const float *dy, const float *x, int64_t n, bool accumulate);

/* y = 1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) for x < 0 */
void sigmoid_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
void sigmoid_forward_cuda(float *y, const float *x, int64_t n);
/* dx += dy * (1 - y) * y */
void sigmoid_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *y /* (n) */, int64_t n);
void sigmoid_backward_cuda(float *dx, const float *dy, const float *y, int64_t n);

/* y = tanh(x) */
void tanh_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
void tanh_forward_cuda(float *y, const float *x, int64_t n);
/* dx += dy * (1 - y * y) */
void tanh_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *y /* (n) */, int64_t n);
void tanh_backward_cuda(float *dx, const float *dy, const float *y, int64_t n);

/* y = |x| */
void abs_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
void abs_forward_cuda(float *y, const float *x, int64_t n);
/* dx += dy * sign(x), sign(0) = 0 */
void abs_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *x /* (n) */, int64_t n);
void abs_backward_cuda(float *dx, const float *dy, const float *x, int64_t n);

/* y = x^p (x*x for p = 2, x*x*x for 3, 1/(x*x) for -2, sqrt for 0.5,
 * 1/sqrt for -0.5, 1/x for -1, as torch's CPU kernel) */
void pow_forward_cpu(float *y /* (n) */, const float *x /* (n) */, float p, int64_t n);
void pow_forward_cuda(float *y, const float *x, float p, int64_t n);
/* dx += dy * p * x^(p-1); nothing when p == 0 */
void pow_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *x /* (n) */, float p, int64_t n);
void pow_backward_cuda(float *dx, const float *dy, const float *x, float p, int64_t n);

/* y = log(x) */
void log_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
void log_forward_cuda(float *y, const float *x, int64_t n);
/* dx += dy / x */
void log_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *x /* (n) */, int64_t n);
void log_backward_cuda(float *dx, const float *dy, const float *x, int64_t n);

/* y = exp(x) */
void exp_forward_cpu(float *y /* (n) */, const float *x /* (n) */, int64_t n);
void exp_forward_cuda(float *y, const float *x, int64_t n);
/* dx += dy * y */
void exp_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *y /* (n) */, int64_t n);
void exp_backward_cuda(float *dx, const float *dy, const float *y, int64_t n);

/* y = min(max(x, lo), hi); NaN stays NaN */
void clamp_forward_cpu(float *y /* (n) */, const float *x /* (n) */, float lo, float hi, int64_t n);
void clamp_forward_cuda(float *y, const float *x, float lo, float hi, int64_t n);
/* dx += dy * (lo < x < hi), strict on both sides */
void clamp_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, const float *x /* (n) */, float lo, float hi,
                        int64_t n);
void clamp_backward_cuda(float *dx, const float *dy, const float *x, float lo, float hi, int64_t n);

/* y = a * x + b */
void scale_forward_cpu(float *y /* (n) */, const float *x /* (n) */, float a, float b, int64_t n);
void scale_forward_cuda(float *y, const float *x, float a, float b, int64_t n);
/* dx += a * dy */
void scale_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, float a, int64_t n);
void scale_backward_cuda(float *dx, const float *dy, float a, int64_t n);

/* ---- broadcasting binary ----------------------------------------------- */

/* The broadcast of shapes sa (na dims) and sb (nb dims), numpy's rules:
 * right-aligned, each dim equal or 1 on one side. Writes the output's
 * shape (max(na, nb) dims) to *ny, sy, and the three shapes padded on the
 * left with 1s to four dims to ys, as, bs. Returns false when they do not
 * broadcast. Plain integer math on the host, for the ops. */
bool bcast_shape4(int *ny, int sy[4], int ys[4], int as[4], int bs[4], int na, const int *sa, int nb, const int *sb);

/* y = a + b */
void add_forward_cpu(float *y /* (ys) */, const float *a /* (as) */, const float *b /* (bs) */, const int ys[4],
                     const int as[4], const int bs[4]);
void add_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                   const int bs[4]);
/* da += sum over a's broadcast dims of dy; db likewise. da or db may be NULL (skipped). */
void add_backward_cpu(float *da /* (as) or NULL */, float *db /* (bs) or NULL */, const float *dy /* (ys) */,
                      const int ys[4], const int as[4], const int bs[4], void *ws);
void add_backward_cuda(float *da, float *db, const float *dy, const int ys[4], const int as[4],
                                    const int bs[4], void *ws);
static inline size_t add_backward_ws_cpu(const int ys[4], const int as[4], const int bs[4]) {
    (void)ys, (void)as, (void)bs;
    return 0;
}
size_t add_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]);

/* y = a - b */
void sub_forward_cpu(float *y /* (ys) */, const float *a /* (as) */, const float *b /* (bs) */, const int ys[4],
                     const int as[4], const int bs[4]);
void sub_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                   const int bs[4]);
/* da += reduce(dy), db += reduce(-dy) */
void sub_backward_cpu(float *da /* (as) or NULL */, float *db /* (bs) or NULL */, const float *dy /* (ys) */,
                      const int ys[4], const int as[4], const int bs[4], void *ws);
void sub_backward_cuda(float *da, float *db, const float *dy, const int ys[4], const int as[4],
                                    const int bs[4], void *ws);
static inline size_t sub_backward_ws_cpu(const int ys[4], const int as[4], const int bs[4]) {
    (void)ys, (void)as, (void)bs;
    return 0;
}
size_t sub_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]);

/* y = a * b */
void mul_forward_cpu(float *y /* (ys) */, const float *a /* (as) */, const float *b /* (bs) */, const int ys[4],
                     const int as[4], const int bs[4]);
void mul_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                   const int bs[4]);
/* da += reduce(dy * b), db += reduce(dy * a) */
void mul_backward_cpu(float *da /* (as) or NULL */, float *db /* (bs) or NULL */, const float *dy /* (ys) */,
                      const float *a /* (as) */, const float *b /* (bs) */, const int ys[4], const int as[4],
                      const int bs[4], void *ws);
void mul_backward_cuda(float *da, float *db, const float *dy, const float *a, const float *b,
                                    const int ys[4], const int as[4], const int bs[4], void *ws);
static inline size_t mul_backward_ws_cpu(const int ys[4], const int as[4], const int bs[4]) {
    (void)ys, (void)as, (void)bs;
    return 0;
}
size_t mul_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]);

/* y = a / b */
void div_forward_cpu(float *y /* (ys) */, const float *a /* (as) */, const float *b /* (bs) */, const int ys[4],
                     const int as[4], const int bs[4]);
void div_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                   const int bs[4]);
/* da += reduce(dy / b), db += reduce(-dy * ((a / b) / b)) */
void div_backward_cpu(float *da /* (as) or NULL */, float *db /* (bs) or NULL */, const float *dy /* (ys) */,
                      const float *a /* (as) */, const float *b /* (bs) */, const int ys[4], const int as[4],
                      const int bs[4], void *ws);
void div_backward_cuda(float *da, float *db, const float *dy, const float *a, const float *b,
                                    const int ys[4], const int as[4], const int bs[4], void *ws);
static inline size_t div_backward_ws_cpu(const int ys[4], const int as[4], const int bs[4]) {
    (void)ys, (void)as, (void)bs;
    return 0;
}
size_t div_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]);

/* ---- reshape: the forward shares memory; the backward is dx += dy ------ */
void reshape_backward_cpu(float *dx /* (n) */, const float *dy /* (n) */, int64_t n);
void reshape_backward_cuda(float *dx, const float *dy, int64_t n);

/* ---- reductions (sum, mean) ---------------------------------------------- */

/* y[kept] = (sum over the dims in `dims` of x) / div, accumulated in double */
void sum_forward_cpu(float *y /* (xs without the dims in `dims`) */, const float *x /* (xs) */, const int xs[4],
                     unsigned dims, float div, void *ws);
void sum_forward_cuda(float *y, const float *x, const int xs[4], unsigned dims, float div, void *ws);
static inline size_t sum_forward_ws_cpu(const int xs[4], unsigned dims) {
    (void)xs, (void)dims;
    return 0;
}
size_t sum_forward_ws_cuda(const int xs[4], unsigned dims);
/* dx[i] += dy[kept part of i] / div: dy broadcast back over the reduced dims */
void sum_backward_cpu(float *dx /* (xs) */, const float *dy /* (xs without the dims in `dims`) */, const int xs[4],
                      unsigned dims, float div);
void sum_backward_cuda(float *dx, const float *dy, const int xs[4], unsigned dims, float div);

#endif
