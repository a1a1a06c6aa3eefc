/* suite_library.c: training and evaluation from C, without the command line
 * (layers/train.h, eval/accuracy.h), as a researcher would call them.
 *
 * LeNet5 on the first 300 Fashion-MNIST training images (Debian's
 * /usr/share/datasets/fashion-mnist; the tests print "skipped" and assert
 * nothing when it is absent), 3 epochs of batch 50, Adam: the epoch loss
 * falls, the test accuracy on 500 images is well above chance (10%), the
 * checkpoint written loads back with the same accuracy, the same seed gives
 * the same parameters bit for bit and another seed other parameters, and a
 * stop request ends the run after the step that saw it.
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
#include "tensor/rng.h"

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

/* Open Fashion-MNIST (train: the first TRAIN_N, test: the first TEST_N), or say skipped. */
static bool open_data(Dataset *train, Dataset *test) {
    struct stat st;
    if (stat(DATASET_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", &st) != 0) {
        printf("  skipped: needs Fashion-MNIST in %s (Debian's fashion-mnist package)\n", DATASET_FASHION_MNIST_DIR);
        return false;
    }
    ck_assert_msg(dataset_open(train, "fashion-mnist", DATA_TRAIN, 0, 0) == 0, "%s", nx_error_msg());
    ck_assert_msg(dataset_open(test, "fashion-mnist", DATA_TEST, 0, 0) == 0, "%s", nx_error_msg());
    if (test->n > TEST_N) test->n = TEST_N;
    return true;
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
    if (!open_data(&train, &test)) return;
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
    if (!open_data(&train, &test)) return;
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
    if (!open_data(&train, &test)) return;
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

Suite *suite_library(void) {
    Suite *s = suite_create("library");
    TCase *tc = tcase_create("library");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_train_then_evaluate);
    tcase_add_test(tc, test_same_seed_same_params);
    tcase_add_test(tc, test_stop_request);
    suite_add_tcase(s, tc);
    return s;
}
