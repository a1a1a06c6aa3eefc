/* suite_ops.c: the two registry loops.
 *   ops_grad:   for every op in autograd/ops.def, gradcase_<op>() (tests/grad/)
 *   ops_golden: for every op, goldcase_<op>() (tests/golden/)
 * Each case returns its number of mismatches. An op with no case fails. */
#include "tests/testlib.h"
#include "tensor/rng.h"

#include <stdio.h>

#define X(name) int gradcase_##name(void) __attribute__((weak));
#include "autograd/ops.def"
#undef X
#define X(name) int goldcase_##name(void) __attribute__((weak));
#include "autograd/ops.def"
#undef X

typedef int (*CaseFn)(void);
static CaseFn grad_cases[] = {
#define X(name) gradcase_##name,
#include "autograd/ops.def"
#undef X
};
static CaseFn gold_cases[] = {
#define X(name) goldcase_##name,
#include "autograd/ops.def"
#undef X
};

static void run_case(CaseFn *table, int i, const char *kind) {
    ck_assert_msg(table[i], "op '%s' has no %s case", op_name(i), kind);
    test_seed(1234 + (uint64_t)i);
    rng_seed(42);
    nx_step_reset();
    int bad = table[i]();
    nx_step_reset();
    ck_assert_msg(bad == 0, "op '%s': %d %s mismatches", op_name(i), bad, kind);
}

START_TEST(test_grad) { run_case(grad_cases, _i, "gradcheck"); }
END_TEST

START_TEST(test_golden) { run_case(gold_cases, _i, "golden"); }
END_TEST

Suite *suite_ops_grad(void) {
    Suite *s = suite_create("ops_grad");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_grad, 0, OP_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

Suite *suite_ops_golden(void) {
    Suite *s = suite_create("ops_golden");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_golden, 0, OP_COUNT);
    suite_add_tcase(s, tc);
    return s;
}
