/* gold_exp.c: exp against PyTorch (tests/golden/gen_elementwise.py). */
#include "tests/testlib.h"

int goldcase_exp(void) {
    Golden *g = golden_load("exp");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_exp(x);
    Tensor *dy = golden_get(g, "dy");
    tape_backward_from(y, dy->data);
    int bad = golden_compare(g, "y", y, 1e-30, 1e-6) + golden_compare_grad(g, "dx", x, 1e-30, 1e-6);
    golden_free(g);
    return bad;
}
