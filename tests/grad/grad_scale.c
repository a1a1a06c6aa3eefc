/* grad_scale.c: gradient-check case of scale (a * x + b). */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    const float *ab = arg;
    return nx_scale(in[0], ab[0], ab[1]);
}

int gradcase_scale(void) {
    Tensor *x = test_uniform4(2, 3, 4, 5, -1, 1);
    x->requires_grad = true;
    float ab[2] = {2.5f, -0.75f}, ab2[2] = {-0.3f, 4.0f};
    return gradcheck("scale 2.5x - 0.75", f, &x, 1, ab, 1e-3, 1e-3) +
           gradcheck("scale -0.3x + 4", f, &x, 1, ab2, 1e-3, 1e-3);
}
