/* op_conv2d.c: 2-D convolution (cross-correlation), zero padding, groups.
 *
 * forward, for group g = o / Og (Cg = C/groups inputs, Og = O/groups outputs):
 *   y[n, o, oh, ow] = b[o] + sum over c < Cg, kh < KH, kw < KW of
 *                     w[o, c, kh, kw] * x[n, g*Cg + c, oh*s - p + kh, ow*s - p + kw]
 *   with x = 0 outside the image; OH = floor((H + 2p - KH) / s) + 1, OW likewise.
 * backward: y is linear in each of x, w, b, so
 *   dL/db[o]             += sum over n, oh, ow of dy[n, o, oh, ow]
 *   dL/dw[o, c, kh, kw]  += sum over n, oh, ow of dy[n, o, oh, ow] * x[n, g*Cg + c, ih, iw]
 *   dL/dx[n, g*Cg+c, ih, iw] += sum over the (o in group g, kh, kw, oh, ow) that read it
 *                           of dy[n, o, oh, ow] * w[o, c, kh, kw]
 *   (ih = oh*s - p + kh, iw = ow*s - p + kw). As matrices, per image and group,
 *   with col = im2col(x) (Cg*KH*KW, OH*OW): Y = W col, dW += dY col^T,
 *   dcol = W^T dY, dx += col2im(dcol) (kernels/conv.c); 3x3, stride-1, pad-1
 *   layers with 16 or more channels by Winograd F(2x2, 3x3) where that is the
 *   faster (kernels/conv_winograd.c; NX_CONV_WINOGRAD=0 turns it off).
 *   A gradient is computed only for inputs with requires_grad: a frozen
 *   weight costs no dW GEMM, an input image that needs no gradient no dX.
 * shapes: x (N, C, H, W), w (O, C/groups, KH, KW), b (O) or NULL -> y (N, O, OH, OW)
 * PyTorch: torch.nn.functional.conv2d(x, w, b, stride=s, padding=p, dilation=1, groups=groups),
 *   one stride and one pad for both axes; groups == C == O is a depthwise
 *   convolution (Gaussian blurs).
 * kernels:  kernels/conv.{h,c,cu}, kernels/conv_winograd.{h,c}, kernels/gemm.{h,c,cu}, kernels/ref/conv_ref.{h,c}
 */
#include "autograd/op.h"
#include "kernels/conv.h"

typedef struct {
    int stride, pad, groups;
} Conv2dCtx;

static void conv2d_backward(TapeEntry *e) {
    Conv2dCtx *ctx = e->ctx;
    Tensor *x = e->in[0], *w = e->in[1], *b = e->n_in > 2 ? e->in[2] : NULL, *y = e->out;
    float *dx = x->requires_grad ? tensor_grad(x) : NULL;
    float *dw = w->requires_grad ? tensor_grad(w) : NULL;
    float *db = b && b->requires_grad ? tensor_grad(b) : NULL;
    if (!dx && !dw && !db) return;
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int O = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    void *ws = OP_WORKSPACE(x->device, conv2d_backward, dx != NULL, dw != NULL, N, C, H, W, O, KH, KW, ctx->stride,
                            ctx->pad, ctx->groups);
    DISPATCH(x->device, conv2d_backward, dx, dw, db, y->grad, x->data, w->data, N, C, H, W, O, KH, KW, ctx->stride,
             ctx->pad, ctx->groups, ws);
}

Tensor *nx_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int groups) {
    OP_CHECK("conv2d", x->dtype == NX_F32 && x->ndim == 4, "x has shape %s, expected fp32 (N, C, H, W)",
             tensor_shape_str(x));
    OP_CHECK("conv2d", w->dtype == NX_F32 && w->ndim == 4, "w has shape %s, expected fp32 (O, C/groups, KH, KW)",
             tensor_shape_str(w));
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int O = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    OP_CHECK("conv2d", stride >= 1 && pad >= 0 && groups >= 1, "stride %d, pad %d, groups %d", stride, pad, groups);
    OP_CHECK("conv2d", C % groups == 0 && O % groups == 0 && w->shape[1] == C / groups,
             "x %s, w %s, groups %d: need C and O divisible by groups and w (O, C/groups, KH, KW)",
             tensor_shape_str(x), tensor_shape_str(w), groups);
    OP_CHECK("conv2d", KH >= 1 && KW >= 1 && H + 2 * pad >= KH && W + 2 * pad >= KW,
             "w %s does not fit x %s with pad %d", tensor_shape_str(w), tensor_shape_str(x), pad);
    OP_CHECK("conv2d", !b || (b->dtype == NX_F32 && b->numel == O), "b has shape %s, expected (%d)",
             tensor_shape_str(b), O);
    op_same_device("conv2d", x, w);
    op_same_device("conv2d", x, b);

    int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
    Tensor *y = tensor_new4(x->device, N, O, OH, OW);
    void *ws = OP_WORKSPACE(x->device, conv2d_forward, N, C, H, W, O, KH, KW, stride, pad, groups);
    DISPATCH(x->device, conv2d_forward, y->data, x->data, w->data, b ? b->data : NULL, N, C, H, W, O, KH, KW, stride,
             pad, groups, ws);
    Tensor *in[3] = {x, w, b};
    int n_in = b ? 3 : 2;
    if (tape_wants(in, n_in)) {
        Conv2dCtx *ctx = OP_CTX(Conv2dCtx);
        ctx->stride = stride;
        ctx->pad = pad;
        ctx->groups = groups;
        tape_record(OP_conv2d, y, in, n_in, ctx, conv2d_backward);
    }
    return y;
}
