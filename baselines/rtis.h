/* rtis.h: Real Time Image Saliency (Dabkowski & Gal), a trained masking model.
 *
 * The masking model explains a classifier f by predicting, in one forward
 * pass, a mask m in [0, 1] over the image for a chosen class c:
 *
 *   encoder   f's own resolution stages (Model.stages[]), frozen, eval mode
 *   selector  e_c = row c of a class table (linear layer on a one-hot of c);
 *             act = sum_k deep[k] * e_c[k]  (N, 1, h, w);
 *             deep <- deep * sigmoid(act)   (gates the deepest features);
 *             exists logits (-mean act / 2, +mean act / 2)
 *   decoder   U-Net blocks from the deepest stage towards the finer ones:
 *             conv3x3 -> BN -> ReLU -> pixel_shuffle(2) -> concat(skip stage)
 *             -> bottleneck residual block; stop once the side reaches
 *             input/4 (the reference's mask resolution)
 *   head      1x1 conv to (a, b); mask = |a| / (|a| + |b| + eps), upsampled
 *             bilinearly (align_corners, as the reference's PyTorch 0.3) to
 *             the input size.
 *
 * Objective (sal/saliency_model.py SaliencyLoss; the mask m at input size):
 *   L = destroyer + 8 area + lambda_s smooth + 0.3 preserver
 *   area      = mean (m + 0.0005)^0.3
 *   smooth    = (sum dx(m)^2 + sum dy(m)^2 + 0.3 sum_border m^2) / (2 B)
 *   preserver = hinge on f(x m + alt (1 - m)): targeted on the label,
 *               relu(max_other - z_y + 1)
 *   destroyer = hinge on f(x (1 - m) + alt m): untargeted,
 *               relu(z_y - max_other + margin)
 *   With a fake selector (a class c != y, probability 0.3) the two flip:
 *   the preserved image must lose y (untargeted, margin 1) and the
 *   destroyed one keep it (targeted, margin 1).
 *   alt: per image, with probability 0.5 a Gaussian blur of x, else
 *   Gaussian noise plus a random constant colour.
 *
 * Training (saliency_train.py): phase 1 trains only the selector table on
 * the exists logits (cross-entropy against "selector is the real class",
 * fake probability 0.5, lr / 10 every 4000 steps); phase 2 trains only the
 * decoder and head on L. Adam, lr 1e-3, weight decay 1e-4.
 *
 * docs/rtis.md has the architecture table and the departures.
 */
#ifndef NX_RTIS_H
#define NX_RTIS_H

#include "data/dataset.h"
#include "layers/model.h"

#define RTIS_MAX_UP 4

/* One U-Net upsampler block (SimpleUpsamplerSubpixel + Bottleneck). */
typedef struct {
    int in, out, skip;         /* channels: input, output, concatenated skip stage */
    int skip_stage;            /* index into Model.stages[] of the skip */
    bool resize;               /* skip side != 2 x input side: resize bilinearly first */
    Conv2d up;                 /* in -> 4 out, 3x3, no bias */
    BatchNorm2d up_bn;         /* 4 out */
    Conv2d conv1, conv2, conv3;/* bottleneck: (out+skip) -> out/4 -> out/4 -> out */
    BatchNorm2d bn1, bn2, bn3;
    Conv2d shortcut;           /* 1x1 with bias: out+skip != out always here */
} RtisUp;

typedef struct {
    /* the classifier it explains */
    char arch[32];
    int n_classes, in_c, in_hw;
    /* the masking model */
    int base;                  /* upsampler base width (reference 64) */
    int deep_stage, deep_c, deep_hw;
    int n_up;
    RtisUp up[RTIS_MAX_UP];    /* up[0] is applied first (deepest) */
    Conv2d head;               /* base -> 2, 1x1, bias */
    Tensor *selector;          /* (deep_c, n_classes): e_c = selector[:, c] */
    int mask_hw;               /* side of the mask before upsampling */
    float eps;                 /* 1e-8 in |a| / (|a| + |b| + eps) */
    bool training;             /* decoder batchnorm: batch statistics */
    ParamStore params;         /* "selector.weight", "up0.*", ..., "head.*" */
} RtisModel;

/* Build the masking model for classifier m (probes m's stage shapes with
 * one forward) on m's device, initialised from the Philox stream (PyTorch
 * defaults; selector ~ N(0, 1/sqrt(deep_c))). -1 + nx_error_set when m
 * has no usable stages. */
int rtis_create(RtisModel *r, Model *m, int base);
void rtis_free(RtisModel *r);

/* Gate the deepest features by the selected classes (host (N) ints).
 * deep (N, K, h, w) -> (N, K, h, w); *exists (N, 2) when not NULL. */
Tensor *rtis_select(RtisModel *r, Tensor *deep, const int32_t *classes, Tensor **exists);
/* The masks for classes (host (N)) of images x (N, C, H, W): runs the
 * frozen classifier for the stages, then the decoder. Returns (N, 1, H, W);
 * *low (N, 1, mask_hw, mask_hw) and *exists (N, 2) when not NULL. */
Tensor *rtis_forward(RtisModel *r, Model *m, Tensor *x, const int32_t *classes, Tensor **low, Tensor **exists);

/* ---- the objective ------------------------------------------------------ */
typedef enum { RTIS_TARGET_LABEL, RTIS_TARGET_PREDICTION } RtisTarget;
typedef enum { RTIS_ALT_MIXED, RTIS_ALT_BLUR, RTIS_ALT_NOISE } RtisAlt;

typedef struct {
    float area_coef, area_power;     /* 8, 0.3 */
    float smooth_coef, border_penalty; /* 0.005 (saliency_train.py), 0.3 */
    float preserver_coef;            /* 0.3 */
    float preserver_margin;          /* 1 */
    float destroyer_margin;          /* 5 at 1000 classes; see rtis_config_default */
    float fake_prob;                 /* phase 2: 0.3 */
    float selector_fake_prob;        /* phase 1: 0.5 */
    RtisAlt alt;                     /* training: RTIS_ALT_MIXED */
    float blur_prob;                 /* 0.5 */
    float blur_sigma;                /* 11 px at 224, scaled with the side */
    int blur_kernel;                 /* odd; 55 at 224 (5 sigma) */
    float noise_std;                 /* 0.055: the reference's 0.11 on [-1, 1] */
    float colour_range;              /* 0.33: the reference's 0.66 on [-1, 1] */
    float pixel_noise;               /* 0.015: preserved_imgs_noise_std 0.03 on [-1, 1] */
    RtisAlt eval_alt;                /* metrics: RTIS_ALT_BLUR (deterministic) */
    RtisTarget target;               /* training labels: the dataset's (reference) */
    int selector_epochs, epochs;     /* phase 1, phase 2 */
    int selector_batch, batch;       /* 128, 64 */
    float lr, weight_decay;          /* 1e-3, 1e-4 */
    int selector_lr_step;            /* 4000 steps */
    int base;                        /* 64 */
    int limit;                       /* first N training images only (0: all) */
    int eval_limit;                  /* first N test images per epoch (0: all) */
    bool quiet;
} RtisConfig;

/* Reference values, with the size- and class-dependent ones scaled:
 * blur_sigma = 11 side / 224, blur_kernel = odd round(5 sigma);
 * destroyer_margin = clamp(5 ln K / ln 1000, 2, 5) (2 at 10 classes). */
RtisConfig rtis_config_default(int side, int n_classes);

/* Pieces of the objective, each on its own (tested by hand in suite_rtis).
 * mask (N, 1, H, W) -> 0-dim. */
Tensor *rtis_area_loss(Tensor *mask, float power);
Tensor *rtis_smooth_loss(Tensor *mask, float border_penalty);
/* logits (N, K), labels host (N), targeted host (N) -> 0-dim:
 *   mean_n [targeted ? relu(max_{j!=y} z_j - z_y + t_conf) : relu(z_y - max_{j!=y} z_j + nt_conf)] */
Tensor *rtis_hinge_loss(Tensor *logits, const int32_t *labels, const bool *targeted, float t_conf, float nt_conf);
/* x * keep + alt * (1 - keep); keep (N, 1, H, W) broadcasts over channels. */
Tensor *rtis_mix(Tensor *x, Tensor *keep, Tensor *alt);
/* The alternative image (no gradient) drawn from the Philox stream. */
Tensor *rtis_alternative(Tensor *x, const RtisConfig *c, RtisAlt kind);
/* Depthwise Gaussian blur, zero padding (as the reference's conv2d). */
Tensor *rtis_blur(Tensor *x, float sigma, int kernel);

typedef struct {
    double total, destroyer, area, smooth, preserver;
} RtisLoss;

/* L for masks of (possibly fake) selectors; is_real (N) host. Fills parts. */
Tensor *rtis_objective(RtisLoss *parts, const RtisConfig *c, Model *m, Tensor *x, Tensor *mask,
                       const int32_t *labels, const bool *is_real);

/* ---- training, metrics, saving ------------------------------------------ */
typedef struct {
    double preservation; /* f(x m + alt (1 - m)) == f(x) */
    double destruction;  /* f(x (1 - m) + alt m) != f(x) */
    double area;         /* mean mask */
    double exists_acc;   /* phase 1: selector accuracy */
    RtisLoss loss;       /* training losses of the last epoch */
    int64_t n;
} RtisStats;

/* Train r for classifier m (frozen, eval mode). resume_state (may be NULL)
 * is a training-state file saved by save_cb: training continues after its
 * epoch (epochs count phase 1, then phase 2). After every epoch save_cb
 * (may be NULL) is called with the epochs completed and the optimizer. */
struct Optimizer;
typedef int (*RtisSaveFn)(void *arg, int epoch, struct Optimizer *opt);
int rtis_train(RtisModel *r, Model *m, const Dataset *train, const Dataset *test, const RtisConfig *c,
               const char *resume_state, RtisSaveFn save_cb, void *save_arg, RtisStats *out);
/* Optimizer of the phase epoch e belongs to (for state save/load). */
struct Optimizer *rtis_make_optimizer(RtisModel *r, const RtisConfig *c, int epoch);

/* Masks for the classifier's predictions on d; preservation, destruction, area. */
RtisStats rtis_evaluate(RtisModel *r, Model *m, const Dataset *d, const RtisConfig *c, int batch, int limit);

/* maps (N, H, W) host: the masks for classes (host (N), NULL: the
 * classifier's predictions, written to pred (N) when not NULL) of host
 * images x (N, C, H, W); native (N, mask_hw, mask_hw) the masks before
 * upsampling, when not NULL. One forward of the masking model. */
int rtis_explain(float *maps, float *native, int32_t *pred, RtisModel *r, Model *m, const float *x, int n,
                 const int32_t *classes);

/* Fingerprint of a classifier's weights (FNV-1a of its parameter bytes). */
uint64_t rtis_classifier_fingerprint(const Model *m);
/* The masking model and its settings; names the classifier (arch, classes,
 * input, file, fingerprint). */
int rtis_save(const char *path, const RtisModel *r, const Model *m, const RtisConfig *c, const char *classifier_file,
              const char *dataset);
/* The classifier file named in an RTIS file's metadata (for a default
 * --classifier); a relative name that does not exist from here is looked
 * up in the models folder (NX_MODELS_DIR) by its base name. */
int rtis_classifier_file(const char *path, char *out, size_t size);
/* Load an RTIS file for classifier m: refuses (-1, nx_error_set with both
 * descriptions) an architecture, class count or input size that differ.
 * c (may be NULL) gets the saved settings. *weights_differ (may be NULL) is
 * set when m's fingerprint is not the one it was trained against. */
int rtis_load(const char *path, RtisModel *r, Model *m, RtisConfig *c, bool *weights_differ);

#endif
