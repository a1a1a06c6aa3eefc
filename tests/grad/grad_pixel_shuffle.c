/* grad_pixel_shuffle.c: gradient-check cases of pixel_shuffle (r = 2, 3). */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *f(Tensor **in, void *arg) { return nx_pixel_shuffle(in[0], *(int *)arg); }

int gradcase_pixel_shuffle(void) {
    static const struct {
        int n, c, h, w, r;
    } cases[] = {{2, 8, 2, 3, 2}, {1, 18, 2, 2, 3}};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Tensor *x = test_uniform4(cases[i].n, cases[i].c, cases[i].h, cases[i].w, -1, 1);
        x->requires_grad = true;
        int r = cases[i].r;
        char label[64];
        snprintf(label, sizeof label, "pixel_shuffle r=%d", r);
        bad += gradcheck(label, f, &x, 1, &r, 1e-2, 1e-4);
    }
    return bad;
}
