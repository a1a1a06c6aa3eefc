/* op_avgpool2d.c: 2-D average pooling, square window, zero padding counted.
 *
 * forward:  y[n, c, oh, ow] = (1 / D) * sum over ih in [oh*s - p, oh*s - p + k),
 *           iw likewise, of x[n, c, ih, iw], cells outside the image counting 0.
 *           D = k*k (count_include_pad=True; PyTorch clips the window at H + p,
 *           W + p before counting, which in floor mode never cuts it).
 *           OH = floor((H + 2p - k) / s) + 1, OW likewise (floor mode).
 * backward: y is linear in x: dL/dx[n, c, ih, iw] += sum over the windows that
 *           hold (ih, iw) of dL/dy[n, c, oh, ow] / D.
 * shapes:   x (N, C, H, W) -> y (N, C, OH, OW)
 * PyTorch:  torch.nn.functional.avg_pool2d(x, k, s, p) (ceil_mode=False,
 *           count_include_pad=True, divisor_override=None), which requires p <= k/2.
 * kernels:  kernels/pool.{h,c,cu}, kernels/pool_math.h
 */
#include "autograd/op.h"
#include "kernels/pool.h"

typedef struct {
    int kernel, stride, pad;
} AvgPoolCtx;

static void avgpool2d_backward(TapeEntry *e) {
    AvgPoolCtx *ctx = e->ctx;
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, avgpool2d_backward, tensor_grad(x), y->grad, x->shape[0] * x->shape[1], x->shape[2],
             x->shape[3], y->shape[2], y->shape[3], ctx->kernel, ctx->stride, ctx->pad);
}

Tensor *nx_avgpool2d(Tensor *x, int kernel, int stride, int pad) {
    OP_CHECK("avgpool2d", x->dtype == NX_F32 && x->ndim == 4, "x has shape %s, expected fp32 (N, C, H, W)",
             tensor_shape_str(x));
    OP_CHECK("avgpool2d", kernel > 0 && stride > 0 && pad >= 0 && pad <= kernel / 2,
             "kernel %d, stride %d, pad %d (need kernel, stride > 0 and 0 <= pad <= kernel/2)", kernel, stride, pad);
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    OP_CHECK("avgpool2d", H + 2 * pad >= kernel && W + 2 * pad >= kernel,
             "x %s is smaller than the kernel %d with pad %d", tensor_shape_str(x), kernel, pad);
    int OH = (H + 2 * pad - kernel) / stride + 1, OW = (W + 2 * pad - kernel) / stride + 1;

    Tensor *y = tensor_new4(x->device, N, C, OH, OW);
    DISPATCH(x->device, avgpool2d_forward, y->data, x->data, N * C, H, W, OH, OW, kernel, stride, pad);
    if (tape_wants(&x, 1)) {
        AvgPoolCtx *ctx = OP_CTX(AvgPoolCtx);
        *ctx = (AvgPoolCtx){kernel, stride, pad};
        tape_record(OP_avgpool2d, y, &x, 1, ctx, avgpool2d_backward);
    }
    return y;
}
