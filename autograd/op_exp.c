/* op_exp.c: exponential.
 *
 * forward:  y = exp(x)       (overflows to inf for x > 88.72, as IEEE)
 * backward: dy/dx = exp(x) = y, so
 *           dL/dx += dL/dy * y               (from the saved output y)
 * shapes:   x any -> y same
 * PyTorch:  torch.exp(x); backward grad * result.
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

static void exp_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, exp_backward, tensor_grad(x), y->grad, y->data, x->numel);
}

Tensor *nx_exp(Tensor *x) {
    OP_CHECK("exp", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, exp_forward, y->data, x->data, x->numel);
    if (tape_wants(&x, 1)) tape_record(OP_exp, y, &x, 1, NULL, exp_backward);
    return y;
}
