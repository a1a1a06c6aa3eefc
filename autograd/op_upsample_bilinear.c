/* op_upsample_bilinear.c: bilinear resampling of each image to (OH, OW).
 *
 * forward:  along each axis (in -> out pixels) an output index d maps to a
 *           source coordinate s:
 *             align_corners:  s = d * (in - 1) / (out - 1)   (0 when out == 1)
 *             otherwise:      s = max((d + 0.5) * in / out - 0.5, 0)
 *           i0 = floor(s), i1 = min(i0 + 1, in - 1), l1 = s - i0, l0 = 1 - l1
 *           (past the last pixel both taps are pixel in - 1, weights still
 *           summing to 1), and
 *             y[n][c][oh][ow] = sum_{a, b in {0,1}} lh_a * lw_b * x[n][c][ih_a][iw_b]
 *           Works for up- and downsampling, any ratio, per axis.
 * backward: y is linear in x, so dx is the transpose applied to dy:
 *             dL/dx[n][c][ih_a][iw_b] += lh_a * lw_b * dL/dy[n][c][oh][ow]
 *           for every output pixel and its four taps (a scatter-add).
 * shapes:   x (N, C, H, W) -> y (N, C, OH, OW), OH, OW >= 1
 * PyTorch:  F.interpolate(x, size=(OH, OW), mode='bilinear',
 *           align_corners=...). The scale is computed in float, the source
 *           coordinate in double, the weights in float, and an axis whose
 *           size does not change is copied (ATen/native/UpSample.h,
 *           compute_source_index_and_lambda); the kernels follow that
 *           order, and the forward sums along W before H as PyTorch does.
 * kernels:  kernels/resample.{h,c,cu}, kernels/resample_math.h
 */
#include "autograd/op.h"
#include "kernels/resample.h"

typedef struct {
    bool align_corners;
} UpsampleBilinearCtx;

static void upsample_bilinear_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    const UpsampleBilinearCtx *c = e->ctx;
    DISPATCH(x->device, upsample_bilinear_backward, tensor_grad(x), y->grad, (int64_t)x->shape[0] * x->shape[1],
             x->shape[2], x->shape[3], y->shape[2], y->shape[3], c->align_corners);
}

Tensor *nx_upsample_bilinear(Tensor *x, int out_h, int out_w, bool align_corners) {
    OP_CHECK("upsample_bilinear", x->dtype == NX_F32, "int32 input");
    OP_CHECK("upsample_bilinear", x->ndim == 4, "input %s, expected (N, C, H, W)", tensor_shape_str(x));
    OP_CHECK("upsample_bilinear", x->shape[2] >= 1 && x->shape[3] >= 1, "input %s has an empty image",
             tensor_shape_str(x));
    OP_CHECK("upsample_bilinear", out_h >= 1 && out_w >= 1, "output size (%d, %d), expected >= 1", out_h, out_w);
    const int n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    Tensor *y = tensor_new4(x->device, n, c, out_h, out_w);
    DISPATCH(x->device, upsample_bilinear_forward, y->data, x->data, (int64_t)n * c, h, w, out_h, out_w,
             align_corners);
    if (tape_wants(&x, 1)) {
        UpsampleBilinearCtx *ctx = OP_CTX(UpsampleBilinearCtx);
        ctx->align_corners = align_corners;
        tape_record(OP_upsample_bilinear, y, &x, 1, ctx, upsample_bilinear_backward);
    }
    return y;
}
