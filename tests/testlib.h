/* testlib.h: shared helpers for the Check suites.
 *
 * gradcheck(): compares the tape's gradient of L = sum(w * f(inputs)), w a
 * fixed random weight, with central differences computed in double, for
 * every float input that has requires_grad. Tolerance: |a - n| <= tol *
 * max(|a|, |n|, 1). Kinks (points where the one-sided differences disagree,
 * e.g. relu at 0, max-pool ties, clamp bounds) are skipped, as in Caffe.
 *
 * golden_*(): reads files written by tests/golden/gen_*.py (PyTorch) and
 * compares tensors: the shape exactly, then |got - want| <= atol + rtol * |want|.
 */
#ifndef NX_TESTLIB_H
#define NX_TESTLIB_H

#include <check.h>
#include <stdio.h>

#include "autograd/ops.h"

/* The function under test: builds its output from the inputs. */
typedef Tensor *(*GradFn)(Tensor **in, void *arg);

/* Returns the number of mismatching elements (0 = pass); prints each. */
int gradcheck(const char *label, GradFn f, Tensor **in, int n_in, void *arg, double eps, double tol);

/* A CPU fp32 step tensor filled from the test RNG: uniform in [lo, hi). */
Tensor *test_uniform(int ndim, const int *shape, float lo, float hi);
Tensor *test_uniform4(int n, int c, int h, int w, float lo, float hi);
/* Seed of the test RNG (a plain xorshift, independent of nicex's Philox). */
void test_seed(uint64_t seed);

/* ---- golden files ---------------------------------------------------- */
typedef struct Golden Golden;
/* Loads tests/golden/data/<name>.bin (NX_GOLDEN_DIR overrides the folder). Fails the test if absent. */
Golden *golden_load(const char *name);
void golden_free(Golden *g);
/* A tensor from the file as a CPU step tensor (f32 or i32); fails the test if missing. */
Tensor *golden_get(Golden *g, const char *key);
bool golden_has(Golden *g, const char *key);
/* Compare got (any device) with g[key]: returns the number of mismatches, prints the worst.
 * A shape that differs from the record's (ndim or any size) is a mismatch of every element. */
int golden_compare(Golden *g, const char *key, const Tensor *got, double atol, double rtol);
/* Same, for a raw host buffer of the given shape (ndim 0: one value). */
int golden_compare_buf(Golden *g, const char *key, const float *got, int ndim, const int *shape, double atol,
                       double rtol);
/* Compare t->grad (of t's shape) with g[key]. */
int golden_compare_grad(Golden *g, const char *key, Tensor *t, double atol, double rtol);

/* ---- skipped tests (tests/skips.c) ----------------------------------- */
/* Check has no skip state: a test that needs what is absent here (a data set,
 * the CLI binary, a GPU) is not registered but recorded with test_skip(), and
 * run_tests prints "skipped: N tests (name: reason; ...)" at the end. */
void test_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int test_skip_count(void);
void test_print_skips(FILE *f);
/* Register test fn if `ok`, else record it as skipped with the printf-style reason. */
#define TCASE_ADD_TEST_IF(tc, fn, ok, ...)              \
    do {                                                \
        if (ok) tcase_add_test(tc, fn);                 \
        else test_skip(#fn, __VA_ARGS__);               \
    } while (0)

/* Where the tests look for data and the CLI. Point one at a missing folder
 * to see the skips:
 *   NX_FASHION_MNIST  Fashion-MNIST folder (default Debian's /usr/share/datasets/fashion-mnist)
 *   NX_SHARED_DATA    the shared data folder (default ../shared/data)
 *   NX_BIN            the CLI (default bin/nicex) */
const char *test_fashion_mnist_dir(void);
const char *test_fashion_mnist_spec(void); /* for dataset_open and --data: "fashion-mnist[:NX_FASHION_MNIST]" */
bool test_have_fashion_mnist(void);        /* its four files are readable */
const char *test_shared_data_dir(void);
const char *test_nicex_bin(void);

#endif
