/* grad_upsample_bilinear.c: gradient-check cases of upsample_bilinear:
 * up- and downsampling with non-integer ratios, an exact 2x, a size-1
 * output and an axis that keeps its size, each with align_corners true and
 * false. The op is linear in x, so there are no kinks. */
#include "tests/testlib.h"

#include <stdio.h>

typedef struct {
    int oh, ow;
    bool align_corners;
} Args;

static Tensor *f(Tensor **in, void *arg) {
    const Args *a = arg;
    return nx_upsample_bilinear(in[0], a->oh, a->ow, a->align_corners);
}

int gradcase_upsample_bilinear(void) {
    static const struct {
        int n, c, h, w, oh, ow;
    } cases[] = {
        {1, 2, 5, 7, 12, 9},  /* up, non-integer ratios */
        {1, 1, 12, 9, 5, 7},  /* down, non-integer ratios */
        {2, 1, 3, 4, 6, 8},   /* exactly 2x */
        {1, 1, 5, 7, 3, 14},  /* down along H, up along W */
        {1, 1, 3, 4, 1, 4},   /* size-1 output along H, W unchanged */
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int ac = 0; ac <= 1; ac++) {
            Tensor *x = test_uniform4(cases[i].n, cases[i].c, cases[i].h, cases[i].w, -1, 1);
            x->requires_grad = true;
            Args a = {cases[i].oh, cases[i].ow, ac};
            char label[96];
            snprintf(label, sizeof label, "upsample_bilinear %dx%d->%dx%d align_corners=%d", cases[i].h, cases[i].w,
                     a.oh, a.ow, ac);
            bad += gradcheck(label, f, &x, 1, &a, 1e-2, 1e-4);
        }
    return bad;
}
