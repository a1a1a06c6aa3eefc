/* gold_sum.c: sum against PyTorch (tests/golden/gen_elementwise.py), and the
 * comparison shared with mean (gold_mean.c calls ew_reduce_golden, defined
 * here).
 *
 * Each file holds the cases of REDUCE_PATTERNS: the input p<i>_x, p<i>_args
 * = [dims mask (0 = NX_ALL), keepdim, dims of x, dims of y], torch's output
 * p<i>_y (whose shape must match exactly: 0-dim, keepdim's 1s), an upstream
 * gradient p<i>_dy and torch's p<i>_dx. The dims of x and y restore the
 * 0-dim tensors that the file stores as shape (1). */
#include "tests/testlib.h"

#include <stdio.h>

int ew_reduce_golden(const char *name, Tensor *(*op)(Tensor *, unsigned, bool), int n_patterns);

int ew_reduce_golden(const char *name, Tensor *(*op)(Tensor *, unsigned, bool), int n_patterns) {
    Golden *g = golden_load(name);
    int bad = 0, i;
    char k[5][32];
    for (i = 0;; i++) {
        const char *suffix[5] = {"x", "args", "y", "dy", "dx"};
        for (int s = 0; s < 5; s++) snprintf(k[s], sizeof k[s], "p%d_%s", i, suffix[s]);
        if (!golden_has(g, k[0])) break;
        Tensor *x = golden_get(g, k[0]), *args = golden_get(g, k[1]), *want = golden_get(g, k[2]);
        if (args->idata[2] == 0) x->ndim = 0; /* one element either way */
        if (args->idata[3] == 0) want->ndim = 0;
        x->requires_grad = true;
        unsigned dims = (unsigned)args->idata[0];
        bool keepdim = args->idata[1] != 0;
        Tensor *y = op(x, dims, keepdim);
        if (!tensor_same_shape(y, want)) {
            fprintf(stderr, "golden %s %s: %s dims 0x%x keepdim %d -> %s, torch gives %s\n", name, k[2],
                    tensor_shape_str(x), dims, keepdim, tensor_shape_str(y), tensor_shape_str(want));
            bad++;
            continue;
        }
        bad += golden_compare(g, k[2], y, 1e-6, 1e-5);
        tape_backward_from(y, golden_get(g, k[3])->data);
        bad += golden_compare_grad(g, k[4], x, 0, 1e-6);
        tape_clear();
    }
    if (i != n_patterns) {
        fprintf(stderr, "golden %s: %d reduction cases in the file, expected %d\n", name, i, n_patterns);
        bad++;
    }
    golden_free(g);
    return bad;
}

int goldcase_sum(void) { return ew_reduce_golden("sum", nx_sum, 16); }
