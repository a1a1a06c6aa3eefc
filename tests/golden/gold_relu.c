/* gold_relu.c: relu against PyTorch (tests/golden/gen_elementwise.py). */
#include "tests/testlib.h"

int goldcase_relu(void) {
    Golden *g = golden_load("relu");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_relu(x);
    Tensor *dy = golden_get(g, "dy");
    tape_backward_from(y, dy->data);
    int bad = golden_compare(g, "y", y, 0, 0) + golden_compare_grad(g, "dx", x, 0, 0);
    golden_free(g);
    return bad;
}
