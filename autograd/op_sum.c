/* op_sum.c: sum over a set of dims.
 *
 * forward:  y = sum over the dims in `dims` of x
 *           `dims` is a bit mask (bit i = dim i, NX_DIM(i)); NX_ALL (0) means
 *           every dim. keepdim keeps each reduced dim with size 1, else it is
 *           dropped: reducing all dims without keepdim gives a 0-dim tensor.
 *           Accumulated in double, then rounded once to float.
 *           A sum over nothing (an empty reduced dim) is 0.
 * backward: every x element enters exactly one y element with weight 1, so
 *           dL/dx[i] += dL/dy[j(i)]   (dy broadcast back over the reduced dims)
 * shapes:   x (d0, .., dk) -> y: the dims not in `dims` (reduced dims as 1
 *           with keepdim)
 * PyTorch:  torch.sum(x) (NX_ALL, no keepdim: 0-dim) or
 *           torch.sum(x, dim=<the dims in the mask>, keepdim=keepdim).
 *           The kernels: sum_forward/sum_backward with div = 1.
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

typedef struct {
    int xs[4];     /* x's shape padded on the left with 1s to 4 dims */
    unsigned dims; /* reduced dims of the padded shape (bit d = dim d) */
    float div;     /* 1 for sum, the number of reduced elements for mean */
} ReduceCtx;

static void reduce_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    ReduceCtx *c = e->ctx;
    if (!x->requires_grad) return;
    DISPATCH(x->device, sum_backward, tensor_grad(x), y->grad, c->xs, c->dims, c->div);
}

/* Shared by nx_sum and nx_mean (autograd/op_mean.c): they differ only in div. */
Tensor *op_reduce(int op, Tensor *x, unsigned dims, bool keepdim, bool mean) {
    const char *name = op_name(op);
    NX_CHECK(x->dtype == NX_F32, "op %s: int32 input %s", name, tensor_shape_str(x));
    NX_CHECK((dims >> x->ndim) == 0, "op %s: dims mask 0x%x names a dim beyond the %d of %s", name, dims, x->ndim,
             tensor_shape_str(x));
    unsigned mask = dims == NX_ALL ? (1u << x->ndim) - 1 : dims;
    ReduceCtx c;
    int pad = 4 - x->ndim, ny = 0, sy[4];
    int64_t count = 1;
    for (int d = 0; d < 4; d++) c.xs[d] = d < pad ? 1 : x->shape[d - pad];
    c.dims = mask << pad;
    for (int k = 0; k < x->ndim; k++) {
        if ((mask >> k) & 1u) {
            count *= x->shape[k];
            if (keepdim) sy[ny++] = 1;
        } else {
            sy[ny++] = x->shape[k];
        }
    }
    c.div = mean ? (float)count : 1.0f;
    Tensor *y = tensor_new(x->device, NX_F32, ny, sy);
    void *ws = OP_WORKSPACE(x->device, sum_forward, c.xs, c.dims);
    DISPATCH(x->device, sum_forward, y->data, x->data, c.xs, c.dims, c.div, ws);
    if (tape_wants(&x, 1)) {
        ReduceCtx *ctx = OP_CTX(ReduceCtx);
        *ctx = c;
        tape_record(op, y, &x, 1, ctx, reduce_backward);
    }
    return y;
}

Tensor *nx_sum(Tensor *x, unsigned dims, bool keepdim) { return op_reduce(OP_sum, x, dims, keepdim, false); }
