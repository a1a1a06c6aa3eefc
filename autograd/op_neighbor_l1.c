/* op_neighbor_l1.c: the L1 smoothness sum of NICE (eq. 9).
 *
 * forward:  out[n] = sum_{c,m,k} sum_{(dm,dk) in N4} |x[n,c,m,k] - x[n,c,m+dm,k+dk]|
 *           N4 = {(-1,0), (0,-1), (-1,-1), (-1,+1)}: up, left, up-left,
 *           up-right; pairs with a neighbour outside the image are skipped.
 *           Each unordered pair of 8-connected pixels is counted once.
 * backward: dx[p] += dout[n] * sign(x[p] - x[q]) and dx[q] -= the same, for
 *           every pair (p, q); sign(0) = 0 (the subgradient torch.abs uses).
 * shapes:   x (N, C, H, W) -> out (N)
 * PyTorch:  (x[:,:,1:,:]-x[:,:,:-1,:]).abs().sum((1,2,3))
 *           + (x[:,:,:,1:]-x[:,:,:,:-1]).abs().sum((1,2,3))
 *           + (x[:,:,1:,1:]-x[:,:,:-1,:-1]).abs().sum((1,2,3))
 *           + (x[:,:,1:,:-1]-x[:,:,:-1,1:]).abs().sum((1,2,3))
 * kernels:  kernels/nice.{h,c,cu}, kernels/philox.h
 */
#include "autograd/op.h"
#include "kernels/nice.h"

static void neighbor_l1_backward(TapeEntry *e) {
    Tensor *x = e->in[0];
    if (!x->requires_grad) return;
    DISPATCH(x->device, neighbor_l1_backward, tensor_grad(x), e->out->grad, x->data, x->shape[0], x->shape[1],
             x->shape[2], x->shape[3]);
}

Tensor *nx_neighbor_l1(Tensor *x) {
    OP_CHECK("neighbor_l1", x->ndim == 4 && x->dtype == NX_F32, "input %s, expected (N, C, H, W)",
             tensor_shape_str(x));
    Tensor *y = tensor_newv(x->device, NX_F32, 1, x->shape[0]);
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    void *ws = OP_WORKSPACE(x->device, neighbor_l1_forward, N, C, H, W);
    DISPATCH(x->device, neighbor_l1_forward, y->data, x->data, N, C, H, W, ws);
    if (tape_wants(&x, 1)) tape_record(OP_neighbor_l1, y, &x, 1, NULL, neighbor_l1_backward);
    return y;
}
