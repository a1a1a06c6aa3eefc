/* op_linear.c: fully connected layer.
 *
 * forward:  y[n, o] = b[o] + sum over i of x[n, i] * w[o, i]      (y = x w^T + b)
 * backward: dL/dx[n, i] += sum over o of dy[n, o] * w[o, i]        (dx += dy w)
 *           dL/dw[o, i] += sum over n of dy[n, o] * x[n, i]        (dw += dy^T x)
 *           dL/db[o]    += sum over n of dy[n, o]
 *           Only inputs with requires_grad get a gradient: a frozen
 *           classifier costs no dW GEMM.
 * shapes:   x (N, IN), w (OUT, IN), b (OUT) or NULL -> y (N, OUT)
 * PyTorch:  torch.nn.functional.linear(x, w, b), for 2-D x (nn.Linear's layout:
 *           weight (out_features, in_features)).
 * kernels:  kernels/linear.{h,c,cu}, kernels/gemm.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/linear.h"

static void linear_backward(TapeEntry *e) {
    Tensor *x = e->in[0], *w = e->in[1], *b = e->n_in > 2 ? e->in[2] : NULL, *y = e->out;
    float *dx = x->requires_grad ? tensor_grad(x) : NULL;
    float *dw = w->requires_grad ? tensor_grad(w) : NULL;
    float *db = b && b->requires_grad ? tensor_grad(b) : NULL;
    if (!dx && !dw && !db) return;
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    void *ws = OP_WORKSPACE(x->device, linear_backward, dx != NULL, dw != NULL, N, IN, OUT);
    DISPATCH(x->device, linear_backward, dx, dw, db, y->grad, x->data, w->data, N, IN, OUT, ws);
}

Tensor *nx_linear(Tensor *x, Tensor *w, Tensor *b) {
    OP_CHECK("linear", x->dtype == NX_F32 && x->ndim == 2, "x has shape %s, expected fp32 (N, IN)",
             tensor_shape_str(x));
    OP_CHECK("linear", w->dtype == NX_F32 && w->ndim == 2 && w->shape[1] == x->shape[1],
             "w has shape %s, expected (OUT, %d) for x %s", tensor_shape_str(w), x->shape[1], tensor_shape_str(x));
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    OP_CHECK("linear", !b || (b->dtype == NX_F32 && b->numel == OUT), "b has shape %s, expected (%d)",
             tensor_shape_str(b), OUT);
    op_same_device("linear", x, w);
    op_same_device("linear", x, b);

    Tensor *y = tensor_newv(x->device, NX_F32, 2, N, OUT);
    void *ws = OP_WORKSPACE(x->device, linear_forward, N, IN, OUT);
    DISPATCH(x->device, linear_forward, y->data, x->data, w->data, b ? b->data : NULL, N, IN, OUT, ws);
    Tensor *in[3] = {x, w, b};
    int n_in = b ? 3 : 2;
    if (tape_wants(in, n_in)) tape_record(OP_linear, y, in, n_in, NULL, linear_backward);
    return y;
}
