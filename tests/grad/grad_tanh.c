/* grad_tanh.c: gradient-check case of tanh. */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_tanh(in[0]);
}

int gradcase_tanh(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -2.5f, 2.5f);
    x->requires_grad = true;
    return gradcheck("tanh", f, &x, 1, NULL, 1e-3, 1e-3);
}
