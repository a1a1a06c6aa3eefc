/* gold_neighbor_l1.c: neighbor_l1 against PyTorch slices (gen_nice.py). */
#include "tests/testlib.h"

int goldcase_neighbor_l1(void) {
    Golden *g = golden_load("neighbor_l1");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_neighbor_l1(x);
    tape_backward_from(y, golden_get(g, "dy")->data);
    int bad = golden_compare(g, "y", y, 1e-5, 1e-5) + golden_compare_grad(g, "dx", x, 1e-6, 1e-6);
    golden_free(g);
    return bad;
}
