/* gold_pow.c: pow against PyTorch (tests/golden/gen_elementwise.py) for
 * torch's special-cased exponents (2, 3, -2, 0.5, -0.5, -1), general ones,
 * 0 and 1, with x = 0 where the result is finite or a clean inf; then the
 * NaN of a negative x with a non-integer exponent, checked here because a
 * golden comparison counts NaN as a mismatch. */
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>

int goldcase_pow(void) {
    Golden *g = golden_load("pow");
    int bad = 0, i;
    char k[5][32];
    for (i = 0;; i++) {
        const char *suffix[5] = {"x", "p", "y", "dy", "dx"};
        for (int s = 0; s < 5; s++) snprintf(k[s], sizeof k[s], "p%d_%s", i, suffix[s]);
        if (!golden_has(g, k[0])) break;
        Tensor *x = golden_get(g, k[0]);
        float p = golden_get(g, k[1])->data[0];
        x->requires_grad = true;
        Tensor *y = nx_pow(x, p);
        tape_backward_from(y, golden_get(g, k[3])->data);
        int b = golden_compare(g, k[2], y, 1e-30, 2e-6) + golden_compare_grad(g, k[4], x, 1e-30, 2e-6);
        if (b) fprintf(stderr, "golden pow: case p = %g fails\n", p);
        bad += b;
        tape_clear();
    }
    if (i != 12) {
        fprintf(stderr, "golden pow: %d cases in the file, expected 12\n", i);
        bad++;
    }
    golden_free(g);

    /* torch.pow(tensor([-1., -0.5, 2.]), 1.5) = [nan, nan, 2.8284271]; the
     * gradient 1.5 * x^0.5 is [nan, nan, 2.1213203]. */
    Tensor *x = tensor_newv(NX_CPU, NX_F32, 1, 3);
    x->data[0] = -1, x->data[1] = -0.5f, x->data[2] = 2;
    x->requires_grad = true;
    Tensor *y = nx_pow(x, 1.5f);
    float dy[3] = {1, 1, 1};
    tape_backward_from(y, dy);
    if (!isnan(y->data[0]) || !isnan(y->data[1]) || fabsf(y->data[2] - 2.8284271f) > 1e-6f || !isnan(x->grad[0]) ||
        !isnan(x->grad[1]) || fabsf(x->grad[2] - 2.1213203f) > 1e-6f) {
        fprintf(stderr, "pow(x < 0, 1.5): y %g %g %g, dx %g %g %g (want nan nan 2.828, nan nan 2.121)\n", y->data[0],
                y->data[1], y->data[2], x->grad[0], x->grad[1], x->grad[2]);
        bad++;
    }
    return bad;
}
