/* grad_dropout.c: gradient-check cases of dropout: training with p = 0.5 (the
 * checker rewinds the Philox stream, so every evaluation draws the same mask),
 * training with p = 0 and eval (both the identity). */
#include "tests/testlib.h"

typedef struct {
    float p;
    bool training;
} DropArg;

static Tensor *f(Tensor **in, void *arg) {
    DropArg *a = arg;
    return nx_dropout(in[0], a->p, a->training);
}

int gradcase_dropout(void) {
    int bad = 0;
    DropArg cfg[] = {{0.5f, true}, {0.0f, true}, {0.5f, false}};
    const char *labels[] = {"dropout p=0.5 training", "dropout p=0 training", "dropout p=0.5 eval"};
    for (int i = 0; i < 3; i++) {
        Tensor *x = test_uniform4(2, 3, 4, 5, -1, 1);
        x->requires_grad = true;
        bad += gradcheck(labels[i], f, &x, 1, &cfg[i], 1e-3, 1e-3);
    }
    return bad;
}
