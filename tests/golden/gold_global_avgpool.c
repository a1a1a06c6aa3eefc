/* gold_global_avgpool.c: global_avgpool against PyTorch's adaptive_avg_pool2d(x, 1)
 * (tests/golden/gen_nn.py). */
#include "tests/testlib.h"

int goldcase_global_avgpool(void) {
    Golden *g = golden_load("global_avgpool");
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    Tensor *y = nx_global_avgpool(x);
    tape_backward_from(y, golden_get(g, "dy")->data);
    tape_clear();
    int bad = golden_compare(g, "y", y, 1e-6, 1e-5) + golden_compare_grad(g, "dx", x, 1e-7, 1e-6);
    golden_free(g);
    return bad;
}
