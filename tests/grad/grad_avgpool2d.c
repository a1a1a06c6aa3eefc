/* grad_avgpool2d.c: gradient-check cases of avgpool2d (k2 s2; k3 s1 p1; k3 s2
 * p1 on an odd size, floor mode). */
#include "tests/testlib.h"

typedef struct {
    int k, s, p;
} PoolArg;

static Tensor *f(Tensor **in, void *arg) {
    PoolArg *a = arg;
    return nx_avgpool2d(in[0], a->k, a->s, a->p);
}

int gradcase_avgpool2d(void) {
    int bad = 0;
    PoolArg cfg[] = {{2, 2, 0}, {3, 1, 1}, {3, 2, 1}};
    const char *labels[] = {"avgpool2d k2 s2", "avgpool2d k3 s1 p1", "avgpool2d k3 s2 p1"};
    for (int i = 0; i < 3; i++) {
        Tensor *x = test_uniform4(2, 2, 7, 6, -1, 1);
        x->requires_grad = true;
        bad += gradcheck(labels[i], f, &x, 1, &cfg[i], 1e-3, 1e-3);
    }
    return bad;
}
