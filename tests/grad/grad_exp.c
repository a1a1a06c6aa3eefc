/* grad_exp.c: gradient-check case of exp. */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_exp(in[0]);
}

int gradcase_exp(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -2, 2);
    x->requires_grad = true;
    return gradcheck("exp", f, &x, 1, NULL, 1e-3, 1e-3);
}
