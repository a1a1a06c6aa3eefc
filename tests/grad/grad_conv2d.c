/* grad_conv2d.c: gradient-check cases of conv2d: 3x3 with bias; stride 2 pad 1
 * without bias; depthwise; 1x1; two groups; 2x2 outputs on 4 images (the
 * path that batches images side by side in one GEMM). conv2d is linear in
 * each input, so central differences are exact up to rounding and a large
 * eps keeps that rounding small. Also checks that inputs without
 * requires_grad get no gradient (no dX for an image, no dW for a frozen
 * weight). */
#include "tests/testlib.h"

#include <stdio.h>

typedef struct {
    int stride, pad, groups;
} ConvArg;

static Tensor *f(Tensor **in, void *arg) {
    ConvArg *a = arg;
    return nx_conv2d(in[0], in[1], in[2], a->stride, a->pad, a->groups);
}

static int check(const char *label, int n, int c, int h, int w, int o, int k, ConvArg a, bool bias) {
    Tensor *in[3] = {test_uniform4(n, c, h, w, -1, 1), test_uniform4(o, c / a.groups, k, k, -1, 1),
                     bias ? test_uniform(1, (int[]){o}, -1, 1) : NULL};
    for (int i = 0; i < 3; i++)
        if (in[i]) in[i]->requires_grad = true;
    return gradcheck(label, f, in, 3, &a, 1e-2, 1e-3);
}

/* Backward with one input frozen: it must get no gradient, the others must. */
static int check_frozen(void) {
    int bad = 0;
    for (int frozen = 0; frozen < 3; frozen++) {
        Tensor *in[3] = {test_uniform4(2, 2, 5, 5, -1, 1), test_uniform4(3, 2, 3, 3, -1, 1),
                         test_uniform(1, (int[]){3}, -1, 1)};
        for (int i = 0; i < 3; i++) in[i]->requires_grad = i != frozen;
        tape_clear();
        Tensor *y = nx_conv2d(in[0], in[1], in[2], 1, 1, 1);
        Tensor *dy = tensor_like(y);
        tensor_fill(dy, 1.0f);
        tape_backward_from(y, dy->data);
        tape_clear();
        for (int i = 0; i < 3; i++) {
            if ((in[i]->grad != NULL) != (i != frozen)) {
                fprintf(stderr, "conv2d frozen input %d: input %d %s a gradient\n", frozen, i,
                        in[i]->grad ? "got" : "did not get");
                bad++;
            }
        }
    }
    return bad;
}

int gradcase_conv2d(void) {
    int bad = 0;
    bad += check("conv2d k3 s1 p0 bias", 2, 3, 6, 6, 4, 3, (ConvArg){1, 0, 1}, true);
    bad += check("conv2d k3 s2 p1 no bias", 2, 2, 7, 7, 3, 3, (ConvArg){2, 1, 1}, false);
    bad += check("conv2d depthwise k3 p1", 2, 3, 5, 5, 3, 3, (ConvArg){1, 1, 3}, true);
    bad += check("conv2d 1x1", 2, 4, 4, 4, 3, 1, (ConvArg){1, 0, 1}, true);
    bad += check("conv2d groups 2", 1, 4, 5, 5, 4, 3, (ConvArg){1, 1, 2}, true);
    bad += check("conv2d 2x2 outputs, 4 images", 4, 2, 3, 3, 3, 2, (ConvArg){1, 0, 1}, true);
    bad += check_frozen();
    return bad;
}
