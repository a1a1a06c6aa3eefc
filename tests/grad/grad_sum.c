/* grad_sum.c: gradient-check case of sum, and the reduction checks shared
 * with mean (grad_mean.c calls ew_reduce_gradcheck, defined here): over all
 * dims, (0), (1), (2, 3), (0, 2, 3), with and without keepdim, on 4-d, 3-d
 * and 0-dim inputs; the output shapes; a dims mask beyond the input's dims. */
#include "tests/testlib.h"

#include <stdio.h>

typedef Tensor *(*ReduceFn)(Tensor *, unsigned, bool);

int ew_reduce_gradcheck(const char *name, ReduceFn op);
int ew_expect_fatal(const char *label, void (*fn)(void *), void *arg, const char *want);

typedef struct {
    ReduceFn op;
    unsigned dims;
    bool keepdim;
} ReduceArg;

static Tensor *f(Tensor **in, void *arg) {
    ReduceArg *r = arg;
    return r->op(in[0], r->dims, r->keepdim);
}

static void f_bad_mask(void *arg) { (*(ReduceFn *)arg)(tensor_newv(NX_CPU, NX_F32, 2, 3, 4), NX_DIM(2), false); }

typedef struct {
    int nx, sx[4];
    unsigned dims;
    bool keepdim;
    int ny, sy[4]; /* expected output shape */
} Pattern;

static const Pattern patterns[] = {
    {4, {2, 3, 3, 4}, NX_ALL, false, 0, {0}},
    {4, {2, 3, 3, 4}, NX_ALL, true, 4, {1, 1, 1, 1}},
    {4, {2, 3, 3, 4}, NX_DIM(0), false, 3, {3, 3, 4}},
    {4, {2, 3, 3, 4}, NX_DIM(0), true, 4, {1, 3, 3, 4}},
    {4, {2, 3, 3, 4}, NX_DIM(1), false, 3, {2, 3, 4}},
    {4, {2, 3, 3, 4}, NX_DIM(1), true, 4, {2, 1, 3, 4}},
    {4, {2, 3, 3, 4}, NX_DIM(2) | NX_DIM(3), false, 2, {2, 3}},
    {4, {2, 3, 3, 4}, NX_DIM(2) | NX_DIM(3), true, 4, {2, 3, 1, 1}},
    {4, {2, 3, 3, 4}, NX_DIM(0) | NX_DIM(2) | NX_DIM(3), false, 1, {3}},
    {4, {2, 3, 3, 4}, NX_DIM(1) | NX_DIM(3), true, 4, {2, 1, 3, 1}},
    {4, {2, 3, 3, 4}, 0xF, false, 0, {0}}, /* every dim named: same as NX_ALL */
    {3, {3, 4, 5}, NX_DIM(1), false, 2, {3, 5}},
    {3, {3, 4, 5}, NX_DIM(0) | NX_DIM(2), true, 3, {1, 4, 1}},
    {2, {6, 5}, NX_DIM(1), false, 1, {6}},
    {1, {7}, NX_DIM(0), true, 1, {1}},
    {0, {0}, NX_ALL, false, 0, {0}}, /* 0-dim input */
};

int ew_reduce_gradcheck(const char *name, ReduceFn op) {
    int bad = 0;
    char label[96];
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        const Pattern *p = &patterns[i];
        Tensor *x = test_uniform(p->nx, p->sx, -1, 1);
        x->requires_grad = true;
        ReduceArg r = {op, p->dims, p->keepdim};
        snprintf(label, sizeof label, "%s %s dims 0x%x%s", name, tensor_shape_str(x), p->dims,
                 p->keepdim ? " keepdim" : "");
        bad += gradcheck(label, f, &x, 1, &r, 1e-3, 1e-3);
        bool prev = nx_no_grad();
        Tensor *y = op(x, p->dims, p->keepdim);
        nx_set_grad(prev);
        Tensor *want = tensor_new(NX_CPU, NX_F32, p->ny, p->sy);
        if (!tensor_same_shape(y, want)) {
            fprintf(stderr, "%s: output %s, expected %s\n", label, tensor_shape_str(y), tensor_shape_str(want));
            bad++;
        }
    }
    char want[128];
    snprintf(want, sizeof want, "op %s: dims mask 0x4 names a dim beyond the 2 of (3, 4)", name);
    bad += ew_expect_fatal(name, f_bad_mask, &op, want);
    return bad;
}

int gradcase_sum(void) { return ew_reduce_gradcheck("sum", nx_sum); }
