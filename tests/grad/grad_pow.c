/* grad_pow.c: gradient-check case of pow for torch's special-cased exponents
 * (2, 3, -2, 0.5, -0.5, -1), general ones, 0 and 1; x in [0.5, 2], and
 * integer exponents also on negative x. */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *f(Tensor **in, void *arg) { return nx_pow(in[0], *(float *)arg); }

int gradcase_pow(void) {
    static const float ps[] = {2, 3, -2, 0.5f, -0.5f, -1, 1.5f, -1.3f, 2.5f, 0, 1, 4};
    static const float neg[] = {2, 3, -2, -1, 4}; /* integer p: fine for x < 0 */
    int bad = 0;
    char label[64];
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        Tensor *x = test_uniform4(2, 3, 2, 3, 0.5f, 2);
        x->requires_grad = true;
        float p = ps[i];
        snprintf(label, sizeof label, "pow p=%g", p);
        bad += gradcheck(label, f, &x, 1, &p, 1e-3, 1e-3);
    }
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        Tensor *x = test_uniform4(2, 3, 2, 3, -2, -0.5f);
        x->requires_grad = true;
        float p = neg[i];
        snprintf(label, sizeof label, "pow p=%g, x < 0", p);
        bad += gradcheck(label, f, &x, 1, &p, 1e-3, 1e-3);
    }
    return bad;
}
