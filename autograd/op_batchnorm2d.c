/* op_batchnorm2d.c: 2-D batch normalisation, one set of statistics per channel.
 *
 * forward (per channel c, over the n = N*H*W values of that channel):
 *   training: mean = sum(x) / n, var = sum((x - mean)^2) / n   (biased)
 *             running_mean = (1 - m) * running_mean + m * mean
 *             running_var  = (1 - m) * running_var  + m * var * n / (n - 1)   (unbiased)
 *   eval:     mean = running_mean, var = running_var (nothing is updated)
 *   xhat = (x - mean) / sqrt(var + eps),   y = xhat * weight + bias
 *   weight/bias NULL (affine=False) act as 1 and 0.
 *
 * backward, with invstd = 1/sqrt(var + eps) and g = dy * weight:
 *   dbias   += sum(dy)                     dweight += sum(dy * xhat)
 *   eval:     mean and var are constants, so dx += g * invstd.
 *   training: mean and var depend on x. dxhat = g; dvar = sum(g * (x - mean)) * -invstd^3 / 2;
 *             dmean = -invstd * sum(g) (its term through dvar is sum(x - mean) = 0);
 *             dx = g * invstd + dvar * 2 (x - mean) / n + dmean / n, which simplifies to
 *             dx += invstd * (g - mean(g) - xhat * mean(g * xhat)).
 *   Running statistics are buffers: never differentiated.
 *
 * shapes: x (N, C, H, W); weight, bias, running_mean, running_var (C) -> y (N, C, H, W)
 *
 * PyTorch: torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
 *   training, momentum, eps), i.e. nn.BatchNorm2d(C, eps, momentum, affine) in train()/eval().
 *   In training the running stats may be NULL (track_running_stats=False: nothing is
 *   updated); in eval they are required. Like PyTorch, training needs n > 1.
 * kernels:  kernels/batchnorm.{h,c,cu}, kernels/batchnorm_math.h
 */
#include "autograd/op.h"
#include "kernels/batchnorm.h"

typedef struct {
    Tensor *save_mean, *save_invstd; /* (C): the statistics the forward used */
    bool training;
} BatchNormCtx;

static void check_channel_vec(const char *what, const Tensor *v, const Tensor *x) {
    if (!v) return;
    OP_CHECK("batchnorm2d", v->dtype == NX_F32 && v->numel == x->shape[1] && v->device == x->device,
             "%s has shape %s on %s, expected (%d) on %s (x is %s)", what, tensor_shape_str(v), device_name(v->device),
             x->shape[1], device_name(x->device), tensor_shape_str(x));
}

static void batchnorm2d_backward(TapeEntry *e) {
    BatchNormCtx *ctx = e->ctx;
    Tensor *x = e->in[0], *w = e->in[1], *b = e->in[2], *y = e->out;
    float *dx = x->requires_grad ? tensor_grad(x) : NULL;
    float *dw = w && w->requires_grad ? tensor_grad(w) : NULL;
    float *db = b && b->requires_grad ? tensor_grad(b) : NULL;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3];
    DISPATCH(x->device, batchnorm2d_backward, dx, dw, db, y->grad, x->data, ctx->save_mean->data,
             ctx->save_invstd->data, w ? w->data : NULL, N, C, HW, ctx->training);
}

Tensor *nx_batchnorm2d(Tensor *x, Tensor *weight, Tensor *bias, Tensor *running_mean, Tensor *running_var,
                       bool training, float momentum, float eps) {
    OP_CHECK("batchnorm2d", x->dtype == NX_F32 && x->ndim == 4, "x has shape %s, expected fp32 (N, C, H, W)",
             tensor_shape_str(x));
    check_channel_vec("weight", weight, x);
    check_channel_vec("bias", bias, x);
    check_channel_vec("running_mean", running_mean, x);
    check_channel_vec("running_var", running_var, x);
    OP_CHECK("batchnorm2d", training || (running_mean && running_var), "eval mode needs running_mean and running_var");
    OP_CHECK("batchnorm2d", (running_mean == NULL) == (running_var == NULL),
             "running_mean and running_var must be both given or both NULL");
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3];
    OP_CHECK("batchnorm2d", !training || (int64_t)N * HW > 1,
             "expected more than 1 value per channel when training, got x %s", tensor_shape_str(x));

    Tensor *y = tensor_like(x);
    Tensor *save_mean = tensor_newv(x->device, NX_F32, 1, C), *save_invstd = tensor_newv(x->device, NX_F32, 1, C);
    DISPATCH(x->device, batchnorm2d_forward, y->data, save_mean->data, save_invstd->data,
             running_mean ? running_mean->data : NULL, running_var ? running_var->data : NULL, x->data,
             weight ? weight->data : NULL, bias ? bias->data : NULL, N, C, HW, training, momentum, eps);

    Tensor *in[3] = {x, weight, bias};
    if (tape_wants(in, 3)) {
        BatchNormCtx *ctx = OP_CTX(BatchNormCtx);
        ctx->save_mean = save_mean;
        ctx->save_invstd = save_invstd;
        ctx->training = training;
        tape_record(OP_batchnorm2d, y, in, 3, ctx, batchnorm2d_backward);
    }
    return y;
}
