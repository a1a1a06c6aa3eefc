/* gold_pixel_shuffle.c: pixel_shuffle against PyTorch (F.pixel_shuffle,
 * tests/golden/gen_resample.py). A permutation: compared exactly. */
#include "tests/testlib.h"

#include <stdio.h>

int goldcase_pixel_shuffle(void) {
    static const struct {
        const char *name;
        int r;
    } cases[] = {{"r2", 2}, {"r3", 3}};
    Golden *g = golden_load("pixel_shuffle");
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char kx[32], ky[32], kdy[32], kdx[32];
        snprintf(kx, sizeof kx, "x_%s", cases[i].name);
        snprintf(ky, sizeof ky, "y_%s", cases[i].name);
        snprintf(kdy, sizeof kdy, "dy_%s", cases[i].name);
        snprintf(kdx, sizeof kdx, "dx_%s", cases[i].name);
        Tensor *x = golden_get(g, kx);
        x->requires_grad = true;
        Tensor *y = nx_pixel_shuffle(x, cases[i].r);
        Tensor *want = golden_get(g, ky);
        if (!tensor_same_shape(y, want)) {
            fprintf(stderr, "pixel_shuffle %s: shape %s, PyTorch %s\n", cases[i].name, tensor_shape_str(y),
                    tensor_shape_str(want));
            bad++;
            continue;
        }
        tape_backward_from(y, golden_get(g, kdy)->data);
        bad += golden_compare(g, ky, y, 0, 0) + golden_compare_grad(g, kdx, x, 0, 0);
        tape_clear();
    }
    golden_free(g);
    return bad;
}
