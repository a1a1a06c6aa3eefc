/* grad_sigmoid.c: gradient-check case of sigmoid, and its values at large |x|. */
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_sigmoid(in[0]);
}

int gradcase_sigmoid(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -6, 6);
    x->requires_grad = true;
    int bad = gradcheck("sigmoid", f, &x, 1, NULL, 1e-3, 1e-3);

    /* Stable for large |x|: no NaN, no overflow, tiny values keep their size. */
    static const float xs[] = {-INFINITY, -1000, -100, -30, 30, 100, 1000, INFINITY};
    static const double want[] = {0, 0, 3.7200759760208361e-44, 9.3576229688401746e-14, 1, 1, 1, 1};
    Tensor *t = tensor_newv(NX_CPU, NX_F32, 1, 8);
    for (int i = 0; i < 8; i++) t->data[i] = xs[i];
    t->requires_grad = true;
    Tensor *y = nx_sigmoid(t);
    float dy[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    tape_backward_from(y, dy);
    for (int i = 0; i < 8; i++) {
        double tol = want[i] < 1e-38 ? 1e-45 + 0.05 * want[i] : 1e-6 * want[i]; /* subnormals are coarse */
        if (!(fabs(y->data[i] - want[i]) <= tol) || !isfinite(t->grad[i]) || t->grad[i] < 0 ||
            t->grad[i] > 1e-12f) {
            fprintf(stderr, "sigmoid(%g) = %g (want %g), gradient %g\n", xs[i], y->data[i], want[i], t->grad[i]);
            bad++;
        }
    }
    return bad;
}
