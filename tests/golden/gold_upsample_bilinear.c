/* gold_upsample_bilinear.c: upsample_bilinear against PyTorch
 * (F.interpolate(mode='bilinear', size=..., align_corners=False/True),
 * tests/golden/gen_resample.py). */
#include "tests/testlib.h"

#include <stdio.h>

int goldcase_upsample_bilinear(void) {
    static const struct {
        const char *name;
        int oh, ow;
    } cases[] = {{"up", 12, 9}, {"down", 5, 7}, {"x2", 6, 8}, {"mixed", 3, 14}, {"one", 1, 4}};
    Golden *g = golden_load("upsample_bilinear");
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int ac = 0; ac <= 1; ac++) {
            char kx[32], ky[32], kdy[32], kdx[32];
            snprintf(kx, sizeof kx, "x_%s_ac%d", cases[i].name, ac);
            snprintf(ky, sizeof ky, "y_%s_ac%d", cases[i].name, ac);
            snprintf(kdy, sizeof kdy, "dy_%s_ac%d", cases[i].name, ac);
            snprintf(kdx, sizeof kdx, "dx_%s_ac%d", cases[i].name, ac);
            Tensor *x = golden_get(g, kx);
            x->requires_grad = true;
            Tensor *y = nx_upsample_bilinear(x, cases[i].oh, cases[i].ow, ac);
            Tensor *want = golden_get(g, ky);
            if (!tensor_same_shape(y, want)) {
                fprintf(stderr, "upsample_bilinear %s: shape %s, PyTorch %s\n", ky, tensor_shape_str(y),
                        tensor_shape_str(want));
                bad++;
                continue;
            }
            tape_backward_from(y, golden_get(g, kdy)->data);
            bad += golden_compare(g, ky, y, 1e-6, 1e-5) + golden_compare_grad(g, kdx, x, 1e-6, 1e-5);
            tape_clear();
        }
    golden_free(g);
    return bad;
}
