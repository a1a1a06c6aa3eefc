/* conv.h: 2-D convolution by im2col + GEMM (math in autograd/op_conv2d.c; CPU
 * version kernels/conv.c, CUDA twins kernels/conv.cu, the plain reference
 * loops they are tested against kernels/ref/conv_ref.h).
 *
 * Sizes: x (N, C, H, W), w (O, C/groups, KH, KW), b (O), y (N, O, OH, OW)
 * with OH = (H + 2 pad - KH) / stride + 1 and OW likewise (floor), zero
 * padding, one stride and one pad for both axes.
 */
#ifndef NX_KERNELS_CONV_H
#define NX_KERNELS_CONV_H

#include "kernels/hd.h"
#include "tensor/common.h" /* NX_CHECK */

/* Output size of a convolution along one axis. */
static inline int conv_out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* Sizes of one convolution, checked once, shared by the CPU and CUDA kernels. */
typedef struct ConvShape {
    int N, C, H, W, O, KH, KW, stride, pad, groups;
    int OH, OW, L;  /* output plane, L = OH*OW */
    int Cg, Og, Kg; /* per group: in channels, out channels, Cg*KH*KW */
} ConvShape;

static inline ConvShape conv_shape(int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups) {
    ConvShape s = {N, C, H, W, O, KH, KW, stride, pad, groups, 0, 0, 0, 0, 0, 0};
    NX_CHECK(groups >= 1 && C % groups == 0 && O % groups == 0, "conv2d: groups %d must divide C %d and O %d", groups,
             C, O);
    NX_CHECK(stride >= 1 && pad >= 0, "conv2d: stride %d, pad %d", stride, pad);
    s.OH = conv_out_size(H, KH, stride, pad);
    s.OW = conv_out_size(W, KW, stride, pad);
    NX_CHECK(s.OH >= 1 && s.OW >= 1, "conv2d: kernel %dx%d larger than padded input %dx%d", KH, KW, H + 2 * pad,
             W + 2 * pad);
    s.L = s.OH * s.OW;
    s.Cg = C / groups;
    s.Og = O / groups;
    s.Kg = s.Cg * KH * KW;
    return s;
}

/* The outputs o in [*lo, *hi) whose input o*stride - pad + k lies inside
 * [0, in) for kernel offset k: the rest read zero padding. */
static inline void conv_valid_range(int k, int in, int out, int stride, int pad, int *lo, int *hi) {
    int a = pad - k, b = in + pad - k; /* need a <= o*stride < b */
    int l = a <= 0 ? 0 : (a + stride - 1) / stride;
    int h = b <= 0 ? 0 : (b + stride - 1) / stride;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* The columns of one image:
 *   col[(c*KH + kh)*KW + kw][oh*OW + ow] = x[c][oh*stride - pad + kh][ow*stride - pad + kw]
 * (0 where that lands in the padding). Row r of col starts at col + r*ldcol,
 * so several images can sit side by side in one matrix (ldcol >= OH*OW). */
void im2col_cpu(float *col /* (C*KH*KW, ldcol) */, const float *x /* (C, H, W) */, int C, int H, int W, int KH,
                int KW, int stride, int pad, int ldcol);
void im2col_cuda(float *col, const float *x, int C, int H, int W, int KH, int KW, int stride, int pad,
                              int ldcol);
/* The adjoint of im2col: x[c][ih][iw] += every col entry that im2col read from it. */
void col2im_cpu(float *x /* (C, H, W), added to */, const float *col /* (C*KH*KW, ldcol) */, int C, int H, int W,
                int KH, int KW, int stride, int pad, int ldcol);
void col2im_cuda(float *x, const float *col, int C, int H, int W, int KH, int KW, int stride, int pad,
                              int ldcol);

/* y = conv(x, w) + b; b may be NULL. ws: scratch of conv2d_forward_ws_<cpu|cuda>
 * bytes (asked with the same sizes, outside any parallel region, as the
 * kernel is called). */
void conv2d_forward_cpu(float *y /* (N, O, OH, OW) */, const float *x /* (N, C, H, W) */,
                        const float *w /* (O, C/groups, KH, KW) */, const float *b /* (O) or NULL */, int N, int C,
                        int H, int W, int O, int KH, int KW, int stride, int pad, int groups, void *ws);
void conv2d_forward_cuda(float *y, const float *x, const float *w, const float *b, int N, int C, int H, int W, int O,
                         int KH, int KW, int stride, int pad, int groups, void *ws);
size_t conv2d_forward_ws_cpu(int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups);
size_t conv2d_forward_ws_cuda(int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups);
/* dx += dL/dx, dw += dL/dw, db += dL/db; each of the three may be NULL (not
 * wanted). ws: conv2d_backward_ws_<cpu|cuda>(dx != NULL, dw != NULL, ...) bytes. */
void conv2d_backward_cpu(float *dx /* (N, C, H, W) or NULL */, float *dw /* (O, C/groups, KH, KW) or NULL */,
                         float *db /* (O) or NULL */, const float *dy /* (N, O, OH, OW) */,
                         const float *x /* (N, C, H, W) */, const float *w /* (O, C/groups, KH, KW) */, int N,
                         int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups, void *ws);
void conv2d_backward_cuda(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                          int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups, void *ws);
size_t conv2d_backward_ws_cpu(bool want_dx, bool want_dw, int N, int C, int H, int W, int O, int KH, int KW, int stride,
                              int pad, int groups);
size_t conv2d_backward_ws_cuda(bool want_dx, bool want_dw, int N, int C, int H, int W, int O, int KH, int KW,
                               int stride, int pad, int groups);

#endif
