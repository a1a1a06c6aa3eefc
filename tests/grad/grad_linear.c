/* grad_linear.c: gradient-check cases of linear (with and without bias), and
 * a frozen weight getting no gradient. linear is linear in each input, so a
 * large eps keeps the rounding of the central differences small. */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *f(Tensor **in, void *arg) {
    (void)arg;
    return nx_linear(in[0], in[1], in[2]);
}

int gradcase_linear(void) {
    int bad = 0;
    for (int bias = 0; bias < 2; bias++) {
        Tensor *in[3] = {test_uniform(2, (int[]){3, 7}, -1, 1), test_uniform(2, (int[]){5, 7}, -1, 1),
                         bias ? test_uniform(1, (int[]){5}, -1, 1) : NULL};
        for (int i = 0; i < 3; i++)
            if (in[i]) in[i]->requires_grad = true;
        bad += gradcheck(bias ? "linear bias" : "linear no bias", f, in, 3, NULL, 1e-2, 1e-3);
    }
    /* frozen classifier: w and b without requires_grad get nothing, x does */
    Tensor *x = test_uniform(2, (int[]){2, 4}, -1, 1), *w = test_uniform(2, (int[]){3, 4}, -1, 1),
           *b = test_uniform(1, (int[]){3}, -1, 1);
    x->requires_grad = true;
    tape_clear();
    Tensor *y = nx_linear(x, w, b);
    Tensor *dy = tensor_like(y);
    tensor_fill(dy, 1.0f);
    tape_backward_from(y, dy->data);
    tape_clear();
    if (!x->grad || w->grad || b->grad) {
        fprintf(stderr, "linear frozen weight: x grad %p, w grad %p, b grad %p\n", (void *)x->grad, (void *)w->grad,
                (void *)b->grad);
        bad++;
    }
    return bad;
}
