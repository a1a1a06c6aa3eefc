/* grad_nll.c: gradient-check cases of nll, alone and after log_softmax
 * (the composition is cross-entropy, so it also exercises the tape). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_nll(in[0], in[1]);
}

static Tensor *f_composed(Tensor **in, void *arg) {
    (void)arg;
    return nx_nll(nx_log_softmax(in[0], 1), in[1]);
}

int gradcase_nll(void) {
    Tensor *logp = test_uniform(2, (int[]){6, 5}, -3, 0);
    logp->requires_grad = true;
    Tensor *targets = tensor_newv(NX_CPU, NX_I32, 1, 6);
    const int32_t t[6] = {3, 0, 4, 0, 2, 1};
    for (int n = 0; n < 6; n++) targets->idata[n] = t[n];
    Tensor *in[2] = {logp, targets};
    int bad = gradcheck("nll (6,5)", f, in, 2, NULL, 1e-3, 1e-3);
    Tensor *logits = test_uniform(2, (int[]){6, 5}, -3, 3);
    logits->requires_grad = true;
    in[0] = logits;
    bad += gradcheck("nll(log_softmax) (6,5)", f_composed, in, 2, NULL, 1e-3, 1e-3);
    return bad;
}
