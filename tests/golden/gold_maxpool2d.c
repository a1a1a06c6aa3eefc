/* gold_maxpool2d.c: maxpool2d against PyTorch (tests/golden/gen_nn.py):
 * k2 s2; k3 s2 p1 (-inf padding); k3 s1 p1 on an input full of ties (the
 * gradient goes to the first maximum of each window); k3 s3 on 8x8 (floor). */
#include "tests/testlib.h"

#include <stdio.h>

int goldcase_maxpool2d(void) {
    Golden *g = golden_load("maxpool2d");
    int bad = 0;
    const char *cases[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        char k[5][16];
        const char *keys[] = {"cfg", "x", "dy", "y", "dx"};
        for (int j = 0; j < 5; j++) snprintf(k[j], sizeof k[j], "%s.%s", cases[i], keys[j]);
        Tensor *cfg = golden_get(g, k[0]), *x = golden_get(g, k[1]);
        x->requires_grad = true;
        tape_clear();
        Tensor *y = nx_maxpool2d(x, cfg->idata[0], cfg->idata[1], cfg->idata[2]);
        tape_backward_from(y, golden_get(g, k[2])->data);
        tape_clear();
        /* y is a copy of inputs: exact; dx sums dy where windows share an argmax */
        bad += golden_compare(g, k[3], y, 0, 0) + golden_compare_grad(g, k[4], x, 1e-6, 1e-6);
    }
    golden_free(g);
    return bad;
}
