/* op_abs.c: absolute value.
 *
 * forward:  y = |x|
 * backward: d|x|/dx = sign(x) away from 0; at the kink x = 0 the
 *           subgradient 0 is used (sign(0) = 0, also for -0), so
 *           dL/dx += dL/dy * sign(x)
 * shapes:   x any -> y same
 * PyTorch:  torch.abs(x); its backward is grad * x.sgn(), which is also 0
 *           at x = 0.
 * kernels:  kernels/elementwise.{h,c,cu}, kernels/elementwise_math.h
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

static void abs_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, abs_backward, tensor_grad(x), y->grad, x->data, x->numel);
}

Tensor *nx_abs(Tensor *x) {
    OP_CHECK("abs", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, abs_forward, y->data, x->data, x->numel);
    if (tape_wants(&x, 1)) tape_record(OP_abs, y, &x, 1, NULL, abs_backward);
    return y;
}
