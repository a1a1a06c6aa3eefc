/* grad_upsample_nearest.c: gradient-check cases of upsample_nearest
 * (factors 2, 3 and 4; the op is linear, so there are no kinks). */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *f(Tensor **in, void *arg) { return nx_upsample_nearest(in[0], *(int *)arg); }

int gradcase_upsample_nearest(void) {
    static const struct {
        int n, c, h, w, factor;
    } cases[] = {{2, 2, 3, 4, 2}, {1, 1, 2, 3, 3}, {1, 2, 2, 3, 4}};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Tensor *x = test_uniform4(cases[i].n, cases[i].c, cases[i].h, cases[i].w, -1, 1);
        x->requires_grad = true;
        int factor = cases[i].factor;
        char label[64];
        snprintf(label, sizeof label, "upsample_nearest f=%d", factor);
        bad += gradcheck(label, f, &x, 1, &factor, 1e-2, 1e-4);
    }
    return bad;
}
