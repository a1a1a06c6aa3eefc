/* op_add.c: elementwise add with numpy broadcasting.
 *
 * forward:  y = a + b
 *           Shapes broadcast as numpy: right-aligned, at most 4 dims, each
 *           dim equal on both sides or 1 on one of them (the output takes
 *           the other). So (N,1,H,W) + (N,C,H,W) in either
 *           order, per-channel (1,C,1,1) or (C,1,1), and scalars (a 0-dim
 *           tensor or any one-element shape) all work; the output has the
 *           broadcast shape. Anything else stops with the op and both shapes.
 * backward: dy/da = 1, dy/db = 1, so
 *           dL/da += sum over a's broadcast dims of dL/dy
 *           dL/db += sum over b's broadcast dims of dL/dy
 *           "sum over the broadcast dims" is the dims where that input has
 *           size 1 (or is missing) and the output does not; the kernel sums
 *           in double. Each input gets a gradient only if it requires one.
 * shapes:   a (..), b (..) -> y (broadcast of a and b)
 * PyTorch:  torch.add(a, b) / a + b,
 *           with autograd's sum_to for the gradients.
 *           The kernels: one 4-d broadcast walk with stride 0 on
 *           broadcast dims, fast paths for equal shapes and scalars).
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

typedef struct {
    int ys[4], as[4], bs[4]; /* output and input shapes padded to 4 dims */
} AddCtx;

static void add_backward(TapeEntry *e) {
    Tensor *a = e->in[0], *b = e->in[1], *y = e->out;
    AddCtx *c = e->ctx;
    float *da = a->requires_grad ? tensor_grad(a) : NULL;
    float *db = b->requires_grad ? tensor_grad(b) : NULL;
    void *ws = OP_WORKSPACE(y->device, add_backward, c->ys, c->as, c->bs);
    DISPATCH(y->device, add_backward, da, db, y->grad, c->ys, c->as, c->bs, ws);
}

Tensor *nx_add(Tensor *a, Tensor *b) {
    OP_CHECK("add", a->dtype == NX_F32 && b->dtype == NX_F32, "int32 input (shapes %s and %s)", tensor_shape_str(a),
             tensor_shape_str(b));
    op_same_device("add", a, b);
    AddCtx c;
    int ny, sy[4];
    OP_CHECK("add", bcast_shape4(&ny, sy, c.ys, c.as, c.bs, a->ndim, a->shape, b->ndim, b->shape),
             "shapes %s and %s do not broadcast", tensor_shape_str(a), tensor_shape_str(b));
    Tensor *y = tensor_new(a->device, NX_F32, ny, sy);
    DISPATCH(a->device, add_forward, y->data, a->data, b->data, c.ys, c.as, c.bs);
    Tensor *in[2] = {a, b};
    if (tape_wants(in, 2)) {
        AddCtx *ctx = OP_CTX(AddCtx);
        *ctx = c;
        tape_record(OP_add, y, in, 2, ctx, add_backward);
    }
    return y;
}
