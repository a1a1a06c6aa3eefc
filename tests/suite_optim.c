/* suite_optim.c: optimizers and lr schedules against PyTorch 1.13
 * (tests/golden/gen_optim.py), plus groups, freezing, buffers, runs and
 * exact resume. Hyperparameters here repeat those of gen_optim.py. */
#include "tests/testlib.h"
#include "optim/optim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define STEPS 3
#define ATOL 1e-7
#define RTOL 1e-6

/* ---- golden runs: params p0, then for k = 1..3: grads g<k>, step, compare p<k> ---- */

typedef void (*Setup)(Optimizer *o);
typedef void (*BeforeStep)(ParamStore *s, int step);

static int run_golden(const char *file, const char *const *names, int n, Optimizer *(*make)(ParamStore *),
                      Setup setup, BeforeStep before) {
    char key[160];
    Golden *g = golden_load(file);
    ParamStore s;
    params_init(&s, NX_CPU);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s.p0", names[i]);
        Tensor *p0 = golden_get(g, key);
        params_add(&s, names[i], p0->ndim, p0->shape, false);
    }
    params_finalize(&s);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s.p0", names[i]);
        tensor_copy(s.t[i], golden_get(g, key));
    }
    Optimizer *o = make(&s);
    if (setup) setup(o);
    int bad = 0;
    for (int step = 1; step <= STEPS; step++) {
        for (int i = 0; i < n; i++) { /* every param gets its gradient, frozen ones too */
            snprintf(key, sizeof key, "%s.g%d", names[i], step);
            memcpy(s.t[i]->grad, golden_get(g, key)->data, tensor_bytes(s.t[i]));
        }
        if (before) before(&s, step);
        optim_step(o);
        for (int i = 0; i < n; i++) {
            snprintf(key, sizeof key, "%s.p%d", names[i], step);
            int b = golden_compare_buf(g, key, s.t[i]->data, s.t[i]->ndim, s.t[i]->shape, ATOL, RTOL);
            if (b) fprintf(stderr, "  %s: %s after step %d\n", file, names[i], step);
            bad += b;
        }
    }
    ck_assert_int_eq(o->steps, STEPS);
    optim_free(o);
    params_free(&s);
    golden_free(g);
    nx_step_reset();
    return bad;
}

static const char *const TWO[] = {"fc.weight", "fc.bias"};

static Optimizer *make_sgd(ParamStore *s) { return optim_sgd(s, (SgdConfig){.lr = 0.1}); }
static Optimizer *make_sgd_momentum_wd(ParamStore *s) {
    return optim_sgd(s, (SgdConfig){.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2});
}
static Optimizer *make_sgd_nesterov(ParamStore *s) {
    return optim_sgd(s, (SgdConfig){.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-3});
}
static Optimizer *make_sgd_dampening(ParamStore *s) {
    return optim_sgd(s, (SgdConfig){.lr = 0.05, .momentum = 0.8, .dampening = 0.3});
}
static Optimizer *make_adam(ParamStore *s) { return optim_adam(s, adam_defaults(1e-2)); }
static Optimizer *make_adam_wd(ParamStore *s) {
    return optim_adam(s, (AdamConfig){.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1});
}
static Optimizer *make_adamw(ParamStore *s) { return optim_adamw(s, adamw_defaults(1e-2)); }

START_TEST(test_sgd) { ck_assert_int_eq(run_golden("optim_sgd", TWO, 2, make_sgd, NULL, NULL), 0); }
END_TEST
START_TEST(test_sgd_momentum_wd) {
    ck_assert_int_eq(run_golden("optim_sgd_momentum_wd", TWO, 2, make_sgd_momentum_wd, NULL, NULL), 0);
}
END_TEST
START_TEST(test_sgd_nesterov) {
    ck_assert_int_eq(run_golden("optim_sgd_nesterov", TWO, 2, make_sgd_nesterov, NULL, NULL), 0);
}
END_TEST
START_TEST(test_sgd_dampening) {
    ck_assert_int_eq(run_golden("optim_sgd_dampening", TWO, 2, make_sgd_dampening, NULL, NULL), 0);
}
END_TEST
START_TEST(test_adam) { ck_assert_int_eq(run_golden("optim_adam", TWO, 2, make_adam, NULL, NULL), 0); }
END_TEST
START_TEST(test_adam_wd) { ck_assert_int_eq(run_golden("optim_adam_wd", TWO, 2, make_adam_wd, NULL, NULL), 0); }
END_TEST
START_TEST(test_adamw) { ck_assert_int_eq(run_golden("optim_adamw", TWO, 2, make_adamw, NULL, NULL), 0); }
END_TEST

/* fc.bias frozen during step 1: its bias correction must count from its own first update. */
static void freeze_bias_first_step(ParamStore *s, int step) { params_freeze(s, "fc.bias", step == 1); }
START_TEST(test_adam_late_unfreeze) {
    ck_assert_int_eq(run_golden("optim_adam_late", TWO, 2, make_adam, NULL, freeze_bias_first_step), 0);
}
END_TEST

/* ---- groups --------------------------------------------------------------- */

static const char *const GROUPED[] = {"body.0.weight", "body.0.bias", "frozen.weight",
                                      "head.weight",   "body.1.weight", "head.bias"};
static Optimizer *make_groups(ParamStore *s) {
    Optimizer *o = optim_sgd(s, (SgdConfig){.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3});
    OptimGroup *g = optim_add_group(o, "head, body.1", 0.01);
    ck_assert_msg(g, "%s", nx_error_msg());
    g->weight_decay = 0;
    params_freeze(s, "frozen", true);
    return o;
}

START_TEST(test_groups_and_frozen) {
    /* frozen.weight gets a gradient in every step and must stay at p0 (the golden p1..p3 equal p0) */
    ck_assert_int_eq(run_golden("optim_groups", GROUPED, 6, make_groups, NULL, NULL), 0);
}
END_TEST

static Optimizer *make_adamw_groups(ParamStore *s) {
    AdamConfig c = adamw_defaults(1e-2);
    c.weight_decay = 0.05;
    Optimizer *o = optim_adamw(s, c);
    OptimGroup *g = optim_add_group(o, "fc.bias", 3e-3);
    ck_assert_msg(g, "%s", nx_error_msg());
    g->weight_decay = 0.5;
    return o;
}
START_TEST(test_adamw_groups) {
    ck_assert_int_eq(run_golden("optim_adamw_groups", TWO, 2, make_adamw_groups, NULL, NULL), 0);
}
END_TEST

/* A small CPU store: a.w (5), a.b (3), buf (4, buffer), b.w (6), c.w (2); filled deterministically. */
static void small_store(ParamStore *s) {
    params_init(s, NX_CPU);
    params_add(s, "a.w", 1, (int[]){5}, false);
    params_add(s, "a.b", 1, (int[]){3}, false);
    params_add(s, "buf", 1, (int[]){4}, true);
    params_add(s, "b.w", 1, (int[]){6}, false);
    params_add(s, "c.w", 1, (int[]){2}, false);
    params_finalize(s);
    for (int i = 0; i < s->n; i++)
        for (int64_t k = 0; k < s->t[i]->numel; k++) s->t[i]->data[k] = 0.5f + 0.1f * (float)(i + k);
}

static void fill_grads(ParamStore *s, int step) {
    for (int i = 0; i < s->n; i++)
        if (s->t[i]->grad)
            for (int64_t k = 0; k < s->t[i]->numel; k++) s->t[i]->grad[k] = sinf((float)(1 + i + 7 * k + 13 * step));
}

START_TEST(test_buffers_never_move) {
    ParamStore s;
    small_store(&s);
    Tensor *buf = params_find(&s, "buf");
    float before[4];
    memcpy(before, buf->data, sizeof before);
    Optimizer *o = optim_adamw(&s, adamw_defaults(0.1)); /* decoupled decay would shrink anything it touched */
    for (int step = 1; step <= 3; step++) {
        fill_grads(&s, step);
        optim_step(o);
    }
    ck_assert_mem_eq(buf->data, before, sizeof before);
    ck_assert_int_eq(o->param_step[2], 0);
    ck_assert_int_eq(o->param_step[3], 3);
    optim_free(o);
    params_free(&s);
}
END_TEST

static int n_runs;
static int64_t run_len[NX_MAX_PARAMS];
static void (*real_run)(Optimizer *, const OptimGroup *, size_t, int64_t, int64_t);
static void counting_run(Optimizer *o, const OptimGroup *g, size_t offset, int64_t n, int64_t step) {
    run_len[n_runs++] = n;
    real_run(o, g, offset, n, step);
}

START_TEST(test_one_kernel_call_per_run) {
    ParamStore s;
    small_store(&s);
    Optimizer *o = optim_sgd(&s, (SgdConfig){.lr = 0.1, .momentum = 0.9});
    real_run = o->run;
    o->run = counting_run;
    n_runs = 0;
    optim_step(o); /* a.w a.b | buf | b.w c.w: the buffer splits the store in two runs */
    ck_assert_int_eq(n_runs, 2);
    ck_assert_int_eq(run_len[0], 16 + 3); /* a.w padded to 16 floats, then a.b */
    ck_assert_int_eq(run_len[1], 16 + 2);
    ck_assert(optim_add_group(o, "c", 0.2));
    params_freeze(&s, "a.b", true);
    n_runs = 0;
    optim_step(o); /* a.w | b.w | c.w (own group) */
    ck_assert_int_eq(n_runs, 3);
    params_freeze(&s, "a.b", false);
    n_runs = 0;
    optim_step(o); /* a.w (step 3) | a.b (step 1) | b.w | c.w */
    ck_assert_int_eq(n_runs, 4);
    ck_assert_int_eq(o->param_step[0], 3);
    ck_assert_int_eq(o->param_step[1], 2);
    optim_free(o);
    params_free(&s);
}
END_TEST

START_TEST(test_group_rules_and_lr) {
    ParamStore s;
    params_init(&s, NX_CPU);
    params_add(&s, "fc1.weight", 1, (int[]){2}, false);
    params_add(&s, "fc10.weight", 1, (int[]){2}, false);
    params_add(&s, "fc2.weight", 1, (int[]){2}, false);
    params_add(&s, "bn.running_mean", 1, (int[]){2}, true);
    params_finalize(&s);
    Optimizer *o = optim_sgd(&s, (SgdConfig){.lr = 0.1, .weight_decay = 5e-4});
    ck_assert_ptr_null(optim_add_group(o, "fc3", 0.01));
    ck_assert(strstr(nx_error_msg(), "no parameter"));
    ck_assert_ptr_null(optim_add_group(o, "bn", 0.01)); /* buffers are never in a group */
    OptimGroup *g1 = optim_add_group(o, "fc1,fc2", 0.02);
    ck_assert_ptr_nonnull(g1);
    ck_assert_double_eq(g1->weight_decay, 5e-4);
    ck_assert_int_eq(optim_group_of(o, 0), 1);
    ck_assert_int_eq(optim_group_of(o, 1), 0); /* fc1 does not match fc10 */
    ck_assert_int_eq(optim_group_of(o, 2), 1);
    ck_assert_ptr_null(optim_add_group(o, "fc10, fc2.weight", 0.5));
    ck_assert(strstr(nx_error_msg(), "'fc2.weight' already belongs to group 'fc1,fc2'"));
    ck_assert_int_eq(o->n_groups, 2);
    optim_set_lr(o, 0.05);
    ck_assert_double_eq_tol(optim_lr(o), 0.05, 1e-15);
    ck_assert_double_eq_tol(o->group[1].lr, 0.01, 1e-15); /* keeps its 1:5 ratio */
    optim_schedule(o, &(LrSchedule){.kind = LR_STEP, .step_size = 2, .gamma = 0.5}, 4);
    ck_assert_double_eq_tol(o->group[0].lr, 0.025, 1e-15); /* from the base lr, not the current one */
    ck_assert_double_eq_tol(o->group[1].lr, 0.005, 1e-15);
    ck_assert_int_eq(optim_state_slots(o), 0);
    optim_free(o);
    params_free(&s);
}
END_TEST

/* ---- exact resume ----------------------------------------------------------- */

START_TEST(test_resume_is_exact) {
    ParamStore a, b, c;
    small_store(&a), small_store(&b), small_store(&c);
    Optimizer *oa = optim_adam(&a, adam_defaults(1e-2)), *ob = optim_adam(&b, adam_defaults(1e-2));
    for (int step = 1; step <= 4; step++) { /* a: 4 steps; b: 2 steps; a.b frozen in step 1 */
        params_freeze(&a, "a.b", step == 1), params_freeze(&b, "a.b", step == 1);
        fill_grads(&a, step), fill_grads(&b, step);
        optim_step(oa);
        if (step <= 2) optim_step(ob);
    }
    /* save b into c: params, state blocks, step counts */
    Optimizer *oc = optim_adam(&c, adam_defaults(1e-2));
    size_t bytes = b.total * sizeof(float);
    memcpy(c.params, b.params, bytes);
    for (int k = 0; k < optim_state_slots(ob); k++) memcpy(params_state(&c, k), params_state(&b, k), bytes);
    oc->steps = ob->steps;
    memcpy(oc->param_step, ob->param_step, sizeof ob->param_step);
    for (int step = 3; step <= 4; step++) {
        fill_grads(&c, step);
        optim_step(oc);
    }
    ck_assert_mem_eq(c.params, a.params, bytes);
    ck_assert_mem_eq(params_state(&c, 1), params_state(&a, 1), bytes);
    ck_assert_int_eq(oc->steps, 4);
    ck_assert_int_eq(oc->param_step[1], 3);
    optim_free(oa), optim_free(ob), optim_free(oc);
    params_free(&a), params_free(&b), params_free(&c);
}
END_TEST

/* ---- schedules -------------------------------------------------------------- */

START_TEST(test_schedules_golden) {
    Golden *g = golden_load("optim_schedules");
    ParamStore s;
    params_init(&s, NX_CPU);
    params_add(&s, "a.w", 1, (int[]){1}, false);
    params_add(&s, "b.w", 1, (int[]){1}, false);
    params_finalize(&s);
    Optimizer *o = optim_sgd(&s, (SgdConfig){.lr = 0.1});
    ck_assert(optim_add_group(o, "b", 0.05));
    const LrSchedule step = {.kind = LR_STEP, .step_size = 5, .gamma = 0.1};
    const LrSchedule cosine = {.kind = LR_COSINE, .t_max = 10, .eta_min = 1e-3};
    const LrSchedule *sched[2] = {&step, &cosine};
    const char *keys[2] = {"step", "cosine"};
    for (int k = 0; k < 2; k++) {
        float got[2 * 12]; /* (groups, epochs) */
        for (int epoch = 0; epoch < 12; epoch++) {
            optim_schedule(o, sched[k], epoch);
            for (int grp = 0; grp < 2; grp++) got[grp * 12 + epoch] = (float)o->group[grp].lr;
        }
        ck_assert_int_eq(golden_compare_buf(g, keys[k], got, 2, (int[]){2, 12}, 0, 1e-6), 0);
    }
    ck_assert_double_eq_tol(lr_step(0.1, 4, 5, 0.1), 0.1, 1e-15);
    ck_assert_double_eq_tol(lr_step(0.1, 10, 5, 0.1), 1e-3, 1e-15);
    ck_assert_double_eq_tol(lr_cosine(0.1, 5, 10, 0), 0.05, 1e-15);
    ck_assert_double_eq_tol(lr_cosine(0.1, 10, 10, 1e-3), 1e-3, 1e-15);
    optim_free(o);
    params_free(&s);
    golden_free(g);
    nx_step_reset();
}
END_TEST

START_TEST(test_schedule_parse) {
    LrSchedule s;
    ck_assert_int_eq(lr_schedule_parse("step:30:0.1", &s), 0);
    ck_assert(s.kind == LR_STEP && s.step_size == 30 && s.gamma == 0.1);
    ck_assert_int_eq(lr_schedule_parse("cosine:200", &s), 0);
    ck_assert(s.kind == LR_COSINE && s.t_max == 200 && s.eta_min == 0);
    ck_assert_int_eq(lr_schedule_parse("cosine:200:1e-5", &s), 0);
    ck_assert(s.eta_min == 1e-5);
    ck_assert_int_eq(lr_schedule_parse("constant", &s), 0);
    ck_assert(s.kind == LR_CONSTANT && lr_schedule_at(&s, 0.3, 99) == 0.3);
    const char *bad[] = {"step:30", "step:0:0.1", "step:x:0.1", "cosine:", "cosine:10:-1", "cosine:10x", "linear"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(lr_schedule_parse(bad[i], &s), -1);
        ck_assert(strstr(nx_error_msg(), bad[i]));
    }
}
END_TEST

Suite *suite_optim(void) {
    Suite *s = suite_create("optim");
    TCase *golden = tcase_create("golden");
    tcase_add_test(golden, test_sgd);
    tcase_add_test(golden, test_sgd_momentum_wd);
    tcase_add_test(golden, test_sgd_nesterov);
    tcase_add_test(golden, test_sgd_dampening);
    tcase_add_test(golden, test_adam);
    tcase_add_test(golden, test_adam_wd);
    tcase_add_test(golden, test_adamw);
    tcase_add_test(golden, test_adam_late_unfreeze);
    tcase_add_test(golden, test_groups_and_frozen);
    tcase_add_test(golden, test_adamw_groups);
    tcase_add_test(golden, test_schedules_golden);
    suite_add_tcase(s, golden);
    TCase *unit = tcase_create("unit");
    tcase_add_test(unit, test_buffers_never_move);
    tcase_add_test(unit, test_one_kernel_call_per_run);
    tcase_add_test(unit, test_group_rules_and_lr);
    tcase_add_test(unit, test_resume_is_exact);
    tcase_add_test(unit, test_schedule_parse);
    suite_add_tcase(s, unit);
    return s;
}
