/* suite_library.c: training and evaluation from C, without the command line
 * (layers/train.h, eval/accuracy.h), as a researcher would call them.
 *
 * LeNet5 on the first 300 Fashion-MNIST training images (Debian's
 * /usr/share/datasets/fashion-mnist, or NX_FASHION_MNIST; when it is absent
 * those tests are not registered but listed as skipped), 3 epochs of batch 50, Adam: the epoch loss
 * falls, the test accuracy on 500 images is well above chance (10%), the
 * checkpoint written loads back with the same accuracy, the same seed gives
 * the same parameters bit for bit and another seed other parameters, and a
 * stop request ends the run after the step that saw it.
 *
 * Also the pieces the commands share: the option parsers (optim_kind_parse,
 * lr_schedule_parse_or, nice/names.c) and the one checkpoint loader
 * (safetensors_read_params) as NICE files use it: an F16 copy of the
 * shipped NICE file loads (widened exactly), a NaN in it is refused naming
 * the key, and a missing tensor is named with its prefix.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "eval/accuracy.h"
#include "layers/checkpoint.h"
#include "layers/train.h"
#include "nice/checkpoint.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"
#include "tests/testlib.h"

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
#define SHIPPED_NICE NX_MODELS_DIR "/nice-lenet5-fashion-mnist.safetensors"

enum { EPOCHS = 3, TRAIN_N = 300, TEST_N = 500 };

typedef struct {
    double loss[EPOCHS], test_acc[EPOCHS];
    int epochs_seen, starts;
} Log;

static void on_event(void *ctx, const TrainEvent *e) {
    Log *l = ctx;
    if (e->kind == TRAIN_EV_START) l->starts++;
    if (e->kind != TRAIN_EV_EPOCH) return;
    ck_assert_int_lt(e->epoch, EPOCHS);
    l->loss[e->epoch] = e->train_loss, l->test_acc[e->epoch] = e->test.accuracy;
    l->epochs_seen++;
}

/* Open Fashion-MNIST (train: the first TRAIN_N, test: the first TEST_N).
 * The tests that call it are registered only when it is there (see the
 * suite below), so a failure to open is a failure. */
static void open_data(Dataset *train, Dataset *test) {
    ck_assert_msg(dataset_open(train, test_fashion_mnist_spec(), DATA_TRAIN, 0, 0) == 0, "%s", nx_error_msg());
    ck_assert_msg(dataset_open(test, test_fashion_mnist_spec(), DATA_TEST, 0, 0) == 0, "%s", nx_error_msg());
    if (test->n > TEST_N) test->n = TEST_N;
}

static TrainConfig config(uint64_t seed, Log *log) {
    TrainConfig c = train_config_default();
    c.epochs = EPOCHS, c.batch = 50, c.limit = TRAIN_N, c.seed = seed, c.quiet = true;
    c.on_event = on_event, c.ctx = log;
    return c;
}

/* LeNet5 initialised from seed, trained with c: returns its parameters (host copy). */
static float *train_once(uint64_t seed, const TrainConfig *c, const Dataset *train, const Dataset *test,
                         TrainResult *r, size_t *n_floats) {
    rng_seed(seed);
    Model m;
    ck_assert(model_create(&m, "lenet5", 10, 1, 28, NX_CPU) == 0);
    ck_assert_int_eq(train_classifier(&m, train, test, c, r), TRAIN_OK);
    *n_floats = m.params.total;
    float *p = nx_malloc(sizeof(float) * m.params.total);
    memcpy(p, m.params.params, sizeof(float) * m.params.total);
    model_free(&m);
    nx_step_reset();
    return p;
}

START_TEST(test_train_then_evaluate) {
    Dataset train, test;
    open_data(&train, &test);
    char dir[] = "/tmp/nicex-library-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char out[64], state[72];
    snprintf(out, sizeof out, "%s/lenet5.safetensors", dir);
    snprintf(state, sizeof state, "%s.state", out);

    Log log = {0};
    TrainConfig c = config(0, &log);
    c.out = out, c.dataset_name = "fashion-mnist";
    rng_seed(0);
    Model m;
    ck_assert(model_create(&m, "lenet5", 10, 1, 28, NX_CPU) == 0);
    TrainResult r;
    ck_assert_msg(train_classifier(&m, &train, &test, &c, &r) == TRAIN_OK, "%s", nx_error_msg());
    ck_assert_int_eq(log.starts, 1);
    ck_assert_int_eq(log.epochs_seen, EPOCHS);
    ck_assert_int_eq(r.epochs_done, EPOCHS);
    printf("  library training: epoch losses %.4f %.4f %.4f, test accuracy %.4f\n", log.loss[0], log.loss[1],
           log.loss[2], r.test.accuracy);
    /* the first epoch starts at ln(10) = 2.30 (a uniform guess) and falls */
    ck_assert(log.loss[0] < 2.35 && isfinite(log.loss[2]));
    ck_assert_msg(log.loss[2] < log.loss[0] - 0.3, "loss %g -> %g", log.loss[0], log.loss[2]);
    ck_assert_double_eq(r.train_loss, log.loss[2]);

    EvalResult ev = eval_classifier(&m, &test, 250, NULL, NULL);
    ck_assert_int_eq(ev.n, TEST_N);
    ck_assert_msg(ev.accuracy > 0.4, "test accuracy %g: not above chance (0.1)", ev.accuracy);
    ck_assert_double_eq(ev.accuracy, r.test.accuracy); /* the loop's evaluation is this one */
    ck_assert_double_eq(ev.accuracy, log.test_acc[EPOCHS - 1]);

    /* the checkpoint written after the last epoch is this model */
    Model back;
    ck_assert_msg(model_load(&back, out, NULL, 10, 1, 28, NX_CPU) == 0, "%s", nx_error_msg());
    ck_assert_int_eq(back.params.total, m.params.total);
    ck_assert(memcmp(back.params.params, m.params.params, sizeof(float) * m.params.total) == 0);
    EvalResult ev2 = eval_classifier(&back, &test, 500, NULL, NULL);
    ck_assert_double_eq(ev2.accuracy, ev.accuracy);
    model_free(&back);
    model_free(&m);
    nx_step_reset();
    unlink(out), unlink(state), rmdir(dir);
    dataset_free(&train);
    dataset_free(&test);
}
END_TEST

START_TEST(test_same_seed_same_params) {
    Dataset train, test;
    open_data(&train, &test);
    test.n = 100; /* the evaluation is not what this test is about */
    Log la = {0}, lb = {0}, lc = {0};
    TrainConfig ca = config(5, &la), cb = config(5, &lb), cc = config(6, &lc);
    TrainResult ra, rb, rc;
    size_t na, nb, nc;
    float *pa = train_once(5, &ca, &train, &test, &ra, &na);
    float *pb = train_once(5, &cb, &train, &test, &rb, &nb);
    float *pc = train_once(6, &cc, &train, &test, &rc, &nc);
    ck_assert(na == nb && nb == nc);
    ck_assert_msg(memcmp(pa, pb, sizeof(float) * na) == 0, "two runs with seed 5 differ");
    ck_assert_double_eq(ra.train_loss, rb.train_loss);
    size_t differ = 0;
    for (size_t i = 0; i < na; i++) differ += pa[i] != pc[i];
    ck_assert_msg(differ > na / 2, "seeds 5 and 6 give %zu different floats of %zu", differ, na);
    free(pa), free(pb), free(pc);
    dataset_free(&train);
    dataset_free(&test);
}
END_TEST

START_TEST(test_stop_request) {
    Dataset train, test;
    open_data(&train, &test);
    Log log = {0};
    TrainConfig c = config(0, &log);
    volatile sig_atomic_t stop = 15; /* as if SIGTERM had arrived: the run ends after its first step */
    c.stop = &stop;
    rng_seed(0);
    Model m;
    ck_assert(model_create(&m, "lenet5", 10, 1, 28, NX_CPU) == 0);
    TrainResult r;
    ck_assert_int_eq(train_classifier(&m, &train, &test, &c, &r), TRAIN_STOPPED);
    ck_assert_int_eq(r.signal, 15);
    ck_assert_int_eq(r.stop_step, 1);
    ck_assert_int_eq(r.stop_batch, 1);
    ck_assert_int_eq(r.stop_epoch, 0);
    ck_assert_int_eq(log.epochs_seen, 0);
    model_free(&m);
    nx_step_reset();
    dataset_free(&train);
    dataset_free(&test);
}
END_TEST

START_TEST(test_option_parsers) {
    OptimKind k;
    const char *names[] = {"sgd", "adam", "adamw"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(optim_kind_parse(names[i], &k), 0);
        ck_assert_str_eq(optim_kind_name(k), names[i]);
    }
    ck_assert_int_eq(optim_kind_parse("Adam", &k), -1);
    ck_assert_str_eq(nx_error_msg(), "unknown optimizer 'Adam' (sgd, adam, adamw)");

    LrSchedule s;
    ck_assert_int_eq(lr_schedule_parse_or("step", 7, 0.1f, 30, &s), 0);
    ck_assert(s.kind == LR_STEP && s.step_size == 7 && s.gamma == 0.1); /* the decimal typed, not 0.1f */
    ck_assert_int_eq(lr_schedule_parse_or("cosine", 7, 0.1f, 30, &s), 0);
    ck_assert(s.kind == LR_COSINE && s.t_max == 30 && s.eta_min == 0);
    ck_assert_int_eq(lr_schedule_parse_or("cosine:12:0.5", 7, 0.1f, 30, &s), 0);
    ck_assert(s.kind == LR_COSINE && s.t_max == 12 && s.eta_min == 0.5);
    ck_assert_int_eq(lr_schedule_parse_or("constant", 7, 0.1f, 30, &s), 0);
    ck_assert(s.kind == LR_CONSTANT);
    ck_assert_int_eq(lr_schedule_parse_or("step:0:0.1", 7, 0.1f, 30, &s), -1);
    ck_assert_int_eq(lr_schedule_parse_or("steps", 7, 0.1f, 30, &s), -1);

    NiceBackground bg;
    NiceTestMask tm;
    NiceNorm nn;
    ck_assert(nice_background_parse("zero", &bg) == 0 && bg == NICE_BG_ZERO);
    ck_assert_str_eq(nice_background_name(bg), "zero");
    ck_assert(nice_background_parse("blocks", &bg) == 0 && bg == NICE_BG_BLOCKS);
    ck_assert_int_eq(nice_background_parse("black", &bg), -1);
    ck_assert_str_eq(nx_error_msg(), "'black' is not blocks or zero");
    ck_assert(nice_test_mask_parse("l0", &tm) == 0 && tm == NICE_TEST_L0);
    ck_assert_str_eq(nice_test_mask_name(tm), "l0");
    ck_assert_int_eq(nice_test_mask_parse("L0", &tm), -1);
    ck_assert_str_eq(nx_error_msg(), "'L0' is not paper or l0");
    ck_assert(nice_capacity_norm_parse("dataset", &nn) == 0 && nn == NICE_NORM_DATASET);
    ck_assert_str_eq(nice_norm_name(nn), "dataset");
    ck_assert_int_eq(nice_capacity_norm_parse("max", &nn), -1);
    ck_assert_str_eq(nx_error_msg(), "'max' is not mean, sum or dataset");
    ck_assert(nice_smooth_norm_parse("mean", &nn) == 0 && nn == NICE_NORM_MEAN);
    ck_assert_int_eq(nice_smooth_norm_parse("dataset", &nn), -1); /* L_S has no dataset form */
    ck_assert_str_eq(nx_error_msg(), "'dataset' is not sum or mean");
}
END_TEST

/* Rewrite the NICE file src as dst with every float tensor F16 (or, with
 * nan_key, that tensor's element 0 set to NaN, F32), the metadata kept;
 * drop: a key left out. */
static void rewrite_nice(const char *src, const char *dst, bool f16, const char *nan_key, const char *drop) {
    SafetensorsFile sf;
    ck_assert_msg(safetensors_open(&sf, src) == 0, "%s", nx_error_msg());
    const char **names = nx_calloc((size_t)sf.n, sizeof *names);
    const Tensor **ts = nx_calloc((size_t)sf.n, sizeof *ts);
    float **data = nx_calloc((size_t)sf.n, sizeof *data);
    int n = 0;
    for (int i = 0; i < sf.n; i++) {
        const StTensorInfo *ti = &sf.t[i];
        ck_assert_str_eq(ti->dtype, "F32");
        if (drop && strcmp(ti->name, drop) == 0) continue;
        data[n] = nx_malloc((size_t)(ti->end - ti->begin) + 4);
        ck_assert(safetensors_read_raw(&sf, ti, data[n]) == 0);
        if (nan_key && strcmp(ti->name, nan_key) == 0) data[n][0] = NAN;
        int shape[ST_MAX_DIMS], nd = ti->ndim ? ti->ndim : 1;
        for (int d = 0; d < nd; d++) shape[d] = ti->ndim ? (int)ti->shape[d] : 1;
        names[n] = ti->name;
        ts[n] = tensor_wrap(NX_CPU, NX_F32, data[n], nd, shape);
        n++;
    }
    const char **meta = nx_calloc((size_t)2 * sf.n_meta + 2, sizeof *meta);
    for (int i = 0; i < sf.n_meta; i++) meta[2 * i] = sf.meta_key[i], meta[2 * i + 1] = sf.meta_val[i];
    ck_assert_msg(safetensors_save_as(dst, n, names, ts, sf.n_meta, meta, f16 ? ST_SAVE_F16 : ST_SAVE_F32) == 0, "%s",
                  nx_error_msg());
    for (int i = 0; i < n; i++) free(data[i]);
    free(data), free(ts), free(names), free(meta);
    safetensors_close(&sf);
    nx_step_reset();
}

START_TEST(test_nice_file_loader) {
    char dir[] = "/tmp/nicex-library-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char half[64], broken[64], partial[64];
    snprintf(half, sizeof half, "%s/half.safetensors", dir);
    snprintf(broken, sizeof broken, "%s/nan.safetensors", dir);
    snprintf(partial, sizeof partial, "%s/partial.safetensors", dir);
    Generator g, g2;
    Model m, m2;
    NiceConfig c, c2;
    ck_assert_msg(nice_load(SHIPPED_NICE, &g, &m, &c, NX_CPU) == 0, "%s", nx_error_msg());

    rewrite_nice(SHIPPED_NICE, half, true, NULL, NULL);
    ck_assert_msg(nice_load(half, &g2, &m2, &c2, NX_CPU) == 0, "%s", nx_error_msg());
    ck_assert_int_eq(c2.block, c.block);
    ck_assert(c2.hc.beta == c.hc.beta && c2.background == c.background && c2.hc.test_mask == c.hc.test_mask);
    ck_assert_int_eq(g2.params.total, g.params.total);
    size_t changed = 0;
    for (int s = 0; s < 2; s++) {
        const ParamStore *a = s ? &m.params : &g.params, *b = s ? &m2.params : &g2.params;
        for (size_t i = 0; i < a->total; i++) {
            float want = st_f16_to_f32(st_f32_to_f16(a->params[i]));
            ck_assert_msg(b->params[i] == want, "float %zu: %g, expected %g", i, (double)b->params[i], (double)want);
            changed += b->params[i] != a->params[i];
        }
    }
    ck_assert_msg(changed > 0, "the F16 copy is not narrower: the test would not see a missing widening");
    generator_free(&g2), model_free(&m2);

    rewrite_nice(SHIPPED_NICE, broken, false, "generator.conv1.weight", NULL);
    ck_assert_int_eq(nice_load(broken, &g2, &m2, &c2, NX_CPU), -1);
    ck_assert_msg(strstr(nx_error_msg(), "'generator.conv1.weight' holds nan at element 0") != NULL, "%s",
                  nx_error_msg());

    rewrite_nice(SHIPPED_NICE, partial, false, NULL, "classifier.fc2.bias");
    ck_assert_int_eq(nice_load(partial, &g2, &m2, &c2, NX_CPU), -1);
    ck_assert_msg(strstr(nx_error_msg(), "key 'classifier.fc2.bias' is missing from the file") != NULL, "%s",
                  nx_error_msg());

    generator_free(&g), model_free(&m);
    unlink(half), unlink(broken), unlink(partial), rmdir(dir);
}
END_TEST

/* A NICE file keeps the classifier's input normalisation: a classifier
 * trained with --normalize (VGG11 on CIFAR-10, ResNet18 on Imagenette) must
 * see the same (x - mean) / std after nice_load, or every accuracy measured
 * through the NICE file (nice compress, nice explain) is of another model. */
START_TEST(test_nice_file_keeps_normalisation) {
    char dir[] = "/tmp/nicex-library-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/norm.safetensors", dir);
    Generator g, g2;
    Model m, m2;
    NiceConfig c, c2;
    ck_assert_msg(nice_load(SHIPPED_NICE, &g, &m, &c, NX_CPU) == 0, "%s", nx_error_msg());
    ck_assert(!m.normalize);
    const float mean[1] = {0.2860f}, std[1] = {0.3530f};
    ck_assert_int_eq(model_set_normalize(&m, mean, std), 0);
    ck_assert_msg(nice_save(path, &g, &m, &c, "fashion-mnist") == 0, "%s", nx_error_msg());
    ck_assert_msg(nice_load(path, &g2, &m2, &c2, NX_CPU) == 0, "%s", nx_error_msg());
    ck_assert(m2.normalize);
    ck_assert(m2.norm_mean[0] == mean[0] && m2.norm_std[0] == std[0]);
    /* the same logits as the classifier that was saved */
    nx_step_reset();
    rng_seed(3);
    Tensor *x = tensor_new4(NX_CPU, 2, 1, 28, 28);
    for (int64_t i = 0; i < x->numel; i++) ((float *)x->data)[i] = rng_uniform();
    bool prev = nx_no_grad();
    float *a = tensor_to_host(model_forward(&m, x)), *b = tensor_to_host(model_forward(&m2, x));
    for (int i = 0; i < 2 * m.n_classes; i++) ck_assert_msg(a[i] == b[i], "logit %d: %g vs %g", i, (double)a[i], (double)b[i]);
    free(a), free(b);
    nx_set_grad(prev);
    nx_step_reset();
    generator_free(&g), model_free(&m), generator_free(&g2), model_free(&m2);
    unlink(path), rmdir(dir);
}
END_TEST

Suite *suite_library(void) {
    Suite *s = suite_create("library");
    TCase *tc = tcase_create("library");
    tcase_set_timeout(tc, 300);
    bool fm = test_have_fashion_mnist();
    TCASE_ADD_TEST_IF(tc, test_train_then_evaluate, fm, "Fashion-MNIST not in %s", test_fashion_mnist_dir());
    TCASE_ADD_TEST_IF(tc, test_same_seed_same_params, fm, "Fashion-MNIST not in %s", test_fashion_mnist_dir());
    TCASE_ADD_TEST_IF(tc, test_stop_request, fm, "Fashion-MNIST not in %s", test_fashion_mnist_dir());
    tcase_add_test(tc, test_option_parsers);
    tcase_add_test(tc, test_nice_file_loader);
    tcase_add_test(tc, test_nice_file_keeps_normalisation);
    suite_add_tcase(s, tc);
    return s;
}
