/* gold_log.c: log against PyTorch (tests/golden/gen_elementwise.py). */
#include "tests/testlib.h"

int goldcase_log(void) {
    Golden *g = golden_load("log");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_log(x);
    Tensor *dy = golden_get(g, "dy");
    tape_backward_from(y, dy->data);
    int bad = golden_compare(g, "y", y, 0, 1e-6) + golden_compare_grad(g, "dx", x, 0, 1e-6);
    golden_free(g);
    return bad;
}
