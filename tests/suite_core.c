/* suite_core.c: unit tests of the arena, parameter store, tape and error paths. */
#include "tests/testlib.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_arena_alignment_and_high_water) {
    Arena a;
    arena_init(&a, NX_CPU, 1024);
    char *p = arena_alloc(&a, 3), *q = arena_alloc(&a, 100);
    ck_assert_int_eq((uintptr_t)p % 64, 0);
    ck_assert_int_eq((uintptr_t)q % 64, 0);
    ck_assert_ptr_eq(q, p + 64);
    ck_assert_uint_eq(a.used, 64 + 128);
    arena_reset(&a);
    ck_assert_uint_eq(a.used, 0);
    ck_assert_uint_eq(a.high_water, 192);
    ck_assert_ptr_eq(arena_alloc(&a, 8), p); /* reset hands out the same memory again */
    arena_free(&a);
}
END_TEST

START_TEST(test_arena_grows_then_stops_allocating) {
    Arena a;
    arena_init(&a, NX_CPU, 256);
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < 10; i++) memset(arena_alloc(&a, 5 << 20), 1, 5 << 20); /* 50 MiB per step */
        int mallocs = a.n_mallocs;
        arena_reset(&a);
        if (step == 0) ck_assert_int_gt(mallocs, 1);
        if (step >= 1) ck_assert_int_eq(a.n_mallocs, mallocs); /* consolidated: no new allocation */
    }
    ck_assert_uint_ge(a.capacity, a.high_water);
    arena_free(&a);
}
END_TEST

START_TEST(test_params_blocks_and_freeze) {
    ParamStore s;
    params_init(&s, NX_CPU);
    Tensor *w = params_add(&s, "fc1.weight", 2, (int[]){3, 5}, false);
    Tensor *b = params_add(&s, "fc1.bias", 1, (int[]){3}, false);
    Tensor *w10 = params_add(&s, "fc10.weight", 1, (int[]){2}, false);
    Tensor *rm = params_add(&s, "bn.running_mean", 1, (int[]){4}, true);
    params_finalize(&s);
    ck_assert_ptr_eq(w->data, s.params);
    ck_assert_int_eq((uintptr_t)b->data % 64, 0);
    ck_assert_ptr_null(rm->grad);
    ck_assert_int_eq(params_count(&s, false), 15 + 3 + 2);
    ck_assert_int_eq(params_freeze(&s, "fc1", true), 2); /* not fc10 */
    ck_assert(!w->requires_grad && !b->requires_grad && w10->requires_grad);
    ck_assert_int_eq(params_count(&s, true), 2);
    ck_assert_ptr_eq(params_find(&s, "fc10.weight"), w10);
    ck_assert_ptr_null(params_find(&s, "nope"));
    params_free(&s);
}
END_TEST

START_TEST(test_tape_accumulates_reused_tensor) {
    /* y = relu(x) used twice through the tape: dx must be the sum of both paths. */
    nx_step_reset();
    Tensor *x = test_uniform4(1, 1, 2, 3, 0.5, 1); /* all positive: relu is identity */
    x->requires_grad = true;
    Tensor *a = nx_relu(x), *b = nx_relu(x);
    ck_assert_int_eq(tape_length(), 2);
    float ones[6] = {1, 1, 1, 1, 1, 1};
    /* seed both outputs: a's grad by hand, b's through backward_from */
    memcpy(tensor_grad(a), ones, sizeof ones);
    tape_backward_from(b, ones);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(x->grad[i], 2.0f);
    nx_step_reset();
    ck_assert_int_eq(tape_length(), 0);
}
END_TEST

START_TEST(test_no_grad_records_nothing) {
    nx_step_reset();
    Tensor *x = test_uniform4(1, 1, 2, 2, -1, 1);
    x->requires_grad = true;
    bool prev = nx_no_grad();
    Tensor *y = nx_relu(x);
    nx_set_grad(prev);
    ck_assert_int_eq(tape_length(), 0);
    ck_assert(!y->requires_grad);
    nx_step_reset();
}
END_TEST

START_TEST(test_device_parse_errors) {
    Device d;
    ck_assert_int_eq(device_parse("cpu", &d), 0);
    ck_assert_int_eq(d, NX_CPU);
    ck_assert_int_eq(device_parse("tpu", &d), -1);
    ck_assert(strstr(nx_error_msg(), "unknown device 'tpu'"));
    ck_assert_int_eq(device_parse("cuda:x", &d), -1);
#ifndef NX_WITH_CUDA
    ck_assert_int_eq(device_parse("cuda", &d), -1);
    ck_assert(strstr(nx_error_msg(), "without CUDA"));
#endif
}
END_TEST

Suite *suite_core(void) {
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_arena_alignment_and_high_water);
    tcase_add_test(tc, test_arena_grows_then_stops_allocating);
    tcase_add_test(tc, test_params_blocks_and_freeze);
    tcase_add_test(tc, test_tape_accumulates_reused_tensor);
    tcase_add_test(tc, test_no_grad_records_nothing);
    tcase_add_test(tc, test_device_parse_errors);
    suite_add_tcase(s, tc);
    return s;
}
