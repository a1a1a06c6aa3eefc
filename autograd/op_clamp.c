/* op_clamp.c: clamp to [lo, hi].
 *
 * forward:  y = min(max(x, lo), hi); a NaN input stays NaN (as torch.clamp);
 *           lo > hi is not an error and gives hi everywhere (as torch.clamp).
 * backward: y = x strictly inside (lo, hi) and constant outside, so
 *           dL/dx += dL/dy * [lo < x < hi]
 *           STRICT on both sides: at x == lo or x == hi the gradient is 0,
 *           like torch.nn.functional.hardtanh(x, lo, hi). This differs from
 *           torch.clamp, whose gradient passes at exactly the bounds
 *           (lo <= x <= hi); the golden test compares with hardtanh. At a
 *           NaN x the gradient is 0 (as torch.clamp, and hardtanh's
 *           vectorised CPU path).
 * shapes:   x any -> y same
 * PyTorch:  forward torch.clamp(x, lo, hi) (== F.hardtanh(x, lo, hi) for
 *           lo <= hi), backward F.hardtanh's.
 * kernels:  kernels/elementwise.{h,c,cu}, kernels/elementwise_math.h
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

typedef struct {
    float lo, hi;
} ClampCtx;

static void clamp_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    ClampCtx *c = e->ctx;
    if (!x->requires_grad) return;
    DISPATCH(x->device, clamp_backward, tensor_grad(x), y->grad, x->data, c->lo, c->hi, x->numel);
}

Tensor *nx_clamp(Tensor *x, float lo, float hi) {
    OP_CHECK("clamp", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, clamp_forward, y->data, x->data, lo, hi, x->numel);
    if (tape_wants(&x, 1)) {
        ClampCtx *c = OP_CTX(ClampCtx);
        c->lo = lo;
        c->hi = hi;
        tape_record(OP_clamp, y, &x, 1, c, clamp_backward);
    }
    return y;
}
