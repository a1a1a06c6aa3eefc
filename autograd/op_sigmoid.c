/* op_sigmoid.c: the logistic sigmoid.
 *
 * forward:  y = 1 / (1 + exp(-x)), computed as exp(x) / (1 + exp(x)) for
 *           x < 0 so that no exp ever overflows (stable for large |x|).
 * backward: dy/dx = exp(-x) / (1 + exp(-x))^2 = y (1 - y), so
 *           dL/dx += dL/dy * (1 - y) * y     (from the saved output y)
 * shapes:   x any -> y same
 * PyTorch:  torch.sigmoid(x); backward is torch's sigmoid_backward,
 *           grad * (1 - y) * y. Values agree to float rounding, except that
 *           for x < -88.7 torch's 1 / (1 + exp(-x)) underflows to exactly 0
 *           where this returns the subnormal exp(x) (a difference < 1.2e-38).
 * kernels:  kernels/elementwise.{h,c,cu}, kernels/elementwise_math.h
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

static void sigmoid_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, sigmoid_backward, tensor_grad(x), y->grad, y->data, x->numel);
}

Tensor *nx_sigmoid(Tensor *x) {
    OP_CHECK("sigmoid", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, sigmoid_forward, y->data, x->data, x->numel);
    if (tape_wants(&x, 1)) tape_record(OP_sigmoid, y, &x, 1, NULL, sigmoid_backward);
    return y;
}
