/* op_pixel_shuffle.c: depth to space (sub-pixel convolution's rearrangement).
 *
 * forward:  y[n][c][h*r + i][w*r + j] = x[n][c*r*r + i*r + j][h][w]
 *           for 0 <= i, j < r: each group of r*r channels becomes an r x r
 *           block of pixels.
 * backward: a permutation, so the gradient is the inverse permutation:
 *           dL/dx[n][c*r*r + i*r + j][h][w] += dL/dy[n][c][h*r + i][w*r + j]
 * shapes:   x (N, C*r*r, H, W) -> y (N, C, H*r, W*r), r >= 1
 * PyTorch:  F.pixel_shuffle(x, r) (nn.PixelShuffle(r)).
 * kernels:  kernels/resample.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/resample.h"

typedef struct {
    int r;
} PixelShuffleCtx;

static void pixel_shuffle_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    const PixelShuffleCtx *c = e->ctx;
    DISPATCH(x->device, pixel_shuffle_backward, tensor_grad(x), y->grad, y->shape[0], y->shape[1], x->shape[2],
             x->shape[3], c->r);
}

Tensor *nx_pixel_shuffle(Tensor *x, int r) {
    OP_CHECK("pixel_shuffle", x->dtype == NX_F32, "int32 input");
    OP_CHECK("pixel_shuffle", x->ndim == 4, "input %s, expected (N, C*r*r, H, W)", tensor_shape_str(x));
    OP_CHECK("pixel_shuffle", r >= 1, "upscale factor %d, expected >= 1", r);
    OP_CHECK("pixel_shuffle", x->shape[1] % (r * r) == 0, "input %s: channels %d not divisible by r*r = %d",
             tensor_shape_str(x), x->shape[1], r * r);
    const int n = x->shape[0], c = x->shape[1] / (r * r), h = x->shape[2], w = x->shape[3];
    Tensor *y = tensor_new4(x->device, n, c, h * r, w * r);
    DISPATCH(x->device, pixel_shuffle_forward, y->data, x->data, n, c, h, w, r);
    if (tape_wants(&x, 1)) {
        PixelShuffleCtx *ctx = OP_CTX(PixelShuffleCtx);
        ctx->r = r;
        tape_record(OP_pixel_shuffle, y, &x, 1, ctx, pixel_shuffle_backward);
    }
    return y;
}
