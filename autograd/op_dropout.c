/* op_dropout.c: dropout (inverted: survivors are scaled at training time).
 *
 * forward (training, 0 < p):
 *   offset = rng_take(n) reserves n numbers of the global Philox stream;
 *   u_i = philox_uniform(seed, offset + i) in (0, 1], keep_i = [u_i > p]
 *   (probability 1 - p), y_i = keep_i * x_i / (1 - p).
 *   eval, or p == 0: y = x (a copy; still on the tape, draws nothing).
 * backward: y is linear in x with the mask fixed, so dL/dx_i += keep_i * dL/dy_i / (1 - p).
 *   The mask is not stored: the ctx keeps (seed, offset) and the backward
 *   kernel regenerates it (no memory, the same numbers on CPU and CUDA).
 * shapes: x any -> y same
 * PyTorch: torch.nn.functional.dropout(x, p, training). Its mask comes from
 *   torch's own generator, so only the distribution matches: P(keep) = 1 - p,
 *   kept values x / (1 - p), p == 1 gives zeros, eval is the identity.
 * kernels:  kernels/dropout.{h,c,cu}, kernels/dropout_math.h, kernels/philox.h
 */
#include "autograd/op.h"
#include "kernels/dropout.h"
#include "tensor/rng.h"

typedef struct {
    float p; /* 0 for the identity */
    uint64_t seed, offset;
} DropoutCtx;

static void dropout_backward(TapeEntry *e) {
    DropoutCtx *ctx = e->ctx;
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, dropout_backward, tensor_grad(x), y->grad, x->numel, ctx->p, ctx->seed, ctx->offset);
}

Tensor *nx_dropout(Tensor *x, float p, bool training) {
    OP_CHECK("dropout", x->dtype == NX_F32, "int32 input");
    OP_CHECK("dropout", p >= 0 && p <= 1, "p = %g, expected 0 <= p <= 1", (double)p);
    if (!training) p = 0; /* identity */
    uint64_t seed = rng_get_seed(), offset = p > 0 ? rng_take((uint64_t)x->numel) : 0;
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, dropout_forward, y->data, x->data, x->numel, p, seed, offset);
    if (tape_wants(&x, 1)) {
        DropoutCtx *ctx = OP_CTX(DropoutCtx);
        *ctx = (DropoutCtx){p, seed, offset};
        tape_record(OP_dropout, y, &x, 1, ctx, dropout_backward);
    }
    return y;
}
