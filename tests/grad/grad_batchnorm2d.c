/* grad_batchnorm2d.c: gradient-check cases of batchnorm2d: training and eval,
 * each with and without the affine parameters. In training the running stats
 * are updated at every evaluation, which the output does not depend on. */
#include "tests/testlib.h"

#include <stdio.h>

typedef struct {
    Tensor *running_mean, *running_var;
    bool training;
    float momentum, eps;
} BnArg;

/* in: x, weight (or NULL), bias (or NULL) */
static Tensor *f(Tensor **in, void *arg) {
    BnArg *a = arg;
    return nx_batchnorm2d(in[0], in[1], in[2], a->running_mean, a->running_var, a->training, a->momentum, a->eps);
}

int gradcase_batchnorm2d(void) {
    int bad = 0;
    const int C = 3;
    for (int training = 1; training >= 0; training--)
        for (int affine = 1; affine >= 0; affine--) {
            Tensor *x = test_uniform4(3, C, 3, 4, -1, 2);
            Tensor *w = affine ? test_uniform(1, (int[]){C}, 0.5f, 1.5f) : NULL;
            Tensor *b = affine ? test_uniform(1, (int[]){C}, -1, 1) : NULL;
            BnArg a = {test_uniform(1, (int[]){C}, -0.5f, 0.5f), test_uniform(1, (int[]){C}, 0.5f, 1.5f),
                       training, 0.1f, 1e-5f};
            x->requires_grad = true;
            if (affine) w->requires_grad = b->requires_grad = true;
            Tensor *in[3] = {x, w, b};
            char label[64];
            snprintf(label, sizeof label, "batchnorm2d %s%s", training ? "training" : "eval",
                     affine ? " affine" : " no affine");
            bad += gradcheck(label, f, in, 3, &a, 1e-3, 1e-3);
        }
    return bad;
}
