/* op_pow.c: power with a float exponent.
 *
 * forward:  y = x^p. As torch's CPU kernel: p = 2 is x*x, p = 3 is x*x*x,
 *           p = -2 is 1/(x*x), p = 0.5 is sqrt(x), p = -0.5 is 1/sqrt(x),
 *           p = -1 is 1/x, any other p is powf(x, p). So x^0 = 1 for every
 *           x (NaN and 0 included), and a negative x with a non-integer p
 *           gives NaN (forward and gradient), like torch.
 * backward: dy/dx = p x^(p-1) (x^(p-1) taken the same way), so
 *           dL/dx += dL/dy * (p * x^(p-1))
 *           and nothing at all when p == 0 (torch returns zeros there, even
 *           at x = 0 where 0 * 0^-1 would be NaN). At x = 0 with 0 < p < 1
 *           the gradient is +-inf, as in torch.
 * shapes:   x any -> y same
 * PyTorch:  torch.pow(x, p) with p a Python float; backward is torch's
 *           pow_backward, grad * (p * x.pow(p - 1)).
 * kernels:  kernels/elementwise.{h,c,cu}, kernels/elementwise_math.h
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

typedef struct {
    float p;
} PowCtx;

static void pow_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    PowCtx *c = e->ctx;
    if (!x->requires_grad) return;
    DISPATCH(x->device, pow_backward, tensor_grad(x), y->grad, x->data, c->p, x->numel);
}

Tensor *nx_pow(Tensor *x, float p) {
    OP_CHECK("pow", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, pow_forward, y->data, x->data, p, x->numel);
    if (tape_wants(&x, 1)) {
        PowCtx *c = OP_CTX(PowCtx);
        c->p = p;
        tape_record(OP_pow, y, &x, 1, c, pow_backward);
    }
    return y;
}
