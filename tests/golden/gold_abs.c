/* gold_abs.c: abs against PyTorch (tests/golden/gen_elementwise.py): exact; x has
 * exact zeros of both signs, where the gradient must be 0. */
#include "tests/testlib.h"

int goldcase_abs(void) {
    Golden *g = golden_load("abs");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_abs(x);
    Tensor *dy = golden_get(g, "dy");
    tape_backward_from(y, dy->data);
    int bad = golden_compare(g, "y", y, 0, 0) + golden_compare_grad(g, "dx", x, 0, 0);
    golden_free(g);
    return bad;
}
