/* grad_neighbor_l1.c: gradient-check case of the NICE smoothness sum. */
#include "tests/testlib.h"

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_neighbor_l1(in[0]);
}

int gradcase_neighbor_l1(void) {
    /* distinct values far apart (>= 0.05) so no pair sits at the |.| kink */
    Tensor *x = test_uniform4(2, 2, 4, 5, 0, 1);
    for (int64_t i = 0; i < x->numel; i++) x->data[i] = (float)((i * 37) % x->numel) * 0.05f;
    x->requires_grad = true;
    return gradcheck("neighbor_l1", f, &x, 1, NULL, 1e-2, 1e-3); /* eps 1e-2: the per-image sum is large */
}
