/* op_reshape.c: the same data under a new shape; also nx_flatten.
 *
 * forward:  y = x read in row-major order with shape `shape`; one entry may
 *           be -1, inferred so that the element counts match. y shares x's
 *           memory (no copy): a tensor struct over x->data.
 * backward: element i of y is element i of x, so dL/dx[i] += dL/dy[i]
 *           (y gets its own gradient buffer; the backward adds it into x's).
 * shapes:   x any (numel M) -> y `shape` (numel M), at most 4 dims.
 *           nx_flatten: (N, d1, ..., dk) -> (N, d1 * ... * dk).
 * PyTorch:  torch.reshape(x, shape) / x.view(shape) on a contiguous tensor;
 *           nx_flatten is torch.flatten(x, 1) (nn.Flatten()).
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

#include <stdio.h>

static void reshape_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *y = e->out;
    if (!x->requires_grad) return;
    DISPATCH(x->device, reshape_backward, tensor_grad(x), y->grad, x->numel);
}

/* "(4, -1)": the requested shape, for error messages. */
static const char *shape_arg_str(int ndim, const int *shape, char *buf, size_t size) {
    int n = snprintf(buf, size, "(");
    for (int i = 0; i < ndim && n < (int)size; i++)
        n += snprintf(buf + n, size - (size_t)n, i ? ", %d" : "%d", shape[i]);
    if (n < (int)size) snprintf(buf + n, size - (size_t)n, ")");
    return buf;
}

Tensor *nx_reshape(Tensor *x, int ndim, const int *shape) {
    char req[96];
    OP_CHECK("reshape", ndim >= 0 && ndim <= NX_MAX_DIMS, "%d dims requested for input %s (at most %d)", ndim,
             tensor_shape_str(x), NX_MAX_DIMS);
    int s[NX_MAX_DIMS];
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (shape[i] == -1) {
            OP_CHECK("reshape", infer < 0, "shape %s has more than one -1",
                     shape_arg_str(ndim, shape, req, sizeof req));
            infer = i;
        } else {
            OP_CHECK("reshape", shape[i] >= 0, "shape %s has a negative dim",
                     shape_arg_str(ndim, shape, req, sizeof req));
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        OP_CHECK("reshape", known > 0 && x->numel % known == 0,
                 "cannot reshape input %s (%lld elements) to %s: the -1 cannot be inferred", tensor_shape_str(x),
                 (long long)x->numel, shape_arg_str(ndim, shape, req, sizeof req));
        s[infer] = (int)(x->numel / known);
    }
    OP_CHECK("reshape", shape_numel(ndim, s) == x->numel,
             "cannot reshape input %s (%lld elements) to %s (%lld elements)", tensor_shape_str(x),
             (long long)x->numel, shape_arg_str(ndim, shape, req, sizeof req), (long long)shape_numel(ndim, s));
    Tensor *y = tensor_wrap(x->device, x->dtype, x->data, ndim, s);
    if (tape_wants(&x, 1)) tape_record(OP_reshape, y, &x, 1, NULL, reshape_backward);
    return y;
}

Tensor *nx_flatten(Tensor *x) {
    OP_CHECK("flatten", x->ndim >= 2, "input %s, expected (N, ...) with at least 2 dims", tensor_shape_str(x));
    int64_t rest = 1;
    for (int d = 1; d < x->ndim; d++) rest *= x->shape[d];
    return nx_reshape(x, 2, (int[]){x->shape[0], (int)rest});
}
