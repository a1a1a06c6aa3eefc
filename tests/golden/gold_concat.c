/* gold_concat.c: concat against PyTorch (torch.cat(dim=1),
 * tests/golden/gen_resample.py): three NCHW inputs with 1, 3 and 2
 * channels, and two (N, C) inputs. Copies: compared exactly. */
#include "tests/testlib.h"

#include <stdio.h>

static int run(Golden *g, const char *name, int n) {
    char key[32], kdy[32], ky[32];
    Tensor *xs[NX_TAPE_MAX_IN] = {0};
    for (int k = 0; k < n; k++) {
        snprintf(key, sizeof key, "x%d_%s", k, name);
        xs[k] = golden_get(g, key);
        xs[k]->requires_grad = true;
    }
    Tensor *y = nx_concat(xs, n);
    snprintf(ky, sizeof ky, "y_%s", name);
    snprintf(kdy, sizeof kdy, "dy_%s", name);
    Tensor *want = golden_get(g, ky);
    if (!tensor_same_shape(y, want)) {
        fprintf(stderr, "concat %s: shape %s, PyTorch %s\n", name, tensor_shape_str(y), tensor_shape_str(want));
        return 1;
    }
    tape_backward_from(y, golden_get(g, kdy)->data);
    int bad = golden_compare(g, ky, y, 0, 0);
    for (int k = 0; k < n; k++) {
        snprintf(key, sizeof key, "dx%d_%s", k, name);
        bad += golden_compare_grad(g, key, xs[k], 0, 0);
    }
    tape_clear();
    return bad;
}

int goldcase_concat(void) {
    Golden *g = golden_load("concat");
    int bad = run(g, "nchw", 3) + run(g, "nc", 2);
    golden_free(g);
    return bad;
}
