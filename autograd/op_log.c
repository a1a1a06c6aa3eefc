/* op_log.c: natural logarithm.
 *
 * forward:  y = log(x)       (log(0) = -inf, log(x < 0) = NaN, as IEEE)
 * backward: dy/dx = 1 / x, so
 *           dL/dx += dL/dy / x
 * shapes:   x any -> y same
 * PyTorch:  torch.log(x); backward grad / x (inf at x = 0, like torch).
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

static void log_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, log_backward, tensor_grad(x), y->grad, x->data, x->numel);
}

Tensor *nx_log(Tensor *x) {
    OP_CHECK("log", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, log_forward, y->data, x->data, x->numel);
    if (tape_wants(&x, 1)) tape_record(OP_log, y, &x, 1, NULL, log_backward);
    return y;
}
