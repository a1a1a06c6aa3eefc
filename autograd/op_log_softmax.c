/* op_log_softmax.c: log-softmax along one dim.
 *
 * forward:  y_d = x_d - m - log sum_k exp(x_k - m),  m = max_k x_k
 *           (over the D elements of dim `dim`; the max keeps exp finite, so
 *           logits of any magnitude give finite log-probabilities)
 * backward: dy_d/dx_j = [d == j] - softmax_j = [d == j] - exp(y_j), so
 *           dL/dx_j = dL/dy_j - exp(y_j) sum_d dL/dy_d
 *           dx += dy - exp(y) * sum(dy); only y is needed (the output).
 * shapes:   x any (0 to 4 dims) -> y same; seen as (outer, D, inner) with
 *           D = shape[dim], outer the product of the dims before it, inner
 *           of those after it.
 * PyTorch:  torch.log_softmax(x, dim); dim may be negative (dim + ndim); a
 *           0-dim x takes dim 0 or -1 and gives 0. Rows whose max is +-inf
 *           give NaN.
 * kernels:  kernels/softmax.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/softmax.h"

typedef struct {
    int outer, D, inner;
} LogSoftmaxCtx;

static void log_softmax_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    LogSoftmaxCtx *c = e->ctx;
    if (!x->requires_grad) return;
    DISPATCH(x->device, log_softmax_backward, tensor_grad(x), y->grad, y->data, c->outer, c->D, c->inner);
}

Tensor *nx_log_softmax(Tensor *x, int dim) {
    OP_CHECK("log_softmax", x->dtype == NX_F32, "int32 input %s", tensor_shape_str(x));
    int nd = x->ndim > 0 ? x->ndim : 1; /* a 0-dim tensor has one dim of size 1 here */
    OP_CHECK("log_softmax", dim >= -nd && dim < nd, "dim %d out of range for input %s", dim, tensor_shape_str(x));
    if (dim < 0) dim += nd;
    LogSoftmaxCtx *c = OP_CTX(LogSoftmaxCtx);
    c->outer = 1, c->D = x->ndim > 0 ? x->shape[dim] : 1, c->inner = 1;
    for (int i = 0; i < dim; i++) c->outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) c->inner *= x->shape[i];
    Tensor *y = tensor_like(x);
    DISPATCH(x->device, log_softmax_forward, y->data, x->data, c->outer, c->D, c->inner);
    if (tape_wants(&x, 1)) tape_record(OP_log_softmax, y, &x, 1, c, log_softmax_backward);
    return y;
}
