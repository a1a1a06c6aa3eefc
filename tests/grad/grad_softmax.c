/* grad_softmax.c: gradient-check cases of softmax: dim 1, the last dim and
 * (as -2) dim 2 of a 4-d input; dim 0 of a 2-d input. */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) { return nx_softmax(in[0], *(int *)arg); }

int gradcase_softmax(void) {
    int bad = 0;
    Tensor *x = test_uniform4(2, 3, 4, 5, -2, 2);
    x->requires_grad = true;
    int dims[] = {1, 3, -2};
    const char *labels[] = {"softmax (2,3,4,5) dim 1", "softmax (2,3,4,5) dim 3", "softmax (2,3,4,5) dim -2"};
    for (int i = 0; i < 3; i++) bad += gradcheck(labels[i], f, &x, 1, &dims[i], 1e-3, 1e-3);
    Tensor *x2 = test_uniform(2, (int[]){5, 3}, -2, 2);
    x2->requires_grad = true;
    int d0 = 0;
    bad += gradcheck("softmax (5,3) dim 0", f, &x2, 1, &d0, 1e-3, 1e-3);
    return bad;
}
