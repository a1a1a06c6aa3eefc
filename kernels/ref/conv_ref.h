/* conv_ref.h: 2-D convolution as the plainest loops, the version a student
 * reads first (the math in autograd/op_conv2d.c).
 *
 * Sizes as conv2d_forward_cpu (kernels/conv.h): x (N, C, H, W),
 * w (O, C/groups, KH, KW), b (O) or NULL, y (N, O, OH, OW) with
 * OH = (H + 2 pad - KH) / stride + 1 (floor), OW likewise, zero padding.
 * With Cg = C/groups and Og = O/groups, output channel o reads the input
 * channels g*Cg .. g*Cg + Cg - 1 of its group g = o / Og:
 *
 *   forward:         y[n][o][oh][ow] = b[o] + sum_{c, kh, kw} w[o][c][kh][kw] x[n][g*Cg + c][ih][iw]
 *   backward data:   dx[n][g*Cg + c][ih][iw] += sum_{o in g, kh, kw} dy[n][o][oh][ow] w[o][c][kh][kw]
 *   backward weight: dw[o][c][kh][kw] += sum_{n, oh, ow} dy[n][o][oh][ow] x[n][g*Cg + c][ih][iw]
 *                    db[o] += sum_{n, oh, ow} dy[n][o][oh][ow]
 *
 * with ih = oh*stride - pad + kh, iw = ow*stride - pad + kw, and terms whose
 * (ih, iw) falls in the padding skipped. Every output element is one sum,
 * accumulated in double, written (forward) or added (backward) once; no
 * workspace, no threads, no layout tricks. These are the oracle of the fast
 * kernels' tests (tests/suite_gemm.c).
 *
 * The fast CPU convolution (kernels/conv.c) computes the same sums as GEMMs
 * (im2col + blocked SGEMM, im2col fused into the GEMM's packing, dX by
 * col2im or as a transposed convolution, images shared between threads) and
 * accumulates in float, so it agrees with these to float rounding, not bit
 * for bit.
 */
#ifndef NX_KERNELS_REF_CONV_REF_H
#define NX_KERNELS_REF_CONV_REF_H

#include "kernels/hd.h"

/* y = conv(x, w) + b; b may be NULL. */
void conv2d_forward_ref(float *y /* (N, O, OH, OW) */, const float *x /* (N, C, H, W) */,
                        const float *w /* (O, C/groups, KH, KW) */, const float *b /* (O) or NULL */, int N, int C,
                        int H, int W, int O, int KH, int KW, int stride, int pad, int groups);
/* dx += dL/dx */
void conv2d_backward_data_ref(float *dx /* (N, C, H, W) */, const float *dy /* (N, O, OH, OW) */,
                              const float *w /* (O, C/groups, KH, KW) */, int N, int C, int H, int W, int O, int KH,
                              int KW, int stride, int pad, int groups);
/* dw += dL/dw, db += dL/db (db may be NULL) */
void conv2d_backward_weight_ref(float *dw /* (O, C/groups, KH, KW) */, float *db /* (O) or NULL */,
                                const float *dy /* (N, O, OH, OW) */, const float *x /* (N, C, H, W) */, int N, int C,
                                int H, int W, int O, int KH, int KW, int stride, int pad, int groups);

#endif
