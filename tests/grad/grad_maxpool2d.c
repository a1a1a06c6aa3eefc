/* grad_maxpool2d.c: gradient-check cases of maxpool2d (k2 s2; k3 s2 p1; k3 s1
 * p1 with overlapping windows). The inputs are a shuffled permutation of
 * evenly spaced values, so no window holds a near-tie and every element is
 * differentiable: the check is informative, no kink is skipped. */
#include "tests/testlib.h"

#include <stdlib.h>

typedef struct {
    int k, s, p;
} PoolArg;

static Tensor *f(Tensor **in, void *arg) {
    PoolArg *a = arg;
    return nx_maxpool2d(in[0], a->k, a->s, a->p);
}

/* x = a random permutation of (i - n/2) * 0.01, i < n */
static Tensor *permuted(int n, int c, int h, int w) {
    Tensor *x = test_uniform4(n, c, h, w, 0, 1); /* random keys for the shuffle */
    int64_t m = x->numel;
    float *v = nx_malloc((size_t)m * sizeof *v);
    for (int64_t i = 0; i < m; i++) v[i] = (float)(i - m / 2) * 0.01f;
    for (int64_t i = m - 1; i > 0; i--) { /* Fisher-Yates driven by the test RNG */
        int64_t j = (int64_t)(x->data[i] * (float)(i + 1));
        if (j > i) j = i;
        float t = v[i];
        v[i] = v[j], v[j] = t;
    }
    for (int64_t i = 0; i < m; i++) x->data[i] = v[i];
    free(v);
    return x;
}

int gradcase_maxpool2d(void) {
    int bad = 0;
    PoolArg cfg[] = {{2, 2, 0}, {3, 2, 1}, {3, 1, 1}};
    const char *labels[] = {"maxpool2d k2 s2", "maxpool2d k3 s2 p1", "maxpool2d k3 s1 p1"};
    for (int i = 0; i < 3; i++) {
        Tensor *x = permuted(2, 2, 7, 6);
        x->requires_grad = true;
        bad += gradcheck(labels[i], f, &x, 1, &cfg[i], 1e-3, 1e-3);
    }
    return bad;
}
