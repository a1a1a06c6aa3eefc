/* cam.c: Class Activation Mapping (Zhou et al. 2016) and Grad-CAM
 * (Selvaraju et al. 2017).
 *
 * CAM, forward only, on a model whose logits are fc(GAP(F)), F (N, K, h, w)
 * the last conv block's output (Model.features):
 *     native[n] = normalise( sum_k W_fc[t_n, k] F[n, k] )      (fc bias unused)
 *     maps[n]   = bilinear resize of native[n] to H x W (align_corners false,
 *                 as cv2.resize in the authors' code), normalised again
 * normalise = min-max with a guard (all 0 when max == min, never NaN).
 * A model that is not GAP + fc (LeNet5: flatten + two fc layers; VGG11:
 * max-pool + fc) is refused, naming Grad-CAM; the test is structural
 * (fc input == K) and numerical (the logits equal fc(mean_hw F)).
 *
 * Grad-CAM at a layer A (N, K, h, w) (default the last conv block):
 *     alpha[n, k] = mean over (i, j) of d logit_{t_n} / d A[n, k, i, j]
 *     native[n]   = ReLU( sum_k alpha[n, k] A[n, k] )            (raw)
 *     maps[n]     = normalise(bilinear resize of native[n])
 * On a GAP + fc model at the last block alpha = W_fc[t] / (h w), so Grad-CAM
 * is ReLU(CAM) / (h w): equal to CAM up to normalisation where CAM >= 0.
 */
#include "baselines/baselines.h"
#include "eval/render.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void cam_defaults(CamOpts *o, int side) {
    (void)side;
    *o = (CamOpts){.internal_batch = 64};
}

void gradcam_defaults(GradCamOpts *o, int side) {
    (void)side;
    *o = (GradCamOpts){.layer = "features", .internal_batch = 64};
}

/* The layer Grad-CAM reads after a forward: -1 + error on a bad name. */
static Tensor *pick_layer(Model *m, const char *layer) {
    if (strcmp(layer, "features") == 0) return m->features;
    if (strncmp(layer, "stage", 5) == 0) {
        char *end;
        long k = strtol(layer + 5, &end, 10);
        if (!*end && end != layer + 5 && k >= 0 && k < m->n_stages) return m->stages[k];
    }
    nx_error_set("--layer: '%s' is not a layer of %s (features, or stage0..stage%d)", layer, m->arch,
                 m->n_stages - 1);
    return NULL;
}

static void finish_maps(float *maps, float *native, const float *raw, int n, int h, int w, int H, int W, bool norm_native) {
    float *nat = nx_malloc(sizeof(float) * (size_t)n * h * w);
    memcpy(nat, raw, sizeof(float) * (size_t)n * h * w);
    if (norm_native)
        for (int i = 0; i < n; i++) normalise_map(nat + (size_t)i * h * w, (int64_t)h * w);
    bl_resize(maps, H, W, nat, n, h, w, false);
    for (int i = 0; i < n; i++) normalise_map(maps + (size_t)i * H * W, (int64_t)H * W);
    if (native) memcpy(native, nat, sizeof(float) * (size_t)n * h * w);
    free(nat);
}

static int cam_structure(const Model *m, int K) {
    if (!m->fc || m->fc->in != K) {
        nx_error_set("--method cam: %s is not global-average-pool + fc over its last conv block "
                     "(fc takes %d inputs, the block has %d channels); use --method gradcam",
                     m->arch, m->fc ? m->fc->in : 0, K);
        return -1;
    }
    return 0;
}

int baseline_cam(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const CamOpts *o) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], B = o->internal_batch;
    ClassifierState st;
    bl_enter(m, &st);
    nx_no_grad();
    float *xd = bl_copy_input(x);
    int rc = 0;
    for (int i0 = 0; i0 < N && rc == 0; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        nx_step_reset();
        Tensor *logits = model_forward(m, bl_rows(xd, x->device, i0, b, C, H, W));
        Tensor *F = m->features;
        int K = F->shape[1], h = F->shape[2], w = F->shape[3], nc = m->n_classes;
        if ((rc = cam_structure(m, K)) != 0) break;
        float *fh = tensor_to_host(F), *wh = tensor_to_host(m->fc->weight), *lh = tensor_to_host(logits);
        float *bh = m->fc->bias ? tensor_to_host(m->fc->bias) : NULL;
        float *raw = nx_calloc((size_t)b * h * w, sizeof(float));
        for (int i = 0; i < b && rc == 0; i++) {
            /* the GAP + fc test: logits == W mean_hw(F) + bias for every class */
            for (int c = 0; c < nc; c++) {
                double z = bh ? bh[c] : 0, scale = 1;
                for (int k = 0; k < K; k++) {
                    double mean = 0;
                    for (int p = 0; p < h * w; p++) mean += fh[((size_t)i * K + k) * h * w + p];
                    z += wh[(size_t)c * K + k] * mean / (h * w);
                    scale += fabs(wh[(size_t)c * K + k] * mean / (h * w));
                }
                if (fabs(z - lh[(size_t)i * nc + c]) > 1e-3 * scale) {
                    nx_error_set("--method cam: %s's logits are not fc(global average pool(last conv block)); "
                                 "use --method gradcam", m->arch);
                    rc = -1;
                    break;
                }
            }
            for (int k = 0; k < K; k++) {
                float wk = wh[(size_t)target[i0 + i] * K + k];
                const float *f = fh + ((size_t)i * K + k) * h * w;
                for (int p = 0; p < h * w; p++) raw[(size_t)i * h * w + p] += wk * f[p];
            }
        }
        if (rc == 0)
            finish_maps(maps + (size_t)i0 * H * W, native ? native + (size_t)i0 * h * w : NULL, raw, b, h, w, H, W, true);
        free(fh), free(wh), free(lh), free(bh), free(raw);
    }
    device_free(x->device, xd);
    bl_leave(m, &st);
    return rc;
}

int baseline_gradcam(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target,
                     const GradCamOpts *o) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], B = o->internal_batch;
    ClassifierState st;
    bl_enter(m, &st);
    float *xd = bl_copy_input(x);
    int rc = 0;
    for (int i0 = 0; i0 < N; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        nx_step_reset();
        Tensor *xin = bl_rows(xd, x->device, i0, b, C, H, W);
        xin->requires_grad = true; /* so the tape records the path to the layer */
        Tensor *logits = model_forward(m, xin);
        Tensor *A = pick_layer(m, o->layer);
        if (!A) {
            rc = -1;
            break;
        }
        float *seed = bl_onehot(target + i0, b, m->n_classes);
        tape_backward_from(logits, seed);
        free(seed);
        int K = A->shape[1], h = A->shape[2], w = A->shape[3];
        float *ah = tensor_to_host(A), *gh = nx_malloc(tensor_bytes(A));
        device_memcpy(NX_CPU, gh, A->device, tensor_grad(A), tensor_bytes(A));
        float *raw = nx_calloc((size_t)b * h * w, sizeof(float));
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < K; k++) {
                const float *a = ah + ((size_t)i * K + k) * h * w, *g = gh + ((size_t)i * K + k) * h * w;
                double alpha = 0;
                for (int p = 0; p < h * w; p++) alpha += g[p];
                alpha /= h * w;
                for (int p = 0; p < h * w; p++) raw[(size_t)i * h * w + p] += (float)alpha * a[p];
            }
            for (int p = 0; p < h * w; p++) raw[(size_t)i * h * w + p] = fmaxf(raw[(size_t)i * h * w + p], 0.0f);
        }
        finish_maps(maps + (size_t)i0 * H * W, native ? native + (size_t)i0 * h * w : NULL, raw, b, h, w, H, W, false);
        free(ah), free(gh), free(raw);
    }
    device_free(x->device, xd);
    bl_leave(m, &st);
    return rc;
}

/* The native size: one forward of a blank image. */
static void layer_size(const Model *mc, const char *layer, int *nh, int *nw) {
    Model *m = (Model *)mc;
    ClassifierState st;
    bl_enter(m, &st);
    nx_no_grad();
    nx_step_reset();
    Tensor *x = tensor_new4(m->params.device, 1, m->in_c, m->in_h, m->in_w);
    tensor_zero(x);
    model_forward(m, x);
    Tensor *A = layer ? pick_layer(m, layer) : m->features;
    *nh = A ? A->shape[2] : 0, *nw = A ? A->shape[3] : 0;
    bl_leave(m, &st);
}

static int cam_check(const Model *mc, const void *opts, int H, int W) {
    (void)opts, (void)H, (void)W;
    if (!mc) return 0;
    Model *m = (Model *)mc;
    ClassifierState st;
    bl_enter(m, &st);
    nx_no_grad();
    nx_step_reset();
    Tensor *x = tensor_new4(m->params.device, 1, m->in_c, m->in_h, m->in_w);
    tensor_zero(x);
    model_forward(m, x);
    int rc = cam_structure(m, m->features->shape[1]);
    bl_leave(m, &st);
    return rc;
}

static int gradcam_check(const Model *mc, const void *opts, int H, int W) {
    (void)H, (void)W;
    if (!mc) return 0;
    Model *m = (Model *)mc;
    const GradCamOpts *o = opts;
    ClassifierState st;
    bl_enter(m, &st);
    nx_no_grad();
    nx_step_reset();
    Tensor *x = tensor_new4(m->params.device, 1, m->in_c, m->in_h, m->in_w);
    tensor_zero(x);
    model_forward(m, x);
    int rc = pick_layer(m, o->layer) ? 0 : -1;
    bl_leave(m, &st);
    return rc;
}

static void cam_native(const Model *m, const void *o, int H, int W, int *nh, int *nw) {
    (void)o, (void)H, (void)W;
    layer_size(m, NULL, nh, nw);
}
static void gradcam_native(const Model *m, const void *o, int H, int W, int *nh, int *nw) {
    (void)H, (void)W;
    layer_size(m, ((const GradCamOpts *)o)->layer, nh, nw);
}

static const BaselineOption cam_options[] = {
    {"internal-batch", BO_INT, offsetof(CamOpts, internal_batch), NULL, 1, 1 << 20,
     "images per forward (memory bound; default 64)"},
};
static const BaselineOption gradcam_options[] = {
    {"layer", BO_STR, offsetof(GradCamOpts, layer), NULL, 0, 0,
     "features (the last conv block, default) | stage0..stageK (the model's resolution stages)"},
    {"internal-batch", BO_INT, offsetof(GradCamOpts, internal_batch), NULL, 1, 1 << 20,
     "images per forward/backward (memory bound; default 64)"},
};

static void cam_defaults_v(void *o, int side) { cam_defaults(o, side); }
static void gradcam_defaults_v(void *o, int side) { gradcam_defaults(o, side); }
static int cam_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_cam(maps, native, m, x, t, o);
}
static int gradcam_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_gradcam(maps, native, m, x, t, o);
}

const BaselineMethod baseline_method_cam = {
    .name = "cam",
    .summary = "CAM: fc weights of the target times the last conv block (Zhou et al. 2016); GAP + fc models only",
    .opts_size = sizeof(CamOpts),
    .defaults = cam_defaults_v,
    .options = cam_options,
    .n_options = sizeof cam_options / sizeof cam_options[0],
    .check = cam_check,
    .native_size = cam_native,
    .run = cam_v,
};

const BaselineMethod baseline_method_gradcam = {
    .name = "gradcam",
    .summary = "Grad-CAM: ReLU of the layer weighted by its mean gradient (Selvaraju et al. 2017)",
    .opts_size = sizeof(GradCamOpts),
    .defaults = gradcam_defaults_v,
    .options = gradcam_options,
    .n_options = sizeof gradcam_options / sizeof gradcam_options[0],
    .check = gradcam_check,
    .native_size = gradcam_native,
    .run = gradcam_v,
};
