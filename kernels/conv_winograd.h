/* conv_winograd.h: 3x3, stride-1, pad-1 convolutions on the CPU by Winograd
 * F(2x2, 3x3) (the math in kernels/conv_winograd.c). Called from
 * kernels/conv.c when conv_winograd_applies(shape); no CUDA twin (the CUDA
 * path has cuDNN-free im2col + cuBLAS, kernels/conv.cu).
 */
#ifndef NX_KERNELS_CONV_WINOGRAD_H
#define NX_KERNELS_CONV_WINOGRAD_H

#include "kernels/conv.h"

/* Whether pass `pass` of this shape goes by Winograd: the shape qualifies
 * (KH = KW = 3, stride 1, pad 1, groups 1, C >= 16, O >= 16) and the pass is
 * faster so than by im2col + GEMM (conv_winograd.c says when), or the
 * environment says otherwise: NX_CONV_WINOGRAD=0 forces im2col + GEMM for
 * every pass, NX_CONV_WINOGRAD=<mask> (1 forward, 2 dX, 4 dW; 7 all) forces
 * Winograd for the passes in the mask on every qualifying shape. */
enum { CONV_WINOGRAD_FWD = 1, CONV_WINOGRAD_DX = 2, CONV_WINOGRAD_DW = 4 };
bool conv_winograd_applies(const ConvShape *s, int pass);

/* y = conv(x, w) + b (b may be NULL). ws: conv_winograd_forward_ws_floats(s)
 * floats, asked outside any parallel region, like the call. */
size_t conv_winograd_forward_ws_floats(const ConvShape *s);
void conv_winograd_forward(float *y /* (N, O, H, W) */, const float *x /* (N, C, H, W) */,
                           const float *w /* (O, C, 3, 3) */, const float *b /* (O) or NULL */, const ConvShape *s,
                           float *ws);

/* dx += dL/dx, dw += dL/dw (either may be NULL; db is the caller's).
 * ws: conv_winograd_backward_ws_floats(s, dx != NULL, dw != NULL) floats. */
size_t conv_winograd_backward_ws_floats(const ConvShape *s, bool want_dx, bool want_dw);
void conv_winograd_backward(float *dx /* (N, C, H, W) or NULL */, float *dw /* (O, C, 3, 3) or NULL */,
                            const float *dy /* (N, O, H, W) */, const float *x /* (N, C, H, W) */,
                            const float *w /* (O, C, 3, 3) */, const ConvShape *s, float *ws);

#endif
