/* grad_cross_entropy.c: gradient-check case of cross_entropy (logits only;
 * the int32 targets have no gradient). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_cross_entropy(in[0], in[1]);
}

int gradcase_cross_entropy(void) {
    Tensor *logits = test_uniform(2, (int[]){6, 5}, -3, 3);
    logits->requires_grad = true;
    Tensor *targets = tensor_newv(NX_CPU, NX_I32, 1, 6);
    const int32_t t[6] = {0, 4, 2, 2, 1, 3};
    for (int n = 0; n < 6; n++) targets->idata[n] = t[n];
    Tensor *in[2] = {logits, targets};
    return gradcheck("cross_entropy (6,5)", f, in, 2, NULL, 1e-3, 1e-3);
}
