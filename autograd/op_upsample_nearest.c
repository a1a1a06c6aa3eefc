/* op_upsample_nearest.c: nearest-neighbour upsampling by an integer factor.
 *
 * forward:  y[n][c][h][w] = x[n][c][h / f][w / f]        (integer division)
 * backward: every x pixel was copied into one f x f block of y, so
 *           dL/dx[n][c][h][w] += sum_{a, b < f} dL/dy[n][c][h*f + a][w*f + b]
 * shapes:   x (N, C, H, W) -> y (N, C, H*f, W*f), f >= 1
 * PyTorch:  F.interpolate(x, scale_factor=f, mode='nearest') (nn.Upsample).
 *           PyTorch computes the source row as floor(dst * float(1/f)),
 *           clamped to H-1 (dst >> 1 when f == 2); that equals dst / f for
 *           every f <= 40 and every power of two at any size up to 8192
 *           pixels. (For a few odd large factors, 41, 47, 55, 61, float
 *           rounding shifts PyTorch's index by one row; not reproduced.)
 * kernels:  kernels/resample.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/resample.h"

typedef struct {
    int factor;
} UpsampleNearestCtx;

static void upsample_nearest_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    const UpsampleNearestCtx *c = e->ctx;
    DISPATCH(x->device, upsample_nearest_backward, tensor_grad(x), y->grad, (int64_t)x->shape[0] * x->shape[1],
             x->shape[2], x->shape[3], c->factor);
}

Tensor *nx_upsample_nearest(Tensor *x, int factor) {
    OP_CHECK("upsample_nearest", x->dtype == NX_F32, "int32 input");
    OP_CHECK("upsample_nearest", x->ndim == 4, "input %s, expected (N, C, H, W)", tensor_shape_str(x));
    OP_CHECK("upsample_nearest", factor >= 1, "factor %d, expected >= 1", factor);
    const int n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    Tensor *y = tensor_new4(x->device, n, c, h * factor, w * factor);
    DISPATCH(x->device, upsample_nearest_forward, y->data, x->data, (int64_t)n * c, h, w, factor);
    if (tape_wants(&x, 1)) {
        UpsampleNearestCtx *ctx = OP_CTX(UpsampleNearestCtx);
        ctx->factor = factor;
        tape_record(OP_upsample_nearest, y, &x, 1, ctx, upsample_nearest_backward);
    }
    return y;
}
