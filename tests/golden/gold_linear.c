/* gold_linear.c: linear against PyTorch (tests/golden/gen_conv.py): case "a"
 * with bias, case "n" without; output and every gradient. */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *get(Golden *g, const char *c, const char *key) {
    char k[32];
    snprintf(k, sizeof k, "%s.%s", c, key);
    return golden_get(g, k);
}

static int cmp(Golden *g, const char *c, const char *key, Tensor *t, bool grad) {
    char k[32];
    snprintf(k, sizeof k, "%s.%s", c, key);
    const double atol = 1e-5, rtol = 1e-4;
    return grad ? golden_compare_grad(g, k, t, atol, rtol) : golden_compare(g, k, t, atol, rtol);
}

int goldcase_linear(void) {
    Golden *g = golden_load("linear");
    int bad = 0;
    const char *cases[] = {"a", "n"};
    for (int i = 0; i < 2; i++) {
        const char *c = cases[i];
        bool has_b = i == 0;
        Tensor *x = get(g, c, "x"), *w = get(g, c, "w"), *b = has_b ? get(g, c, "b") : NULL;
        x->requires_grad = w->requires_grad = true;
        if (b) b->requires_grad = true;
        tape_clear();
        Tensor *y = nx_linear(x, w, b);
        tape_backward_from(y, get(g, c, "dy")->data);
        tape_clear();
        bad += cmp(g, c, "y", y, false) + cmp(g, c, "dx", x, true) + cmp(g, c, "dw", w, true);
        if (b) bad += cmp(g, c, "db", b, true);
    }
    golden_free(g);
    return bad;
}
