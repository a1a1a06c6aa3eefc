/* gold_reshape.c: reshape and flatten against PyTorch (torch.reshape with
 * an inferred dim, torch.flatten(x, 1); tests/golden/gen_resample.py). */
#include "tests/testlib.h"

#include <stdio.h>

static int run(Golden *g, const char *name, bool flatten) {
    char kx[32], ky[32], kdy[32], kdx[32];
    snprintf(kx, sizeof kx, "x_%s", name);
    snprintf(ky, sizeof ky, "y_%s", name);
    snprintf(kdy, sizeof kdy, "dy_%s", name);
    snprintf(kdx, sizeof kdx, "dx_%s", name);
    Tensor *x = golden_get(g, kx);
    x->requires_grad = true;
    Tensor *y = flatten ? nx_flatten(x) : nx_reshape(x, 3, (int[]){4, -1, 3});
    Tensor *want = golden_get(g, ky);
    if (!tensor_same_shape(y, want)) {
        fprintf(stderr, "reshape %s: shape %s, PyTorch %s\n", name, tensor_shape_str(y), tensor_shape_str(want));
        return 1;
    }
    tape_backward_from(y, golden_get(g, kdy)->data);
    int bad = golden_compare(g, ky, y, 0, 0) + golden_compare_grad(g, kdx, x, 0, 0);
    tape_clear();
    return bad;
}

int goldcase_reshape(void) {
    Golden *g = golden_load("reshape");
    int bad = run(g, "infer", false) + run(g, "flatten", true);
    golden_free(g);
    return bad;
}
