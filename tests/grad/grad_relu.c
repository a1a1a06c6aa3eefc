/* grad_relu.c: gradient-check case of relu (kinks at 0 are skipped). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_relu(in[0]);
}

int gradcase_relu(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -1, 1);
    x->requires_grad = true;
    return gradcheck("relu", f, &x, 1, NULL, 1e-3, 1e-3);
}
