/* grad_concat.c: gradient-check cases of concat: three NCHW inputs with
 * different channel counts (the middle one frozen), two (N, C) inputs, and
 * one tensor passed twice (its gradient is the sum of both slices). */
#include "tests/testlib.h"

#include <stdio.h>

static Tensor *f(Tensor **in, void *arg) { return nx_concat(in, *(int *)arg); }

/* concat(x, x): x reaches the output twice, through two slices. */
static Tensor *f_twice(Tensor **in, void *arg) {
    (void)arg;
    Tensor *xs[2] = {in[0], in[0]};
    return nx_concat(xs, 2);
}

int gradcase_concat(void) {
    int bad = 0;

    Tensor *a = test_uniform4(2, 1, 3, 4, -1, 1), *b = test_uniform4(2, 3, 3, 4, -1, 1),
           *c = test_uniform4(2, 2, 3, 4, -1, 1);
    a->requires_grad = c->requires_grad = true; /* b frozen: it must get no gradient */
    Tensor *abc[3] = {a, b, c};
    int n3 = 3;
    bad += gradcheck("concat 3 x NCHW", f, abc, 3, &n3, 1e-2, 1e-4);
    if (b->grad) {
        fprintf(stderr, "concat: a gradient was allocated for an input without requires_grad\n");
        bad++;
    }
    b->requires_grad = true;
    bad += gradcheck("concat 3 x NCHW, all require grad", f, abc, 3, &n3, 1e-2, 1e-4);

    Tensor *p = test_uniform(2, (int[]){3, 2}, -1, 1), *q = test_uniform(2, (int[]){3, 5}, -1, 1);
    p->requires_grad = q->requires_grad = true;
    Tensor *pq[2] = {p, q};
    int n2 = 2;
    bad += gradcheck("concat 2 x (N, C)", f, pq, 2, &n2, 1e-2, 1e-4);

    Tensor *x = test_uniform4(1, 2, 2, 3, -1, 1);
    x->requires_grad = true;
    bad += gradcheck("concat (x, x)", f_twice, &x, 1, NULL, 1e-2, 1e-4);
    return bad;
}
