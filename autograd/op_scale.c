/* op_scale.c: affine map with scalar coefficients.
 *
 * forward:  y = a * x + b    (two roundings: a product, then a sum; no FMA)
 * backward: dy/dx = a, so
 *           dL/dx += a * dL/dy
 * shapes:   x any -> y same
 * PyTorch:  a * x + b with Python floats a and b.
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

typedef struct {
    float a;
} ScaleCtx;

static void scale_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    ScaleCtx *c = e->ctx;
    if (!x->requires_grad) return;
    DISPATCH(x->device, scale_backward, tensor_grad(x), y->grad, c->a, x->numel);
}

Tensor *nx_scale(Tensor *x, float a, float b) {
    OP_CHECK("scale", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, scale_forward, y->data, x->data, a, b, x->numel);
    if (tape_wants(&x, 1)) {
        ScaleCtx *c = OP_CTX(ScaleCtx);
        c->a = a;
        tape_record(OP_scale, y, &x, 1, c, scale_backward);
    }
    return y;
}
