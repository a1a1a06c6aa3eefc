/* suite_models.c: whole models against PyTorch (tests/golden/gen_models.py).
 *
 * Weights and inputs come from the same integer hash on both sides
 * (hash_fill), so the golden files hold only results: logits, loss, every
 * parameter gradient (whole or as sum / sum of squares / 64 samples), the
 * batchnorm running statistics after a training forward, eval-mode logits,
 * and the losses of 5 SGD and 5 Adam steps. The input is the one the file's
 * "input_seed" names: the generator keeps the first input whose gradients
 * are well-conditioned (no ReLU or max-pool decision within rounding of
 * flipping; gen_models.py explains).
 */
#include "tests/testlib.h"
#include "layers/model.h"
#include "layers/checkpoint.h"
#include "optim/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t name_seed(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

static double hash_unit(uint32_t seed, uint64_t i) {
    uint32_t x = (uint32_t)(i * 0x9E3779B1u) + seed;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return (double)(x >> 8) / 16777216.0;
}

/* Mirrors gen_models.py: hash_fill. */
static void hash_fill(Tensor *t, const char *name) {
    const char *leaf = strrchr(name, '.') ? strrchr(name, '.') + 1 : name;
    uint32_t seed = name_seed(name);
    float *h = nx_malloc(tensor_bytes(t));
    for (int64_t i = 0; i < t->numel; i++) {
        double u = hash_unit(seed, (uint64_t)i), v;
        if (strcmp(leaf, "weight") == 0 && t->ndim > 1) v = (2 * u - 1) / sqrt((double)(t->numel / t->shape[0]));
        else if (strcmp(leaf, "weight") == 0) v = 1 + 0.2 * (2 * u - 1);
        else if (strcmp(leaf, "running_var") == 0) v = 0.5 + u;
        else v = 0.1 * (2 * u - 1);
        h[i] = (float)v;
    }
    device_memcpy(t->device, t->data, NX_CPU, h, tensor_bytes(t));
    free(h);
}

static void fill_model(Model *m) {
    for (int i = 0; i < m->params.n; i++) hash_fill(m->params.t[i], m->params.t[i]->name);
}

/* Input number k: "input", "input.1", ... (mirrors gen_models.py: make_input). */
static Tensor *make_input(int k, int n, int c, int hw) {
    Tensor *x = tensor_new4(NX_CPU, n, c, hw, hw);
    char name[32];
    if (k == 0) snprintf(name, sizeof name, "input");
    else snprintf(name, sizeof name, "input.%d", k);
    uint32_t seed = name_seed(name);
    for (int64_t i = 0; i < x->numel; i++) x->data[i] = (float)hash_unit(seed, (uint64_t)i);
    return x;
}

static int input_seed(Golden *g) { return golden_get(g, "input_seed")->idata[0]; /* a step tensor */ }

static Tensor *make_targets(int n) {
    Tensor *y = tensor_newv(NX_CPU, NX_I32, 1, n);
    for (int i = 0; i < n; i++) y->idata[i] = i % 10;
    return y;
}

/* Compare a tensor (its grad or its data) with a whole or summarised record. */
static int compare_summary(Golden *g, const char *prefix, Tensor *t, const float *vals, double rtol) {
    char key[256];
    snprintf(key, sizeof key, "%s%s", prefix, t->name);
    if (golden_has(g, key)) return golden_compare_buf(g, key, vals, t->ndim, t->shape, rtol * 0.1, rtol);
    snprintf(key, sizeof key, "%s%s:stats", prefix, t->name);
    Tensor *stats = golden_get(g, key);
    snprintf(key, sizeof key, "%s%s:idx", prefix, t->name);
    Tensor *idx = golden_get(g, key);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < t->numel; i++) s += vals[i], ss += (double)vals[i] * vals[i];
    int bad = 0;
    double scale = sqrt(stats->data[1] / (double)t->numel) * sqrt((double)t->numel); /* |t|_2 */
    if (fabs(s - stats->data[0]) > rtol * scale + 1e-6) {
        fprintf(stderr, "%s%s: sum %.8g, PyTorch %.8g\n", prefix, t->name, s, stats->data[0]);
        bad++;
    }
    if (fabs(ss - stats->data[1]) > rtol * stats->data[1] + 1e-9) {
        fprintf(stderr, "%s%s: sum of squares %.8g, PyTorch %.8g\n", prefix, t->name, ss, stats->data[1]);
        bad++;
    }
    float sampled[64];
    for (int64_t k = 0; k < idx->numel && k < 64; k++) sampled[k] = vals[idx->idata[k]];
    snprintf(key, sizeof key, "%s%s:val", prefix, t->name);
    double rms = sqrt(stats->data[1] / (double)t->numel);
    bad += golden_compare_buf(g, key, sampled, 1, (int[]){(int)idx->numel}, rtol * rms + 1e-7, rtol);
    return bad;
}

/* rtol: logits, loss and (x5) gradients. loss_rtol: the losses of the 5 SGD and
 * 5 Adam steps, each checked against its own step's loss,
 *     |got - PyTorch| <= loss_rtol * |PyTorch| + LOSS_ATOL,
 * since the losses fall from ~2.3 to ~1e-4 (ResNet18) in 5 steps: an
 * absolute tolerance fit for the first step would pass anything at the last.
 * Measured worst relative errors (this machine, golden data of b980ed7):
 * LeNet5 SGD 0, Adam 1.1e-7; VGG11 SGD 1.8e-5, Adam 9.3e-3 (step 4; Adam
 * divides each gradient by its running RMS, so rounding-level differences
 * in the small gradients of a network at ~0.04 loss become visible step
 * differences); ResNet18 SGD 3.0e-4, Adam 4.9e-4. The tolerances leave 2-10x. */
typedef struct {
    const char *arch, *file;
    int n, c, hw;
    double rtol;
    double loss_rtol[2]; /* SGD, Adam */
} ModelCase;

static const ModelCase cases[] = {
    {"lenet5", "model_lenet5", 4, 1, 28, 2e-4, {1e-6, 1e-6}},
    {"vgg11", "model_vgg11", 4, 3, 32, 2e-3, {2e-4, 2e-2}},
    {"resnet18", "model_resnet18", 2, 3, 64, 2e-3, {3e-3, 5e-3}},
};

#define LOSS_ATOL 1e-8 /* float rounding of the smallest loss (~1.5e-4) is ~1e-11 */

START_TEST(test_model_forward_backward) {
    const ModelCase *mc = &cases[_i];
    Golden *g = golden_load(mc->file);
    int k = input_seed(g);
    Model m;
    ck_assert_int_eq(model_create(&m, mc->arch, 10, mc->c, mc->hw, NX_CPU), 0);
    fill_model(&m);
    nx_step_reset();
    Tensor *x = make_input(k, mc->n, mc->c, mc->hw), *y = make_targets(mc->n);
    model_set_training(&m, true);
    Tensor *logits = model_forward(&m, x);
    Tensor *loss = nx_cross_entropy(logits, y);
    params_zero_grad(&m.params);
    tape_backward(loss);
    int bad = golden_compare(g, "logits", logits, 1e-4, mc->rtol) + golden_compare(g, "loss", loss, LOSS_ATOL, mc->rtol);
    for (int i = 0; i < m.params.n; i++) {
        Tensor *t = m.params.t[i];
        if (m.params.is_buffer[i]) bad += compare_summary(g, "after.", t, t->data, mc->rtol);
        else bad += compare_summary(g, "grad.", t, t->grad, 5 * mc->rtol);
    }
    nx_step_reset();
    model_set_training(&m, false);
    bool prev = nx_no_grad();
    Tensor *ev = model_forward(&m, make_input(k, mc->n, mc->c, mc->hw));
    nx_set_grad(prev);
    bad += golden_compare(g, "eval_logits", ev, 1e-4, mc->rtol);
    nx_step_reset();
    model_free(&m);
    golden_free(g);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* 5 steps of SGD (lr 0.01, momentum 0.9) and of Adam (lr 1e-3): the loss of each step. */
START_TEST(test_model_training_steps) {
    const ModelCase *mc = &cases[_i / 2];
    bool adam = _i % 2;
    Golden *g = golden_load(mc->file);
    int k = input_seed(g);
    Model m;
    ck_assert_int_eq(model_create(&m, mc->arch, 10, mc->c, mc->hw, NX_CPU), 0);
    fill_model(&m);
    Optimizer *opt = adam ? optim_adam(&m.params, adam_defaults(1e-3))
                          : optim_sgd(&m.params, (SgdConfig){.lr = 0.01, .momentum = 0.9});
    float losses[5];
    for (int step = 0; step < 5; step++) {
        nx_step_reset();
        Tensor *x = make_input(k, mc->n, mc->c, mc->hw);
        Tensor *loss = nx_cross_entropy(model_forward(&m, x), make_targets(mc->n));
        params_zero_grad(&m.params);
        tape_backward(loss);
        optim_step(opt);
        losses[step] = loss->data[0];
    }
    nx_step_reset();
    int bad = golden_compare_buf(g, adam ? "losses.adam" : "losses.sgd", losses, 1, (int[]){5}, LOSS_ATOL,
                                 mc->loss_rtol[adam]);
    optim_free(opt);
    model_free(&m);
    golden_free(g);
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_lenet5_parameter_count_and_names) {
    Model m;
    ck_assert_int_eq(model_create(&m, "lenet5", 10, 0, 0, NX_CPU), 0);
    ck_assert_int_eq(params_count(&m.params, false), 431080);
    ck_assert_ptr_nonnull(params_find(&m.params, "fc2.bias"));
    model_free(&m);
    ck_assert_int_eq(model_create(&m, "resnet18", 1000, 0, 0, NX_CPU), 0);
    ck_assert_int_eq(params_count(&m.params, false), 11689512); /* torchvision resnet18 */
    ck_assert_ptr_nonnull(params_find(&m.params, "layer4.1.bn2.running_var"));
    ck_assert_ptr_nonnull(params_find(&m.params, "layer2.0.downsample.0.weight"));
    model_free(&m);
    ck_assert_int_eq(model_create(&m, "vgg11", 10, 0, 0, NX_CPU), 0);
    ck_assert_ptr_nonnull(params_find(&m.params, "features.26.running_mean"));
    model_free(&m);
    ck_assert_int_eq(model_create(&m, "lenet7", 10, 0, 0, NX_CPU), -1);
    ck_assert(strstr(nx_error_msg(), "unknown model 'lenet7'"));
}
END_TEST

/* A LeNet5 exported by PyTorch (gen_models.py) loads and gives PyTorch's logits;
 * our own checkpoint round-trips bit for bit, and a wrong model is refused. */
START_TEST(test_pytorch_export_and_round_trip) {
    const char *dir = getenv("NX_GOLDEN_DIR") ? getenv("NX_GOLDEN_DIR") : "tests/golden/data";
    char path[512];
    snprintf(path, sizeof path, "%s/torch_lenet5.safetensors", dir);
    Model m, r;
    ck_assert_msg(model_load(&m, path, "lenet5", 0, 0, 0, NX_CPU) == 0, "%s", nx_error_msg());
    Golden *g = golden_load("torch_lenet5");
    nx_step_reset();
    bool prev = nx_no_grad();
    model_set_training(&m, false);
    Tensor *logits = model_forward(&m, golden_get(g, "x"));
    ck_assert_int_eq(golden_compare(g, "logits", logits, 1e-5, 1e-4), 0);
    nx_set_grad(prev);
    nx_step_reset();
    golden_free(g);

    char tmp[] = "/tmp/nicex-ckpt-XXXXXX";
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(model_save(&m, tmp, 0, NULL), 0);
    ck_assert_msg(model_load(&r, tmp, NULL, 0, 0, 0, NX_CPU) == 0, "%s", nx_error_msg());
    ck_assert_str_eq(r.arch, "lenet5");
    for (int i = 0; i < m.params.n; i++)
        ck_assert_mem_eq(m.params.t[i]->data, r.params.t[i]->data, tensor_bytes(m.params.t[i]));
    model_free(&r);
    ck_assert_int_eq(model_load(&r, tmp, "vgg11", 0, 0, 0, NX_CPU), -1);
    ck_assert(strstr(nx_error_msg(), "holds a lenet5 model, not vgg11"));
    unlink(tmp);
    model_free(&m);
}
END_TEST

/* One seed, one result: two identical runs of 3 SGD steps on VGG11 (the
 * threaded conv backward sums per-thread dW) end with identical bits. */
START_TEST(test_training_repeats_exactly) {
    float *first = NULL;
    for (int run = 0; run < 2; run++) {
        Model m;
        ck_assert_int_eq(model_create(&m, "vgg11", 10, 3, 32, NX_CPU), 0);
        fill_model(&m);
        Optimizer *opt = optim_sgd(&m.params, (SgdConfig){.lr = 0.01, .momentum = 0.9});
        for (int step = 0; step < 3; step++) {
            nx_step_reset();
            Tensor *loss = nx_cross_entropy(model_forward(&m, make_input(0, 8, 3, 32)), make_targets(8));
            params_zero_grad(&m.params);
            tape_backward(loss);
            optim_step(opt);
        }
        nx_step_reset();
        size_t bytes = m.params.total * sizeof(float);
        if (run == 0) {
            first = nx_malloc(bytes);
            memcpy(first, m.params.params, bytes);
        } else {
            ck_assert_mem_eq(first, m.params.params, bytes);
        }
        optim_free(opt);
        model_free(&m);
    }
    free(first);
}
END_TEST

Suite *suite_models(void) {
    Suite *s = suite_create("models");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_lenet5_parameter_count_and_names);
    tcase_add_test(tc, test_pytorch_export_and_round_trip);
    tcase_add_test(tc, test_training_repeats_exactly);
    tcase_add_loop_test(tc, test_model_forward_backward, 0, 3);
    tcase_add_loop_test(tc, test_model_training_steps, 0, 6);
    suite_add_tcase(s, tc);
    return s;
}
