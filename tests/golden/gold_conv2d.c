/* gold_conv2d.c: conv2d against PyTorch (tests/golden/gen_conv.py): 3x3 pad 1;
 * stride 2 pad 1 without bias; k5 on one channel (LeNet-like, W != H); 1x1;
 * depthwise (stride 1, and stride 2 with k5); two groups; 9 images of 2x2
 * outputs (batched side by side into one GEMM); stride 3 with pad 2 > k/2.
 * Output and every gradient are compared. */
#include "tests/testlib.h"

#include <stdio.h>

static int check_case(const char *name) {
    char file[64];
    snprintf(file, sizeof file, "conv2d_%s", name);
    Golden *g = golden_load(file);
    Tensor *cfg = golden_get(g, "cfg");
    int stride = cfg->idata[0], pad = cfg->idata[1], groups = cfg->idata[2];
    bool has_b = cfg->idata[3] != 0;
    Tensor *x = golden_get(g, "x"), *w = golden_get(g, "w"), *b = has_b ? golden_get(g, "b") : NULL;
    x->requires_grad = w->requires_grad = true;
    if (b) b->requires_grad = true;
    tape_clear();
    Tensor *y = nx_conv2d(x, w, b, stride, pad, groups);
    tape_backward_from(y, golden_get(g, "dy")->data);
    tape_clear();
    /* sums of up to a few hundred products: fp32 rounding differs from PyTorch's order */
    const double atol = 1e-5, rtol = 1e-4;
    int bad = golden_compare(g, "y", y, atol, rtol) + golden_compare_grad(g, "dx", x, atol, rtol) +
              golden_compare_grad(g, "dw", w, atol, rtol);
    if (b) bad += golden_compare_grad(g, "db", b, atol, rtol);
    if (bad) fprintf(stderr, "conv2d golden case %s: %d mismatches\n", name, bad);
    golden_free(g);
    return bad;
}

int goldcase_conv2d(void) {
    const char *cases[] = {"basic", "s2p1", "k5", "1x1", "dw", "dws2", "g2", "batch", "s3k4"};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) bad += check_case(cases[i]);
    return bad;
}
