/* gold_scale.c: scale against PyTorch's a * x + b (tests/golden/
 * gen_elementwise.py): exact, since both round the product and then the
 * sum (no fused multiply-add). */
#include "tests/testlib.h"

#include <stdio.h>

int goldcase_scale(void) {
    Golden *g = golden_load("scale");
    int bad = 0, i;
    char k[5][32];
    for (i = 0;; i++) {
        const char *suffix[5] = {"x", "ab", "y", "dy", "dx"};
        for (int s = 0; s < 5; s++) snprintf(k[s], sizeof k[s], "p%d_%s", i, suffix[s]);
        if (!golden_has(g, k[0])) break;
        Tensor *x = golden_get(g, k[0]), *ab = golden_get(g, k[1]);
        x->requires_grad = true;
        Tensor *y = nx_scale(x, ab->data[0], ab->data[1]);
        tape_backward_from(y, golden_get(g, k[3])->data);
        bad += golden_compare(g, k[2], y, 0, 0) + golden_compare_grad(g, k[4], x, 0, 0);
        tape_clear();
    }
    if (i != 4) {
        fprintf(stderr, "golden scale: %d cases in the file, expected 4\n", i);
        bad++;
    }
    golden_free(g);
    return bad;
}
