/* gold_add.c: add against PyTorch (tests/golden/gen_elementwise.py), and the
 * comparison shared by the four binary ops (gold_sub.c, gold_mul.c and
 * gold_div.c call ew_binary_golden, defined here).
 *
 * Each file holds every broadcast pattern of BINARY_PATTERNS: p<i>_a, p<i>_b,
 * the output p<i>_y, an upstream gradient p<i>_dy and torch's p<i>_da,
 * p<i>_db. The forward is one IEEE operation per element, so it must match
 * bit for bit; the gradients sum over broadcast dims (nicex in double, torch
 * in float), hence a small tolerance. p<i>_ndim = [dims of a, b, y] restores
 * the 0-dim tensors that the file stores as shape (1). */
#include "tests/testlib.h"

#include <stdio.h>

int ew_binary_golden(const char *name, Tensor *(*op)(Tensor *, Tensor *), int n_patterns);

int ew_binary_golden(const char *name, Tensor *(*op)(Tensor *, Tensor *), int n_patterns) {
    Golden *g = golden_load(name);
    int bad = 0, i;
    char k[7][32];
    for (i = 0;; i++) {
        const char *suffix[7] = {"a", "b", "y", "dy", "da", "db", "ndim"};
        for (int s = 0; s < 7; s++) snprintf(k[s], sizeof k[s], "p%d_%s", i, suffix[s]);
        if (!golden_has(g, k[0])) break;
        Tensor *a = golden_get(g, k[0]), *b = golden_get(g, k[1]), *want = golden_get(g, k[2]);
        const int32_t *nd = golden_get(g, k[6])->idata;
        if (nd[0] == 0) a->ndim = 0; /* one element either way */
        if (nd[1] == 0) b->ndim = 0;
        if (nd[2] == 0) want->ndim = 0;
        a->requires_grad = b->requires_grad = true;
        Tensor *y = op(a, b);
        if (!tensor_same_shape(y, want)) {
            fprintf(stderr, "golden %s %s: %s %s -> %s, torch gives %s\n", name, k[2], tensor_shape_str(a),
                    tensor_shape_str(b), tensor_shape_str(y), tensor_shape_str(want));
            bad++;
            continue;
        }
        bad += golden_compare(g, k[2], y, 0, 0);
        tape_backward_from(y, golden_get(g, k[3])->data);
        bad += golden_compare_grad(g, k[4], a, 1e-6, 1e-5) + golden_compare_grad(g, k[5], b, 1e-6, 1e-5);
        tape_clear();
    }
    if (i != n_patterns) {
        fprintf(stderr, "golden %s: %d broadcast patterns in the file, expected %d\n", name, i, n_patterns);
        bad++;
    }
    golden_free(g);
    return bad;
}

int goldcase_add(void) { return ew_binary_golden("add", nx_add, 15); }
