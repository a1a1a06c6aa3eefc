/* grad_reshape.c: gradient-check cases of reshape and flatten: an inferred
 * dim, a flatten, and a tensor reshaped twice whose two gradients add up. */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *f_reshape(Tensor **in, void *arg) {
    (void)arg;
    return nx_reshape(in[0], 3, (int[]){4, -1, 3});
}

static Tensor *f_flatten(Tensor **in, void *arg) {
    (void)arg;
    return nx_flatten(in[0]);
}

/* concat(flatten(x), reshape(x, (N, -1))): two reshape entries add into x's grad. */
static Tensor *f_twice(Tensor **in, void *arg) {
    (void)arg;
    Tensor *xs[2] = {nx_flatten(in[0]), nx_reshape(in[0], 2, (int[]){in[0]->shape[0], -1})};
    return nx_concat(xs, 2);
}

int gradcase_reshape(void) {
    int bad = 0;
    Tensor *x = test_uniform(3, (int[]){2, 3, 4}, -1, 1);
    x->requires_grad = true;
    Tensor *y = nx_reshape(x, 3, (int[]){4, -1, 3});
    if (y->data != x->data || y->ndim != 3 || y->shape[0] != 4 || y->shape[1] != 2 || y->shape[2] != 3) {
        fprintf(stderr, "reshape: got %s sharing memory %d, expected (4, 2, 3) sharing memory\n",
                tensor_shape_str(y), y->data == x->data);
        bad++;
    }
    bad += gradcheck("reshape (2, 3, 4) -> (4, -1, 3)", f_reshape, &x, 1, NULL, 1e-2, 1e-4);

    Tensor *z = test_uniform4(2, 3, 2, 2, -1, 1);
    z->requires_grad = true;
    Tensor *fz = nx_flatten(z);
    if (fz->ndim != 2 || fz->shape[0] != 2 || fz->shape[1] != 12) {
        fprintf(stderr, "flatten: got %s, expected (2, 12)\n", tensor_shape_str(fz));
        bad++;
    }
    bad += gradcheck("flatten (2, 3, 2, 2)", f_flatten, &z, 1, NULL, 1e-2, 1e-4);
    bad += gradcheck("reshape twice", f_twice, &z, 1, NULL, 1e-2, 1e-4);
    return bad;
}
