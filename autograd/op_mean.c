/* op_mean.c: mean over a set of dims.
 *
 * forward:  y = (sum over the dims in `dims` of x) / count,
 *           count = product of the reduced dims' sizes.
 *           `dims` is a bit mask (bit i = dim i, NX_DIM(i)); NX_ALL (0) means
 *           every dim. keepdim keeps each reduced dim with size 1, else it is
 *           dropped: reducing all dims without keepdim gives a 0-dim tensor.
 *           Accumulated in double, then rounded once to float.
 *           The mean of nothing (count 0) is NaN, as torch.
 * backward: every x element enters exactly one y element with weight 1 / count:
 *           dL/dx[i] += dL/dy[j(i)] / count   (dy broadcast back, divided)
 * shapes:   x (d0, .., dk) -> y: the dims not in `dims` (reduced dims as 1
 *           with keepdim)
 * PyTorch:  torch.mean(x) (NX_ALL, no keepdim: 0-dim) or
 *           torch.mean(x, dim=<the dims in the mask>, keepdim=keepdim).
 *           Kernels: kernels/reduce.c (sum_forward/sum_backward with div = count).
 */
#include "autograd/op.h"

typedef struct {
    int xs[4];     /* x's shape padded on the left with 1s to 4 dims */
    unsigned dims; /* reduced dims of the padded shape (bit d = dim d) */
    float div;     /* number of reduced elements */
} MeanCtx;

static void mean_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    MeanCtx *c = e->ctx;
    if (!x->requires_grad) return;
    DISPATCH(x->device, sum_backward, tensor_grad(x), y->grad, c->xs, c->dims, c->div);
}

Tensor *nx_mean(Tensor *x, unsigned dims, bool keepdim) {
    OP_CHECK("mean", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    OP_CHECK("mean", (dims >> x->ndim) == 0, "dims mask 0x%x names a dim beyond the %d of %s", dims, x->ndim,
             tensor_shape_str(x));
    unsigned mask = dims == NX_ALL ? (1u << x->ndim) - 1 : dims;
    MeanCtx c;
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
    c.div = (float)count;
    Tensor *y = tensor_new(x->device, NX_F32, ny, sy);
    DISPATCH(x->device, sum_forward, y->data, x->data, c.xs, c.dims, c.div);
    if (tape_wants(&x, 1)) {
        MeanCtx *ctx = OP_CTX(MeanCtx);
        *ctx = c;
        tape_record(OP_mean, y, &x, 1, ctx, mean_backward);
    }
    return y;
}
