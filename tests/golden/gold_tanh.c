/* gold_tanh.c: tanh against PyTorch (tests/golden/gen_elementwise.py). The
 * gradient 1 - y*y cancels where |y| is near 1, so one ulp of y (glibc's
 * tanhf against torch's SLEEF) shows up absolutely: atol 1e-7 there. */
#include "tests/testlib.h"

int goldcase_tanh(void) {
    Golden *g = golden_load("tanh");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_tanh(x);
    Tensor *dy = golden_get(g, "dy");
    tape_backward_from(y, dy->data);
    int bad = golden_compare(g, "y", y, 0, 1e-6) + golden_compare_grad(g, "dx", x, 1e-7, 1e-6);
    golden_free(g);
    return bad;
}
