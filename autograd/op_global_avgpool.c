/* op_global_avgpool.c: global average pooling, one mean per (image, channel).
 *
 * forward:  y[n, c, 0, 0] = (1 / (H*W)) * sum_{h, w} x[n, c, h, w]
 * backward: dL/dx[n, c, h, w] += dL/dy[n, c, 0, 0] / (H*W)
 * shapes:   x (N, C, H, W) -> y (N, C, 1, 1)
 * PyTorch:  torch.nn.functional.adaptive_avg_pool2d(x, 1), the same as
 *           x.mean((2, 3), keepdim=True).
 * kernels:  kernels/pool.{h,c,cu}, kernels/pool_math.h
 */
#include "autograd/op.h"
#include "kernels/pool.h"

static void global_avgpool_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, global_avgpool_backward, tensor_grad(x), y->grad, (int64_t)x->shape[0] * x->shape[1],
             (int64_t)x->shape[2] * x->shape[3]);
}

Tensor *nx_global_avgpool(Tensor *x) {
    OP_CHECK("global_avgpool", x->dtype == NX_F32 && x->ndim == 4 && x->shape[2] * x->shape[3] > 0,
             "x has shape %s, expected fp32 (N, C, H, W) with H*W > 0", tensor_shape_str(x));
    Tensor *y = tensor_new4(x->device, x->shape[0], x->shape[1], 1, 1);
    DISPATCH(x->device, global_avgpool_forward, y->data, x->data, (int64_t)x->shape[0] * x->shape[1],
             (int64_t)x->shape[2] * x->shape[3]);
    if (tape_wants(&x, 1)) tape_record(OP_global_avgpool, y, &x, 1, NULL, global_avgpool_backward);
    return y;
}
