/* grad_log.c: gradient-check case of log, inputs in [0.5, 2] (away from 0). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_log(in[0]);
}

int gradcase_log(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, 0.5f, 2);
    x->requires_grad = true;
    return gradcheck("log", f, &x, 1, NULL, 1e-3, 1e-3);
}
