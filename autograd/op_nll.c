/* op_nll.c: negative log-likelihood of class targets, mean over the batch.
 *
 * forward:  L = -(1/N) sum_n logp[n, t_n]
 * backward: dL/dlogp[n, c] = -[c == t_n] / N
 *           dlogp[n, t_n] += -dL / N; every other element gets nothing.
 * shapes:   logp (N, C) fp32 log-probabilities (any values are accepted),
 *           targets (N) int32 -> 0-dim loss.
 * PyTorch:  F.nll_loss(logp, targets) (reduction='mean', no weights).
 *           N == 0 gives NaN, as PyTorch. A target outside [0, C) is a fatal
 *           error naming the index and the value; PyTorch's ignore_index
 *           (-100) is not supported and is such an error. On CUDA the range
 *           check reads 2 ints back (one sync per call).
 *           nx_nll(nx_log_softmax(x, 1), t) equals nx_cross_entropy(x, t).
 * kernels:  kernels/softmax.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/softmax.h"

static void nll_backward(TapeEntry *e) {
    Tensor *logp = e->in[0], *targets = e->in[1], *loss = e->out;
    if (!logp->requires_grad) return;
    DISPATCH(logp->device, nll_backward, tensor_grad(logp), loss->grad, targets->idata, logp->shape[0],
             logp->shape[1]);
}

Tensor *nx_nll(Tensor *logp, Tensor *targets) {
    OP_CHECK("nll", logp->dtype == NX_F32 && logp->ndim == 2, "logp %s must be fp32 (N, C)", tensor_shape_str(logp));
    OP_CHECK("nll", targets->dtype == NX_I32 && targets->ndim == 1 && targets->shape[0] == logp->shape[0],
             "targets %s must be int32 (N) for logp %s", tensor_shape_str(targets), tensor_shape_str(logp));
    op_same_device("nll", logp, targets);
    Device dev = logp->device;
    int N = logp->shape[0], C = logp->shape[1];
    Tensor *loss = tensor_new(dev, NX_F32, 0, NULL);
    Tensor *bad = tensor_newv(dev, NX_I32, 1, 2);
    DISPATCH(dev, nll_forward, loss->data, bad->idata, logp->data, targets->idata, N, C);
    int32_t b[2];
    device_memcpy(NX_CPU, b, dev, bad->idata, sizeof b);
    if (b[0] >= 0)
        nx_fatal("op nll: targets[%d] = %d is out of range [0, %d) for logp %s", b[0], b[1], C,
                 tensor_shape_str(logp));
    Tensor *in[2] = {logp, targets};
    if (tape_wants(in, 2)) tape_record(OP_nll, loss, in, 2, NULL, nll_backward);
    return loss;
}
