/* op_relu.c: rectified linear unit.
 *
 * forward:  y = max(x, 0)
 * backward: dL/dx += dL/dy * [x > 0]      (the subgradient at x = 0 is 0)
 * shapes:   x any -> y same
 * PyTorch:  torch.relu(x); its gradient at exactly 0 is also 0.
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

static void relu_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    bool accumulate;
    float *dx = tensor_grad_for_write(x, &accumulate);
    DISPATCH(x->device, relu_backward, dx, y->grad, x->data, x->numel, accumulate);
}

Tensor *nx_relu(Tensor *x) {
    OP_CHECK("relu", x->dtype == NX_F32, "int32 input");
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, relu_forward, y->data, x->data, x->numel);
    if (tape_wants(&x, 1)) tape_record(OP_relu, y, &x, 1, NULL, relu_backward);
    return y;
}
