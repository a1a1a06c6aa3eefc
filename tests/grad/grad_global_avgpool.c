/* grad_global_avgpool.c: gradient-check case of global_avgpool. */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_global_avgpool(in[0]);
}

int gradcase_global_avgpool(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -1, 1);
    x->requires_grad = true;
    return gradcheck("global_avgpool", f, &x, 1, NULL, 1e-3, 1e-3);
}
