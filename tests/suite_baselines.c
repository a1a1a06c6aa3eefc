/* suite_baselines.c: the explanation methods of baselines/ against known answers.
 *
 *   - Saliency on a linear classifier is exactly |w_target| maxed over channels
 *   - CAM on a tiny GAP + fc model equals the weighted sum computed by hand;
 *     Grad-CAM there equals CAM up to normalisation; CAM refuses LeNet5
 *   - Integrated Gradients: completeness (sum = logit(x) - logit(x')) within
 *     1% at 64 steps for every rule and both baselines
 *   - I-GOS: every accepted line-search step satisfies the Armijo condition
 *     or ended at the lower bound; a batch of 8 equals 8 one-image runs
 *     (and the same for Fong-Vedaldi)
 *   - every method leaves the classifier bit-identical (params, buffers,
 *     grads, training flag, requires_grad, grad mode)
 *   - a synthetic task whose class is decided by one image region: the
 *     Fong-Vedaldi mask and I-GOS put >= 70% of their map's mass inside it
 *   - the CLI: nicex explain for every method on the shipped LeNet5 and
 *     Fashion-MNIST, and on a ResNet18 with a folder of JPEGs written here;
 *     bad values exit 2 with one line
 */
#include "tests/testlib.h"
#include "baselines/baselines.h"
#include "data/dataset.h"
#include "eval/accuracy.h"
#include "eval/maps.h"
#include "layers/checkpoint.h"
#include "tensor/rng.h"
#include "tests/known_region.h"

#include <jpeglib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
#define SHIPPED_LENET NX_MODELS_DIR "/lenet5-fashion-mnist.safetensors"

/* ---- tiny hand-made models -------------------------------------------------- */

typedef enum { TINY_LINEAR, TINY_GAP_FC } TinyKind;

typedef struct {
    TinyKind kind;
    Conv2d conv;
    Linear fc;
} TinyNet;

static Tensor *tiny_forward(Model *m, Tensor *x) {
    TinyNet *n = m->net;
    switch (n->kind) {
    case TINY_LINEAR: return linear_forward(&n->fc, nx_flatten(x));
    case TINY_GAP_FC: {
        Tensor *f = nx_relu(conv2d_forward(&n->conv, x));
        m->features = f;
        m->stages[0] = f, m->n_stages = 1;
        return linear_forward(&n->fc, nx_flatten(nx_global_avgpool(f)));
    }
    }
    return NULL;
}

static uint64_t lcg = 12345;
static float frand(float lo, float hi) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((lcg >> 40) / 16777216.0);
}

static void tiny_model(Model *m, TinyKind kind, int C, int H, int K, int classes) {
    memset(m, 0, sizeof *m);
    TinyNet *n = nx_calloc(1, sizeof *n);
    n->kind = kind;
    snprintf(m->arch, sizeof m->arch, "tiny%d", (int)kind);
    m->in_c = C, m->in_h = m->in_w = H, m->n_classes = classes;
    params_init(&m->params, NX_CPU);
    if (kind == TINY_LINEAR) linear_init(&n->fc, &m->params, "fc", C * H * H, classes, true);
    else {
        conv2d_init(&n->conv, &m->params, "conv", C, K, 3, 1, 1, true);
        linear_init(&n->fc, &m->params, "fc", K, classes, true);
    }
    params_finalize(&m->params);
    for (int i = 0; i < m->params.n; i++) {
        Tensor *t = m->params.t[i];
        for (int64_t k = 0; k < t->numel; k++) t->data[k] = frand(-1, 1);
    }
    m->net = n;
    m->fc = &n->fc;
    m->forward = tiny_forward;
    m->training = false;
}

static float *random_images(int n, int C, int H, float lo, float hi) {
    float *x = nx_malloc(sizeof(float) * (size_t)n * C * H * H);
    for (int64_t i = 0; i < (int64_t)n * C * H * H; i++) x[i] = frand(lo, hi);
    return x;
}

/* LeNet5: the shipped one when present (a notice otherwise, and a random init). */
static void lenet(Model *m) {
    if (access(SHIPPED_LENET, R_OK) == 0) {
        ck_assert_msg(model_load(m, SHIPPED_LENET, NULL, 10, 1, 28, NX_CPU) == 0, "%s", nx_error_msg());
        return;
    }
    printf("  note: %s absent, using a random LeNet5\n", SHIPPED_LENET);
    rng_seed(3);
    ck_assert(model_create(m, "lenet5", 10, 1, 28, NX_CPU) == 0);
}

/* Smooth blob images in [0, 1] that a LeNet5 gives a clear class. */
static float *blob_images(int n, int H) {
    float *x = nx_malloc(sizeof(float) * (size_t)n * H * H);
    for (int i = 0; i < n; i++) {
        float cy = frand(8, 20), cx = frand(8, 20), r = frand(4, 9);
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < H; xx++) {
                float d = sqrtf((y - cy) * (y - cy) + (xx - cx) * (xx - cx));
                x[(size_t)i * H * H + y * H + xx] = d < r ? 0.8f + 0.2f * frand(0, 1) : 0.05f * frand(0, 1);
            }
    }
    return x;
}

/* ---- Saliency -------------------------------------------------------------- */

START_TEST(test_saliency_linear_is_abs_weight) {
    int C = 2, H = 4, K = 3, N = 3;
    Model m;
    tiny_model(&m, TINY_LINEAR, C, H, 0, K);
    float *xh = random_images(N, C, H, 0, 1);
    int32_t target[3] = {0, 2, 1};
    float *maps = nx_malloc(sizeof(float) * N * H * H);
    SaliencyOpts o;
    saliency_defaults(&o, H);
    o.internal_batch = 2; /* two internal batches */
    nx_step_reset();
    ck_assert(baseline_saliency(maps, NULL, &m, batch_to_device(xh, N, C, H, H, NX_CPU), target, &o) == 0);
    const float *w = m.fc->weight->data;
    for (int n = 0; n < N; n++)
        for (int p = 0; p < H * H; p++) {
            float want = 0;
            for (int c = 0; c < C; c++) want = fmaxf(want, fabsf(w[(size_t)target[n] * C * H * H + c * H * H + p]));
            ck_assert_msg(maps[n * H * H + p] == want, "image %d pixel %d: %g, |w| max %g", n, p, maps[n * H * H + p], want);
        }
    free(xh), free(maps);
    model_free(&m);
}
END_TEST

/* ---- CAM and Grad-CAM ------------------------------------------------------ */

START_TEST(test_cam_by_hand_and_gradcam_equals_cam) {
    int C = 2, H = 6, K = 3, classes = 2, N = 2;
    Model m;
    tiny_model(&m, TINY_GAP_FC, C, H, K, classes);
    float *fw = m.fc->weight->data; /* (classes, K): positive weights so CAM >= 0 */
    for (int i = 0; i < classes * K; i++) fw[i] = fabsf(fw[i]) + 0.1f;
    float *xh = random_images(N, C, H, -1, 1);
    int32_t target[2] = {1, 0};
    float *cam = nx_malloc(sizeof(float) * N * H * H), *camn = nx_malloc(sizeof(float) * N * H * H);
    float *gc = nx_malloc(sizeof(float) * N * H * H), *gcn = nx_malloc(sizeof(float) * N * H * H);
    CamOpts co;
    cam_defaults(&co, H);
    GradCamOpts go;
    gradcam_defaults(&go, H);
    nx_step_reset();
    ck_assert_msg(baseline_cam(cam, camn, &m, batch_to_device(xh, N, C, H, H, NX_CPU), target, &co) == 0, "%s", nx_error_msg());
    nx_step_reset();
    ck_assert(baseline_gradcam(gc, gcn, &m, batch_to_device(xh, N, C, H, H, NX_CPU), target, &go) == 0);
    /* by hand: F = relu(conv3x3(x) + b), raw = sum_k W[t, k] F_k, min-max normalised */
    const float *cw = m.params.t[0]->data, *cb = m.params.t[1]->data;
    for (int n = 0; n < N; n++) {
        double raw[36], lo = 1e30, hi = -1e30;
        for (int p = 0; p < H * H; p++) {
            int i = p / H, j = p % H;
            double s = 0;
            for (int k = 0; k < K; k++) {
                double f = cb[k];
                for (int c = 0; c < C; c++)
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++) {
                            int y = i + a - 1, x = j + b - 1;
                            if (y < 0 || x < 0 || y >= H || x >= H) continue;
                            f += cw[((k * C + c) * 3 + a) * 3 + b] * xh[((size_t)n * C + c) * H * H + y * H + x];
                        }
                s += fw[target[n] * K + k] * (f > 0 ? f : 0);
            }
            raw[p] = s;
            lo = fmin(lo, s), hi = fmax(hi, s);
        }
        for (int p = 0; p < H * H; p++) {
            double want = (raw[p] - lo) / (hi - lo);
            ck_assert_msg(fabs(camn[n * H * H + p] - want) < 1e-5, "CAM image %d pixel %d: %g, by hand %g", n, p,
                          camn[n * H * H + p], want);
            /* Grad-CAM's raw map is ReLU(CAM) / (h w) here */
            ck_assert_msg(fabs(gcn[n * H * H + p] * H * H - raw[p]) < 1e-4 * (1 + fabs(raw[p])),
                          "Grad-CAM native %g * hw vs CAM %g", gcn[n * H * H + p], raw[p]);
            /* same input resolution here: the normalised maps agree */
            ck_assert_msg(fabs(gc[n * H * H + p] - cam[n * H * H + p]) < 1e-5, "Grad-CAM %g vs CAM %g", gc[n * H * H + p],
                          cam[n * H * H + p]);
        }
    }
    /* a constant map normalises to 0, not NaN */
    float flat[4] = {2, 2, 2, 2};
    float up[16];
    bl_resize(up, 4, 4, flat, 1, 2, 2, false);
    for (int i = 0; i < 16; i++) ck_assert(up[i] == 2.0f);
    free(xh), free(cam), free(camn), free(gc), free(gcn);
    model_free(&m);
    /* CAM refuses LeNet5 and names Grad-CAM */
    Model l;
    rng_seed(1);
    ck_assert(model_create(&l, "lenet5", 10, 1, 28, NX_CPU) == 0);
    CamOpts lo;
    cam_defaults(&lo, 28);
    ck_assert(baseline_check(&baseline_method_cam, &l, &lo, 28, 28) != 0);
    ck_assert_msg(strstr(nx_error_msg(), "gradcam") != NULL, "message: %s", nx_error_msg());
    model_free(&l);
}
END_TEST

/* ---- Integrated Gradients ------------------------------------------------ */

static void logits_at(float *out, Model *m, const float *x, int n, int t_stride, const int32_t *target) {
    bool prev = nx_no_grad();
    bool tr = m->training;
    m->training = false;
    nx_step_reset();
    Tensor *l = model_forward(m, batch_to_device(x, n, m->in_c, m->in_h, m->in_w, NX_CPU));
    for (int i = 0; i < n; i++) out[i] = l->data[i * t_stride + target[i]];
    m->training = tr;
    nx_set_grad(prev);
}

START_TEST(test_ig_completeness) {
    Model m;
    lenet(&m);
    int N = 3, H = 28;
    float *xh = blob_images(N, H);
    Dataset d;
    int mult = 1; /* blob images are rougher along the path: 8x the steps */
    if (dataset_open(&d, test_fashion_mnist_spec(), DATA_TEST, 0, 0) == 0) {
        for (int i = 0; i < N; i++) dataset_get_float(&d, i, xh + i * H * H, NULL, NULL);
        dataset_free(&d);
    } else {
        printf("  note: Fashion-MNIST absent (%s), IG completeness on blob images\n", nx_error_msg());
        mult = 8;
    }
    int32_t target[3] = {9, 2, 1};
    float *maps = nx_malloc(sizeof(float) * N * H * H), fx[3], fb[3];
    logits_at(fx, &m, xh, N, 10, target);
    const char *rules[] = {"riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid", "gausslegendre"};
    int bad = 0;
    for (int bl = 0; bl < 2; bl++) {
        IgOpts o;
        ig_defaults(&o, H);
        o.baseline = bl;
        o.internal_batch = 50; /* chunks that mix images */
        /* the baseline's own logits */
        float *bh;
        if (bl == 0) bh = nx_calloc((size_t)N * H * H, sizeof(float));
        else {
            nx_step_reset();
            bh = tensor_to_host(bl_blur(batch_to_device(xh, N, 1, H, H, NX_CPU), (int)ceilf(3 * o.blur_sigma), o.blur_sigma));
        }
        logits_at(fb, &m, bh, N, 10, target);
        free(bh);
        for (int r = 0; r < 5; r++) {
            ck_assert(baseline_set_option(&baseline_method_ig, &o, "rule", rules[r]) == 0);
            /* second-order rules at 64 steps; the first-order ones (and the trapezoid, whose end
             * points sit on the baseline's kinks) at 256 */
            o.steps = mult * (o.rule == IG_RIEMANN_MIDDLE || o.rule == IG_GAUSS_LEGENDRE ? 64 : 256);
            nx_step_reset();
            ck_assert(baseline_ig(maps, NULL, &m, batch_to_device(xh, N, 1, H, H, NX_CPU), target, &o) == 0);
            for (int n = 0; n < N; n++) {
                double s = 0, want = (double)fx[n] - fb[n];
                for (int p = 0; p < H * H; p++) s += maps[n * H * H + p];
                printf("  IG %s, %d steps, baseline %s image %d: sum %.5f, logit(x) - logit(x') %.5f (%.3f%%)\n", rules[r], o.steps,
                       bl ? "blur" : "black", n, s, want, 100 * fabs(s - want) / fabs(want));
                if (fabs(s - want) > 0.01 * fabs(want)) bad++;
            }
        }
    }
    ck_assert_msg(bad == 0, "%d IG sums off by more than 1%%", bad);
    free(xh), free(maps);
    model_free(&m);
}
END_TEST

/* ---- I-GOS line search and batching --------------------------------------- */

typedef struct {
    int n, bad, at_bound;
    double beta;
} StepLog;

static void log_step(void *ctx, int image, double f0, double f1, double g2, double step, bool at_bound) {
    StepLog *l = ctx;
    (void)image;
    l->n++;
    l->at_bound += at_bound;
    if (!at_bound && !(f1 <= f0 - l->beta * step * g2)) {
        l->bad++;
        printf("  Armijo violated: f0 %.6g f1 %.6g step %g |g|^2 %g\n", f0, f1, step, g2);
    }
}

START_TEST(test_igos_armijo) {
    Model m;
    lenet(&m);
    int N = 4, H = 28;
    float *xh = blob_images(N, H);
    int32_t target[4] = {0, 1, 2, 8};
    float *maps = nx_malloc(sizeof(float) * N * H * H);
    IgosOpts o;
    igos_defaults(&o, H);
    o.iters = 8, o.points = 6, o.mask_size = 7;
    StepLog lg = {.beta = o.ls_beta};
    o.on_step = log_step, o.on_step_ctx = &lg;
    nx_step_reset();
    ck_assert(baseline_igos(maps, NULL, &m, batch_to_device(xh, N, 1, H, H, NX_CPU), target, &o) == 0);
    printf("  I-GOS: %d line searches, %d ended at the lower bound, %d violations\n", lg.n, lg.at_bound, lg.bad);
    ck_assert_int_eq(lg.n, N * o.iters);
    ck_assert_int_eq(lg.bad, 0);
    ck_assert_msg(lg.at_bound < lg.n, "every search failed: nothing was tested");
    free(xh), free(maps);
    model_free(&m);
}
END_TEST

START_TEST(test_batched_equals_one_image_runs) {
    Model m;
    lenet(&m);
    int N = 8, H = 28;
    float *xh = blob_images(N, H);
    int32_t target[8] = {0, 1, 2, 3, 4, 5, 8, 9}, ids[8];
    float *mb = nx_malloc(sizeof(float) * N * H * H), *m1 = nx_malloc(sizeof(float) * N * H * H);
    for (int k = 0; k < 2; k++) {
        IgosOpts io;
        igos_defaults(&io, H);
        io.iters = 5, io.points = 4, io.mask_size = 7, io.internal_batch = 8;
        MaskOpts mo;
        mask_defaults(&mo, H);
        mo.iters = 15, mo.mask_size = 7, mo.internal_batch = 8;
        nx_step_reset();
        Tensor *xt = batch_to_device(xh, N, 1, H, H, NX_CPU);
        ck_assert((k == 0 ? baseline_igos(mb, NULL, &m, xt, target, &io) : baseline_mask(mb, NULL, &m, xt, target, &mo)) == 0);
        for (int i = 0; i < N; i++) {
            ids[0] = i;
            io.common.ids = mo.common.ids = ids;
            io.internal_batch = mo.internal_batch = 1;
            nx_step_reset();
            Tensor *x1 = batch_to_device(xh + i * H * H, 1, 1, H, H, NX_CPU);
            ck_assert((k == 0 ? baseline_igos(m1 + i * H * H, NULL, &m, x1, target + i, &io)
                              : baseline_mask(m1 + i * H * H, NULL, &m, x1, target + i, &mo)) == 0);
        }
        double worst = 0, range = 0;
        for (int q = 0; q < N * H * H; q++) worst = fmax(worst, fabs(mb[q] - m1[q])), range = fmax(range, fabs(mb[q]));
        printf("  %s: batch of 8 vs 8 one-image runs: max |diff| %.3g (map max %.3g)\n", k ? "mask" : "igos", worst, range);
        ck_assert_msg(worst <= 1e-4, "%s: batched and one-image maps differ by %g", k ? "mask" : "igos", worst);
        ck_assert_msg(range > 1e-3, "%s: the maps are all zero, the test says nothing", k ? "mask" : "igos");
    }
    free(xh), free(mb), free(m1);
    model_free(&m);
}
END_TEST

/* ---- the classifier is untouched ------------------------------------------ */

START_TEST(test_classifier_state_untouched) {
    Model m;
    rng_seed(5);
    ck_assert(model_create(&m, "resnet18-cifar", 10, 3, 16, NX_CPU) == 0);
    /* a state worth preserving: training mode, part frozen, non-trivial buffers and grads */
    model_set_training(&m, true);
    params_freeze(&m.params, "layer1", true);
    ParamStore *ps = &m.params;
    for (size_t i = 0; i < ps->total; i++) ps->grads[i] = 0.25f + (float)(i % 7);
    for (int i = 0; i < ps->n; i++)
        if (ps->is_buffer[i])
            for (int64_t k = 0; k < ps->t[i]->numel; k++) ps->t[i]->data[k] = 0.5f + 0.01f * (float)(k % 13);
    float *p0 = nx_malloc(sizeof(float) * ps->total), *g0 = nx_malloc(sizeof(float) * ps->total);
    memcpy(p0, ps->params, sizeof(float) * ps->total);
    memcpy(g0, ps->grads, sizeof(float) * ps->total);
    bool rg0[NX_MAX_PARAMS];
    for (int i = 0; i < ps->n; i++) rg0[i] = ps->t[i]->requires_grad;
    int N = 2, H = 16;
    float *xh = random_images(N, 3, H, 0, 1);
    int32_t target[2] = {1, 7};
    float *maps = nx_malloc(sizeof(float) * N * H * H), *native = nx_malloc(sizeof(float) * N * H * H * 4);
    static const char *small[][2] = {{"steps", "4"}, {"iters", "2"}, {"points", "2"}, {"mask-size", "4"}};
    int tested = 0;
    for (int k = 0; baseline_methods[k]; k++) {
        const BaselineMethod *bm = baseline_methods[k];
        if (strcmp(bm->name, "nice") == 0) continue; /* its generator takes 1x28x28; the LeNet5 CLI test runs it */
        if (strcmp(bm->name, "rtis") == 0) continue; /* needs a masking model trained for this classifier: suite_rtis */
        void *o = nx_calloc(1, bm->opts_size);
        bm->defaults(o, H);
        for (int s = 0; s < 4; s++)
            for (int q = 0; q < bm->n_options; q++)
                if (strcmp(bm->options[q].name, small[s][0]) == 0) ck_assert(baseline_set_option(bm, o, small[s][0], small[s][1]) == 0);
        ck_assert_msg(baseline_check(bm, &m, o, H, H) == 0, "%s: %s", bm->name, nx_error_msg());
        for (int grad_mode = 0; grad_mode < 2; grad_mode++) {
            nx_set_grad(grad_mode);
            nx_step_reset();
            ck_assert_msg(bm->run(maps, native, &m, batch_to_device(xh, N, 3, H, H, NX_CPU), target, o) == 0, "%s: %s",
                          bm->name, nx_error_msg());
            ck_assert_msg(nx_grad_enabled() == grad_mode, "%s changed the grad mode", bm->name);
            ck_assert_msg(m.training, "%s left the model in eval mode", bm->name);
            ck_assert_msg(memcmp(p0, ps->params, sizeof(float) * ps->total) == 0, "%s changed parameters or buffers", bm->name);
            ck_assert_msg(memcmp(g0, ps->grads, sizeof(float) * ps->total) == 0, "%s changed parameter gradients", bm->name);
            for (int i = 0; i < ps->n; i++)
                ck_assert_msg(ps->t[i]->requires_grad == rg0[i], "%s changed requires_grad of %s", bm->name, ps->t[i]->name);
            for (int q = 0; q < N * H * H; q++) ck_assert_msg(isfinite(maps[q]), "%s: non-finite map", bm->name);
        }
        free(o);
        tested++;
    }
    nx_set_grad(true);
    ck_assert_int_ge(tested, 8);
    free(p0), free(g0), free(xh), free(maps), free(native);
    model_free(&m);
}
END_TEST

/* ---- a known region decides the class ------------------------------------ */

/* tests/known_region.h: only the texture in R decides class 1 (D is a distractor). */
START_TEST(test_known_region_mass) {
    Model m;
    int N = 3;
    kr_model(&m);
    float *xh = kr_images(N);
    int32_t target[3] = {1, 1, 1};
    float *maps = nx_malloc(sizeof(float) * N * KR_H * KR_H);
    /* the task works: class 1, and deleting R (blurring it) flips it */
    float z[3];
    logits_at(z, &m, xh, N, 2, target);
    for (int i = 0; i < N; i++) ck_assert_msg(z[i] > 2, "image %d: z_1 %g", i, z[i]);
    for (int k = 0; k < 2; k++) {
        nx_step_reset();
        Tensor *xt = batch_to_device(xh, N, 1, KR_H, KR_H, NX_CPU);
        if (k == 0) {
            MaskOpts o;
            mask_defaults(&o, KR_H);
            ck_assert(baseline_mask(maps, NULL, &m, xt, target, &o) == 0);
        } else {
            IgosOpts o;
            igos_defaults(&o, KR_H);
            o.mask_size = 8; /* cells of 4 px: the 16-px region is 4x4 cells (bilinear, align_corners) */
            ck_assert(baseline_igos(maps, NULL, &m, xt, target, &o) == 0);
        }
        for (int i = 0; i < N; i++) {
            double f = kr_mass_inside(maps + i * KR_H * KR_H);
            printf("  %s (defaults at 32x32; igos with an 8x8 mask): %.1f%% of the map's mass inside the deciding region (image %d; 25%% = chance)\n",
                   k ? "igos" : "mask", 100 * f, i);
            ck_assert_msg(f >= 0.70, "%s image %d: %.1f%% inside", k ? "igos" : "mask", i, 100 * f);
        }
    }
    /* the controls do not find it: intensity is flat there, random about 25% */
    ControlOpts co;
    control_defaults(&co, KR_H);
    nx_step_reset();
    ck_assert(baseline_random(maps, NULL, &m, batch_to_device(xh, N, 1, KR_H, KR_H, NX_CPU), target, &co) == 0);
    ck_assert(kr_mass_inside(maps) < 0.4);
    free(xh), free(maps);
    model_free(&m);
}
END_TEST

/* ---- the CLI ------------------------------------------------------------- */

static const char *nicex_bin(void) { return test_nicex_bin(); }

static int run_cmd(const char *fmt, const char *a, const char *b, const char *c) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b, c);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Small per-method options so the CLI tests stay fast. */
static const char *fast_flags(const char *method) {
    if (strcmp(method, "ig") == 0) return "--steps 8";
    if (strcmp(method, "mask") == 0) return "--iters 5";
    if (strcmp(method, "igos") == 0) return "--iters 2 --points 3";
    return "";
}

/* registered only with the CLI, the shipped LeNet5 and Fashion-MNIST (suite_baselines) */
START_TEST(test_cli_lenet5_every_method) {
    char dir[] = "/tmp/nx_explain_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    int n_ok = 0;
    for (int k = 0; baseline_methods[k]; k++) {
        const char *name = baseline_methods[k]->name;
        char out[512], args[512];
        snprintf(out, sizeof out, "%s/%s", dir, name);
        snprintf(args, sizeof args, "--method %s %s --data %s", name, fast_flags(name), test_fashion_mnist_spec());
        int rc = run_cmd("%s explain %s --classifier " SHIPPED_LENET " --n 3 --first 5 --seed 1 --json --out %s > /dev/null",
                         nicex_bin(), args, out);
        if (strcmp(name, "cam") == 0) { /* LeNet5 is not GAP + fc: one line, exit 2 */
            ck_assert_int_eq(rc, 2);
            continue;
        }
        ck_assert_msg(rc == 0, "nicex explain --method %s: exit %d", name, rc);
        char path[600];
        snprintf(path, sizeof path, "%s/maps.safetensors", out);
        MapsFile mf;
        ck_assert_msg(maps_load(&mf, path) == 0, "%s", nx_error_msg());
        ck_assert_int_eq(mf.n, 3);
        ck_assert_int_eq(mf.h, 28);
        ck_assert_int_eq(mf.index[0], 5);
        ck_assert_str_eq(maps_meta(&mf, "method"), name);
        ck_assert_str_eq(maps_meta(&mf, "seed"), "1");
        ck_assert(maps_meta(&mf, "classifier") && maps_meta(&mf, "data") && maps_meta(&mf, "split"));
        for (int q = 0; q < baseline_methods[k]->n_options; q++)
            ck_assert_msg(maps_meta(&mf, baseline_methods[k]->options[q].name), "%s: option %s not in the metadata", name,
                          baseline_methods[k]->options[q].name);
        maps_free(&mf);
        snprintf(path, sizeof path, "%s/grid.png", out);
        ck_assert_msg(access(path, R_OK) == 0, "%s missing", path);
        snprintf(path, sizeof path, "%s/0002_overlay.png", out);
        ck_assert_msg(access(path, R_OK) == 0, "%s missing", path);
        n_ok++;
    }
    ck_assert_int_eq(n_ok, 9); /* every method but cam (rtis with the shipped RTIS model) */
    /* bad values: one line, exit 2 */
    const char *bad[] = {"--method ig --steps -3", "--method igos --mask-size 5", "--method mask --mask-size 6",
                         "--method nosuch", "--method ig --rule simpson", "--method igos --iters x", "--method saliency --n 0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run_cmd("%s explain %s --classifier " SHIPPED_LENET " --out %s/bad > /dev/null 2>&1", nicex_bin(), bad[i], dir);
        ck_assert_msg(rc == 2, "'%s': exit %d, want 2", bad[i], rc);
    }
    run_cmd("rm -rf %s%s%s", dir, "", "");
}
END_TEST

static int write_jpeg(const char *path, const uint8_t *rgb, int h, int w) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = w, c.image_height = h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
    return 0;
}

START_TEST(test_cli_resnet18_folder) { /* registered only with the CLI (suite_baselines) */
    char dir[] = "/tmp/nx_explain_rn_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char path[600];
    const char *classes[2] = {"cats", "dogs"};
    const int side = 32;
    uint8_t *rgb = nx_malloc((size_t)side * side * 3);
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof path, "%s/imgs/%s", dir, classes[c]);
        char mk[700];
        snprintf(mk, sizeof mk, "mkdir -p %s", path);
        ck_assert(system(mk) == 0);
        for (int i = 0; i < 5; i++) {
            for (int p = 0; p < side * side * 3; p++) rgb[p] = (uint8_t)((p * (7 + i + 3 * c)) % 251);
            snprintf(path, sizeof path, "%s/imgs/%s/%d.jpg", dir, classes[c], i);
            ck_assert(write_jpeg(path, rgb, side, side) == 0);
        }
    }
    free(rgb);
    /* a random ResNet18 for 2 classes at 32x32, saved as a checkpoint */
    Model m;
    rng_seed(11);
    ck_assert(model_create(&m, "resnet18", 2, 3, side, NX_CPU) == 0);
    snprintf(path, sizeof path, "%s/resnet18.safetensors", dir);
    ck_assert_msg(model_save(&m, path, 0, NULL) == 0, "%s", nx_error_msg());
    model_free(&m);
    for (int k = 0; baseline_methods[k]; k++) {
        const char *name = baseline_methods[k]->name;
        if (strcmp(name, "nice") == 0) continue; /* no generator for this model */
        if (strcmp(name, "rtis") == 0) continue; /* no masking model for it: suite_rtis trains one at 224 */
        char args[1600], out[700];
        snprintf(out, sizeof out, "%s/out_%s", dir, name);
        snprintf(args, sizeof args, "--method %s %s --data folder:%s/imgs --image-size 32 --n 2 --out %s", name,
                 fast_flags(name), dir, out);
        int rc = run_cmd("%s explain %s --classifier %s/resnet18.safetensors > /dev/null", nicex_bin(), args, dir);
        ck_assert_msg(rc == 0, "nicex explain --method %s on ResNet18: exit %d", name, rc);
    }
    /* CAM works here and writes its native map (32 / 32 = 1x1) */
    snprintf(path, sizeof path, "%s/resnet18.safetensors --out %s/cam > /dev/null 2>&1", dir, dir);
    char args[512];
    snprintf(args, sizeof args, "--method cam --data folder:%s/imgs --image-size 32 --n 2", dir);
    ck_assert(run_cmd("%s explain %s --classifier %s", nicex_bin(), args, path) == 0);
    snprintf(path, sizeof path, "%s/cam/maps.safetensors", dir);
    MapsFile mf;
    ck_assert_msg(maps_load(&mf, path) == 0, "%s", nx_error_msg());
    ck_assert_int_eq(mf.nh, 1);
    ck_assert_int_eq(mf.h, 32);
    maps_free(&mf);
    run_cmd("rm -rf %s%s%s", dir, "", "");
}
END_TEST

Suite *suite_baselines(void) {
    Suite *s = suite_create("baselines");
    TCase *tc = tcase_create("baselines");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_saliency_linear_is_abs_weight);
    tcase_add_test(tc, test_cam_by_hand_and_gradcam_equals_cam);
    tcase_add_test(tc, test_ig_completeness);
    tcase_add_test(tc, test_igos_armijo);
    tcase_add_test(tc, test_batched_equals_one_image_runs);
    tcase_add_test(tc, test_classifier_state_untouched);
    tcase_add_test(tc, test_known_region_mass);
    TCASE_ADD_TEST_IF(tc, test_cli_lenet5_every_method,
                      access(nicex_bin(), X_OK) == 0 && access(SHIPPED_LENET, R_OK) == 0 && test_have_fashion_mnist(),
                      "needs %s, %s and Fashion-MNIST in %s", nicex_bin(), SHIPPED_LENET, test_fashion_mnist_dir());
    TCASE_ADD_TEST_IF(tc, test_cli_resnet18_folder, access(nicex_bin(), X_OK) == 0, "needs %s", nicex_bin());
    suite_add_tcase(s, tc);
    return s;
}
