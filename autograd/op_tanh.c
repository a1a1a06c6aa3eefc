/* op_tanh.c: hyperbolic tangent.
 *
 * forward:  y = tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))
 * backward: dy/dx = 1 - tanh(x)^2, so
 *           dL/dx += dL/dy * (1 - y * y)     (from the saved output y)
 * shapes:   x any -> y same
 * PyTorch:  torch.tanh(x); backward is torch's tanh_backward,
 *           grad * (1 - y * y).
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

static void tanh_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, tanh_backward, tensor_grad(x), y->grad, y->data, x->numel);
}

Tensor *nx_tanh(Tensor *x) {
    OP_CHECK("tanh", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, tanh_forward, y->data, x->data, x->numel);
    if (tape_wants(&x, 1)) tape_record(OP_tanh, y, &x, 1, NULL, tanh_backward);
    return y;
}
