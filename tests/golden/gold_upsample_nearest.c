/* gold_upsample_nearest.c: upsample_nearest against PyTorch
 * (F.interpolate(mode='nearest'), tests/golden/gen_resample.py). */
#include "tests/testlib.h"

#include <stdio.h>

int goldcase_upsample_nearest(void) {
    static const struct {
        const char *name;
        int factor;
    } cases[] = {{"f2", 2}, {"f3", 3}, {"f4", 4}};
    Golden *g = golden_load("upsample_nearest");
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char kx[32], ky[32], kdy[32], kdx[32];
        snprintf(kx, sizeof kx, "x_%s", cases[i].name);
        snprintf(ky, sizeof ky, "y_%s", cases[i].name);
        snprintf(kdy, sizeof kdy, "dy_%s", cases[i].name);
        snprintf(kdx, sizeof kdx, "dx_%s", cases[i].name);
        Tensor *x = golden_get(g, kx);
        x->requires_grad = true;
        Tensor *y = nx_upsample_nearest(x, cases[i].factor);
        Tensor *want = golden_get(g, ky);
        if (!tensor_same_shape(y, want)) {
            fprintf(stderr, "upsample_nearest %s: shape %s, PyTorch %s\n", cases[i].name, tensor_shape_str(y),
                    tensor_shape_str(want));
            bad++;
            continue;
        }
        tape_backward_from(y, golden_get(g, kdy)->data);
        /* the forward copies; the backward sums f*f values in PyTorch's order */
        bad += golden_compare(g, ky, y, 0, 0) + golden_compare_grad(g, kdx, x, 1e-6, 1e-6);
        tape_clear();
    }
    golden_free(g);
    return bad;
}
