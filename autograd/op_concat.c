/* op_concat.c: concatenation along dim 1 (channels).
 *
 * forward:  with offsets o_k = C_0 + ... + C_{k-1},
 *           y[n][o_k + c][...] = x_k[n][c][...]     for c < C_k
 * backward: each input owns one channel slice of y, so
 *           dL/dx_k[n][c][...] += dL/dy[n][o_k + c][...]
 *           for every input that requires grad (the same tensor passed
 *           twice receives both slices, by accumulation).
 * shapes:   x_k (N, C_k, ...) -> y (N, sum C_k, ...): 2 to 4 dims, all dims
 *           but dim 1 equal; 1 <= n <= NX_TAPE_MAX_IN inputs.
 * PyTorch:  torch.cat(xs, dim=1).
 * kernels:  kernels/concat.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/concat.h"

/* Product of the dims after dim 1 (H*W for NCHW, 1 for (N, C)). */
static int64_t inner_size(const Tensor *t) {
    int64_t s = 1;
    for (int d = 2; d < t->ndim; d++) s *= t->shape[d];
    return s;
}

static void concat_backward(TapeEntry *e) {
    Tensor *y = e->out;
    int64_t inner = inner_size(y);
    int c_off = 0;
    for (int k = 0; k < e->n_in; k++) {
        Tensor *x = e->in[k];
        if (x->requires_grad)
            DISPATCH(x->device, concat_backward, tensor_grad(x), y->grad, y->shape[0], y->shape[1], c_off,
                     x->shape[1], inner);
        c_off += x->shape[1];
    }
}

Tensor *nx_concat(Tensor *const *xs, int n) {
    OP_CHECK("concat", n >= 1 && n <= NX_TAPE_MAX_IN, "%d inputs, expected 1 to %d", n, NX_TAPE_MAX_IN);
    Tensor *x0 = xs[0];
    int c_total = 0;
    for (int k = 0; k < n; k++) {
        Tensor *x = xs[k];
        OP_CHECK("concat", x != NULL, "input %d is NULL", k);
        OP_CHECK("concat", x->dtype == NX_F32, "input %d is int32", k);
        OP_CHECK("concat", x->ndim >= 2, "input %d has shape %s, expected at least 2 dims (N, C, ...)", k,
                 tensor_shape_str(x));
        op_same_device("concat", x0, x);
        bool match = x->ndim == x0->ndim;
        for (int d = 0; match && d < x->ndim; d++) match = d == 1 || x->shape[d] == x0->shape[d];
        OP_CHECK("concat", match, "input %d has shape %s, input 0 has %s: all dims but dim 1 must be equal", k,
                 tensor_shape_str(x), tensor_shape_str(x0));
        c_total += x->shape[1];
    }
    int shape[NX_MAX_DIMS];
    for (int d = 0; d < x0->ndim; d++) shape[d] = x0->shape[d];
    shape[1] = c_total;
    Tensor *y = tensor_new(x0->device, NX_F32, x0->ndim, shape);
    int64_t inner = inner_size(y);
    int c_off = 0;
    for (int k = 0; k < n; k++) {
        DISPATCH(y->device, concat_forward, y->data, xs[k]->data, shape[0], c_total, c_off, xs[k]->shape[1],
                 inner);
        c_off += xs[k]->shape[1];
    }
    if (tape_wants(xs, n)) tape_record(OP_concat, y, xs, n, NULL, concat_backward);
    return y;
}
