/* gold_clamp.c: clamp against PyTorch (tests/golden/gen_elementwise.py).
 * The reference is F.hardtanh(x, lo, hi): same forward as torch.clamp, and
 * a gradient that is 0 at exactly lo and hi (x hits both bounds in every
 * case), where torch.clamp's would pass. Exact: no arithmetic involved.
 * Then NaN (stays NaN, gradient 0, as torch.clamp) and lo > hi (hi, as
 * torch.clamp's min(max(x, lo), hi)). */
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>

int goldcase_clamp(void) {
    Golden *g = golden_load("clamp");
    int bad = 0, i;
    char k[5][32];
    for (i = 0;; i++) {
        const char *suffix[5] = {"x", "lohi", "y", "dy", "dx"};
        for (int s = 0; s < 5; s++) snprintf(k[s], sizeof k[s], "p%d_%s", i, suffix[s]);
        if (!golden_has(g, k[0])) break;
        Tensor *x = golden_get(g, k[0]), *lohi = golden_get(g, k[1]);
        x->requires_grad = true;
        Tensor *y = nx_clamp(x, lohi->data[0], lohi->data[1]);
        tape_backward_from(y, golden_get(g, k[3])->data);
        bad += golden_compare(g, k[2], y, 0, 0) + golden_compare_grad(g, k[4], x, 0, 0);
        tape_clear();
    }
    if (i != 3) {
        fprintf(stderr, "golden clamp: %d cases in the file, expected 3\n", i);
        bad++;
    }
    golden_free(g);

    Tensor *x = tensor_newv(NX_CPU, NX_F32, 1, 3);
    x->data[0] = NAN, x->data[1] = -3, x->data[2] = 3;
    x->requires_grad = true;
    Tensor *y = nx_clamp(x, -1, 1);
    float dy[3] = {1, 1, 1};
    tape_backward_from(y, dy);
    if (!isnan(y->data[0]) || x->grad[0] != 0 || y->data[1] != -1 || y->data[2] != 1) {
        fprintf(stderr, "clamp(nan, -3, 3 to [-1, 1]) = %g %g %g, dx[0] = %g\n", y->data[0], y->data[1], y->data[2],
                x->grad[0]);
        bad++;
    }
    Tensor *z = nx_clamp(x, 2, 1); /* lo > hi: torch.clamp gives hi (NaN stays NaN) */
    if (!isnan(z->data[0]) || z->data[1] != 1 || z->data[2] != 1) {
        fprintf(stderr, "clamp(nan, -3, 3 to [2, 1]) = %g %g %g, want nan 1 1\n", z->data[0], z->data[1], z->data[2]);
        bad++;
    }
    return bad;
}
