/* gold_batchnorm2d.c: batchnorm2d against PyTorch (tests/golden/gen_nn.py).
 * Case "a" (affine, momentum 0.1, eps 1e-5) and case "n" (affine=False,
 * momentum 0.3, eps 1e-3): one training forward and backward (output, every
 * gradient, the updated running stats), then an eval forward and backward
 * with those running stats. */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *get(Golden *g, const char *c, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "%s.%s", c, key);
    return golden_get(g, k);
}

static int cmp(Golden *g, const char *c, const char *key, const Tensor *t, bool grad) {
    char k[64];
    snprintf(k, sizeof k, "%s.%s", c, key);
    const double atol = 1e-6, rtol = 1e-5;
    return grad ? golden_compare_grad(g, k, (Tensor *)t, atol, rtol) : golden_compare(g, k, t, atol, rtol);
}

static int check_case(Golden *g, const char *c, bool affine) {
    Tensor *cfg = get(g, c, "cfg");
    float momentum = cfg->data[0], eps = cfg->data[1];
    Tensor *x = get(g, c, "x"), *w = affine ? get(g, c, "w") : NULL, *b = affine ? get(g, c, "b") : NULL;
    Tensor *rm = get(g, c, "rm0"), *rv = get(g, c, "rv0");
    x->requires_grad = true;
    if (affine) w->requires_grad = b->requires_grad = true;

    /* training */
    tape_clear();
    Tensor *y = nx_batchnorm2d(x, w, b, rm, rv, true, momentum, eps);
    tape_backward_from(y, get(g, c, "dy")->data);
    tape_clear();
    int bad = cmp(g, c, "y", y, false) + cmp(g, c, "dx", x, true) + cmp(g, c, "rm", rm, false) +
              cmp(g, c, "rv", rv, false);
    if (affine) bad += cmp(g, c, "dw", w, true) + cmp(g, c, "db", b, true);

    /* eval, with the running stats the training step left */
    x->grad = NULL;
    if (affine) w->grad = b->grad = NULL;
    Tensor *ye = nx_batchnorm2d(x, w, b, rm, rv, false, momentum, eps);
    tape_backward_from(ye, get(g, c, "dy_eval")->data);
    tape_clear();
    bad += cmp(g, c, "y_eval", ye, false) + cmp(g, c, "dx_eval", x, true);
    if (affine) bad += cmp(g, c, "dw_eval", w, true) + cmp(g, c, "db_eval", b, true);
    /* eval leaves the running stats alone */
    bad += cmp(g, c, "rm", rm, false) + cmp(g, c, "rv", rv, false);
    return bad;
}

int goldcase_batchnorm2d(void) {
    Golden *g = golden_load("batchnorm2d");
    int bad = check_case(g, "a", true) + check_case(g, "n", false);
    golden_free(g);
    return bad;
}
