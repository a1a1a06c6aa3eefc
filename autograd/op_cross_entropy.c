/* op_cross_entropy.c: softmax cross-entropy with class targets, mean over
 * the batch, fused (no (N, C) probabilities are stored).
 *
 * forward:  log-sum-exp: lse_n = log sum_c exp(x_nc) = m_n + s_n with
 *           m_n = max_c x_nc, s_n = log sum_c exp(x_nc - m_n) (finite for
 *           logits of any size);
 *           L = (1/N) sum_n (lse_n - x_{n,t_n}) = (1/N) sum_n (s_n - (x_{n,t_n} - m_n))
 *           (m_n and s_n are kept apart: m_n + s_n rounded to fp32 would lose
 *           the low bits of small losses and probabilities)
 * backward: dlse_n/dx_nc = softmax_nc = exp((x_nc - m_n) - s_n), so
 *           dL/dx_nc = (softmax_nc - [c == t_n]) / N
 *           dlogits += (softmax - onehot(t)) * dL / N; the logits and the
 *           saved stats {m_n, s_n} (N, 2) are enough, softmax is recomputed.
 * shapes:   logits (N, C) fp32, targets (N) int32 -> 0-dim loss.
 * PyTorch:  F.cross_entropy(logits, targets) (reduction='mean', no weights,
 *           label_smoothing=0). N == 0 gives NaN, as PyTorch. A target
 *           outside [0, C) is a fatal error naming the index and the value;
 *           PyTorch's ignore_index (-100) is not supported and is such an
 *           error. Logits whose row max is +-inf give NaN, as PyTorch.
 *           On CUDA the range check reads 2 ints back (one sync per call).
 * kernels:  kernels/softmax.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/softmax.h"

typedef struct {
    Tensor *stats; /* (N, 2): row max m_n, log-sum s_n */
} CrossEntropyCtx;

static void cross_entropy_backward(TapeEntry *e) {
    Tensor *logits = e->in[0], *targets = e->in[1], *loss = e->out;
    CrossEntropyCtx *c = e->ctx;
    if (!logits->requires_grad) return;
    DISPATCH(logits->device, cross_entropy_backward, tensor_grad(logits), loss->grad, logits->data, c->stats->data,
             targets->idata, logits->shape[0], logits->shape[1]);
}

Tensor *nx_cross_entropy(Tensor *logits, Tensor *targets) {
    OP_CHECK("cross_entropy", logits->dtype == NX_F32 && logits->ndim == 2, "logits %s must be fp32 (N, C)",
             tensor_shape_str(logits));
    OP_CHECK("cross_entropy", targets->dtype == NX_I32 && targets->ndim == 1 && targets->shape[0] == logits->shape[0],
             "targets %s must be int32 (N) for logits %s", tensor_shape_str(targets), tensor_shape_str(logits));
    op_same_device("cross_entropy", logits, targets);
    Device dev = logits->device;
    int N = logits->shape[0], C = logits->shape[1];
    Tensor *loss = tensor_new(dev, NX_F32, 0, NULL);
    Tensor *stats = tensor_newv(dev, NX_F32, 2, N, 2);
    Tensor *bad = tensor_newv(dev, NX_I32, 1, 2);
    void *ws = OP_WORKSPACE(dev, cross_entropy_forward, N, C);
    DISPATCH(dev, cross_entropy_forward, loss->data, stats->data, bad->idata, logits->data, targets->idata, N, C, ws);
    int32_t b[2];
    device_memcpy(NX_CPU, b, dev, bad->idata, sizeof b);
    if (b[0] >= 0)
        nx_fatal("op cross_entropy: targets[%d] = %d is out of range [0, %d) for logits %s", b[0], b[1], C,
                 tensor_shape_str(logits));
    Tensor *in[2] = {logits, targets};
    if (tape_wants(in, 2)) {
        CrossEntropyCtx *c = OP_CTX(CrossEntropyCtx);
        c->stats = stats;
        tape_record(OP_cross_entropy, loss, in, 2, c, cross_entropy_backward);
    }
    return loss;
}
