/* grad_clamp.c: gradient-check case of clamp (inputs on both sides of both
 * bounds; the kinks at the bounds are skipped by gradcheck and checked
 * exactly in the golden case). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    const float *lohi = arg;
    return nx_clamp(in[0], lohi[0], lohi[1]);
}

int gradcase_clamp(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -1, 1);
    x->requires_grad = true;
    float lohi[2] = {-0.5f, 0.3f};
    int bad = gradcheck("clamp [-0.5, 0.3]", f, &x, 1, lohi, 1e-3, 1e-3);
    float lohi2[2] = {0.0f, 1.0f};
    bad += gradcheck("clamp [0, 1]", f, &x, 1, lohi2, 1e-3, 1e-3);
    return bad;
}
