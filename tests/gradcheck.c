/* gradcheck.c: gradient check by central differences (see testlib.h). */
#include "tests/testlib.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_test_state = 88172645463325252ull;

void test_seed(uint64_t seed) { g_test_state = seed ? seed : 88172645463325252ull; }

static double test_next(void) { /* xorshift64*, uniform in [0, 1) */
    g_test_state ^= g_test_state >> 12;
    g_test_state ^= g_test_state << 25;
    g_test_state ^= g_test_state >> 27;
    return (double)((g_test_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

Tensor *test_uniform(int ndim, const int *shape, float lo, float hi) {
    Tensor *t = tensor_new(NX_CPU, NX_F32, ndim, shape);
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = (float)(lo + (hi - lo) * test_next());
    return t;
}

Tensor *test_uniform4(int n, int c, int h, int w, float lo, float hi) {
    return test_uniform(4, (int[]){n, c, h, w}, lo, hi);
}

/* sum(w * f(in)) in double, with the random stream rewound so that random
 * ops (dropout) draw the same numbers at every evaluation. */
static double eval_loss(GradFn f, Tensor **in, void *arg, const float *w, uint64_t rng_at, int64_t *n_out) {
    rng_set_offset(rng_at);
    Tensor *y = f(in, arg);
    float *h = tensor_to_host(y);
    double s = 0;
    for (int64_t i = 0; i < y->numel; i++) s += (double)w[i] * h[i];
    *n_out = y->numel;
    free(h);
    return s;
}

int gradcheck(const char *label, GradFn f, Tensor **in, int n_in, void *arg, double eps, double tol) {
    uint64_t rng_at = rng_offset();
    /* Analytic: one forward with the tape, backward seeded with w. */
    bool prev = nx_grad_enabled();
    nx_set_grad(true);
    tape_clear();
    for (int i = 0; i < n_in; i++)
        if (in[i]) in[i]->grad = NULL;
    rng_set_offset(rng_at);
    Tensor *y = f(in, arg);
    float *w = nx_malloc(tensor_bytes(y));
    for (int64_t i = 0; i < y->numel; i++) w[i] = (float)(2 * test_next() - 1);
    tape_backward_from(y, w);
    tape_clear();

    nx_no_grad();
    int failures = 0, checked = 0, kinks = 0;
    for (int i = 0; i < n_in; i++) {
        Tensor *x = in[i];
        if (!x || !x->requires_grad || x->dtype != NX_F32) continue;
        float *analytic = NULL; /* NULL: nothing flowed back, the gradient is zero */
        if (x->grad) {
            analytic = nx_malloc(tensor_bytes(x));
            device_memcpy(NX_CPU, analytic, x->device, x->grad, tensor_bytes(x));
        }
        float *xh = tensor_to_host(x);
        for (int64_t j = 0; j < x->numel; j++) {
            int64_t n_out;
            float orig = xh[j];
            float xp = (float)(orig + eps), xm = (float)(orig - eps);
            double l0 = eval_loss(f, in, arg, w, rng_at, &n_out);
            xh[j] = xp;
            device_memcpy(x->device, x->data + j, NX_CPU, &xh[j], 4);
            double lp = eval_loss(f, in, arg, w, rng_at, &n_out);
            xh[j] = xm;
            device_memcpy(x->device, x->data + j, NX_CPU, &xh[j], 4);
            double lm = eval_loss(f, in, arg, w, rng_at, &n_out);
            xh[j] = orig;
            device_memcpy(x->device, x->data + j, NX_CPU, &xh[j], 4);
            double fwd = (lp - l0) / ((double)xp - orig), bwd = (l0 - lm) / ((double)orig - xm);
            if (fabs(fwd - bwd) > 0.1 * fmax(1.0, fmax(fabs(fwd), fabs(bwd)))) {
                kinks++; /* non-differentiable point: skip, as Caffe does */
                continue;
            }
            double num = (lp - lm) / ((double)xp - xm);
            double ana = analytic ? analytic[j] : 0.0;
            checked++;
            double scale = fmax(1.0, fmax(fabs(ana), fabs(num)));
            if (fabs(ana - num) > tol * scale) {
                if (failures < 5)
                    fprintf(stderr, "gradcheck %s: input %d %s element %lld: analytic %.6g numeric %.6g\n", label, i,
                            tensor_shape_str(x), (long long)j, ana, num);
                failures++;
            }
        }
        free(xh);
        free(analytic);
    }
    nx_set_grad(prev);
    free(w);
    if (checked == 0 || kinks > checked) {
        fprintf(stderr, "gradcheck %s: %d elements checked, %d skipped as kinks: case is not informative\n", label,
                checked, kinks);
        failures++;
    }
    return failures;
}
