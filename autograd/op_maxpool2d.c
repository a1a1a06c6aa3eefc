/* op_maxpool2d.c: 2-D max pooling, square window.
 *
 * forward:  y[n, c, oh, ow] = max over ih in [oh*s - p, oh*s - p + k), iw likewise,
 *           of x[n, c, ih, iw]; cells outside the image are -inf (never chosen).
 *           OH = floor((H + 2p - k) / s) + 1, OW likewise (floor mode).
 * backward: y is x at one position (the argmax), so dL/dx[argmax] += dL/dy and
 *           every other cell of the window gets nothing. The argmax is the first
 *           maximum in row-major window order (a tie goes to the earliest cell), kept
 *           per output as an int32 index ih*W + iw in the step arena.
 * shapes:   x (N, C, H, W) -> y (N, C, OH, OW)
 * PyTorch:  torch.nn.functional.max_pool2d(x, k, s, p) (ceil_mode=False, dilation=1),
 *           which requires p <= k/2; the same tie rule (strict >, a NaN wins).
 * kernels:  kernels/pool.{h,c,cu}, kernels/pool_math.h
 */
#include "autograd/op.h"
#include "kernels/pool.h"

typedef struct {
    Tensor *idx; /* int32 (N, C, OH, OW): argmax within each input plane */
} MaxPoolCtx;

static void maxpool2d_backward(TapeEntry *e) {
    MaxPoolCtx *ctx = e->ctx;
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    bool accumulate;
    float *dx = tensor_grad_for_write(x, &accumulate);
    DISPATCH(x->device, maxpool2d_backward, dx, y->grad, ctx->idx->idata, x->shape[0] * x->shape[1],
             x->shape[2] * x->shape[3], y->shape[2] * y->shape[3], accumulate);
}

Tensor *nx_maxpool2d(Tensor *x, int kernel, int stride, int pad) {
    OP_CHECK("maxpool2d", x->dtype == NX_F32 && x->ndim == 4, "x has shape %s, expected fp32 (N, C, H, W)",
             tensor_shape_str(x));
    OP_CHECK("maxpool2d", kernel > 0 && stride > 0 && pad >= 0 && pad <= kernel / 2,
             "kernel %d, stride %d, pad %d (need kernel, stride > 0 and 0 <= pad <= kernel/2)", kernel, stride, pad);
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    OP_CHECK("maxpool2d", H + 2 * pad >= kernel && W + 2 * pad >= kernel,
             "x %s is smaller than the kernel %d with pad %d", tensor_shape_str(x), kernel, pad);
    int OH = (H + 2 * pad - kernel) / stride + 1, OW = (W + 2 * pad - kernel) / stride + 1;

    Tensor *y = tensor_new4(x->device, N, C, OH, OW);
    bool record = tape_wants(&x, 1);
    Tensor *idx = record ? tensor_newv(x->device, NX_I32, 4, N, C, OH, OW) : NULL;
    DISPATCH(x->device, maxpool2d_forward, y->data, idx ? idx->idata : NULL, x->data, N * C, H, W, OH, OW, kernel,
             stride, pad);
    if (record) {
        MaxPoolCtx *ctx = OP_CTX(MaxPoolCtx);
        ctx->idx = idx;
        tape_record(OP_maxpool2d, y, &x, 1, ctx, maxpool2d_backward);
    }
    return y;
}
