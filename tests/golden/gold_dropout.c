/* gold_dropout.c: dropout against what PyTorch defines (tests/golden/gen_nn.py).
 *
 * torch's mask comes from its own generator and cannot be reproduced, so:
 *  - eval mode is compared with torch (the identity, output and gradient);
 *  - training mode: every output is 0 or x * s with s the value torch gives a
 *    kept 1 (its 1/(1-p)); dx = dy * y / x elementwise; the mask is exactly
 *    philox_uniform(seed, offset + i) > p at the offset the op took from the
 *    global stream (the contract the CUDA twin shares);
 *  - over 1e5 elements the kept fraction is within 1% of 1 - p, and the next
 *    call draws a fresh mask;
 *  - p = 0 in training is the identity and draws nothing; p = 1 gives zeros.
 */
#include "tests/testlib.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdio.h>

static int check_training(Golden *g, float p, float scale) {
    Tensor *x = golden_get(g, "x"), *dy = golden_get(g, "dy");
    x->requires_grad = true;
    uint64_t seed = rng_get_seed(), offset = rng_offset();
    tape_clear();
    Tensor *y = nx_dropout(x, p, true);
    tape_backward_from(y, dy->data);
    tape_clear();
    int bad = 0, kept = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        bool keep = philox_uniform(seed, offset + (uint64_t)i) > p;
        float want = keep ? x->data[i] * scale : 0.0f;
        bool ok_y = fabsf(y->data[i] - want) <= 1e-6f * fabsf(want) && (keep || y->data[i] == 0.0f);
        float want_dx = dy->data[i] * y->data[i] / x->data[i];
        bool ok_dx = fabsf(x->grad[i] - want_dx) <= 1e-6f + 1e-5f * fabsf(want_dx);
        if (!ok_y || !ok_dx) {
            if (bad < 5)
                fprintf(stderr, "dropout training [%lld]: x %g y %g (want %g) dx %g (want dy*y/x = %g)\n",
                        (long long)i, x->data[i], y->data[i], want, x->grad[i], want_dx);
            bad++;
        }
        kept += keep;
    }
    if (kept == 0 || kept == x->numel) {
        fprintf(stderr, "dropout training: %d of %lld kept, the case is not informative\n", kept,
                (long long)x->numel);
        bad++;
    }
    return bad;
}

static int check_fraction(float p) {
    const int n = 100000;
    bool prev = nx_no_grad();
    Tensor *x = tensor_newv(NX_CPU, NX_F32, 1, n);
    tensor_fill(x, 1.0f);
    Tensor *y1 = nx_dropout(x, p, true), *y2 = nx_dropout(x, p, true);
    nx_set_grad(prev);
    int kept = 0, differ = 0;
    for (int i = 0; i < n; i++) kept += y1->data[i] != 0, differ += (y1->data[i] != 0) != (y2->data[i] != 0);
    double frac = (double)kept / n, want = 1.0 - p;
    int bad = 0;
    if (fabs(frac - want) > 0.01 * want) {
        fprintf(stderr, "dropout p=%g: kept fraction %.5f, expected %.5f within 1%%\n", (double)p, frac, want);
        bad++;
    }
    /* two independent masks disagree on about 2p(1-p) of the elements */
    if (differ < n * p * (1 - p)) {
        fprintf(stderr, "dropout: two calls share %d of %d mask bits: the stream did not advance\n", n - differ, n);
        bad++;
    }
    return bad;
}

static int check_p0_p1(Golden *g) {
    Tensor *x = golden_get(g, "x");
    int bad = 0;
    uint64_t at = rng_offset();
    Tensor *y0 = nx_dropout(x, 0.0f, true);
    if (rng_offset() != at) bad++, fprintf(stderr, "dropout p=0 drew random numbers\n");
    bad += golden_compare(g, "x", y0, 0, 0);
    Tensor *y1 = nx_dropout(x, 1.0f, true);
    for (int64_t i = 0; i < x->numel; i++)
        if (y1->data[i] != 0.0f) bad++, fprintf(stderr, "dropout p=1: y[%lld] = %g\n", (long long)i, y1->data[i]);
    return bad;
}

int goldcase_dropout(void) {
    Golden *g = golden_load("dropout");
    float p = golden_get(g, "p")->data[0], scale = golden_get(g, "scale")->data[0];

    /* eval: identity, against torch */
    Tensor *x = golden_get(g, "x");
    x->requires_grad = true;
    tape_clear();
    Tensor *y = nx_dropout(x, p, false);
    tape_backward_from(y, golden_get(g, "dy")->data);
    tape_clear();
    int bad = golden_compare(g, "y_eval", y, 0, 0) + golden_compare_grad(g, "dx_eval", x, 0, 0);

    bad += check_training(g, p, scale);
    bad += check_fraction(p);
    bad += check_p0_p1(g);
    golden_free(g);
    return bad;
}
