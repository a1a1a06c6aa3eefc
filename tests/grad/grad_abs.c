/* grad_abs.c: gradient-check case of abs (away from the kink at 0, which
 * the golden case checks: gradient 0 there, as torch). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_abs(in[0]);
}

int gradcase_abs(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -2, 2);
    x->requires_grad = true;
    return gradcheck("abs", f, &x, 1, NULL, 1e-3, 1e-3);
}
