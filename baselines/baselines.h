/* baselines.h: the explanation methods NICE is compared with, on the same engine.
 *
 * Every method is a library function with one signature,
 *
 *   int baseline_<method>(float *maps,        // (N, H, W) host, at input resolution; larger = more important
 *                         float *native,      // (N, h, w) host at the method's own resolution, or NULL
 *                         Model *m,           // the classifier; eval mode and frozen during the call
 *                         const Tensor *x,    // (N, C, H, W) the images, on m's device
 *                         const int32_t *target, // (N) host, the class explained per image
 *                         const <Method>Opts *o);
 *
 * returning 0, or -1 with nx_error_set() naming the option (by its CLI flag)
 * or the model property that is wrong. During the call the classifier runs
 * in eval mode with every parameter frozen; afterwards its parameters,
 * buffers, gradients, training flag, requires_grad flags and the grad mode
 * are exactly as before (baselines/common.c, bl_enter / bl_leave).
 * The calls reset the step arena (x is copied first): step tensors the
 * caller holds are invalid afterwards.
 *
 * The method table (baseline_methods[]) describes each method by name, its
 * options (CLI flag, type, where it lives in the options struct, default,
 * valid range), its native-resolution size and its run function, so the
 * CLI (cli/explain.c), the docs and the metadata of maps.safetensors are
 * driven by one list: adding a method is one table entry plus its file.
 *
 * Each method's options struct starts with BaselineCommon (seed, per-image
 * stream ids), so generic code can set those through a void pointer.
 * docs/baselines.md describes every method, its reference and defaults.
 */
#ifndef NX_BASELINES_H
#define NX_BASELINES_H

#include <stddef.h>

#include "layers/model.h"

/* ---- options shared by every method ------------------------------------ */
typedef struct {
    uint64_t seed;        /* every random draw (random control, noise, jitter, initial masks) */
    const int32_t *ids;   /* (N) or NULL (= 0..N-1): image i draws from stream (seed, method, ids[i]),
                           * so a map does not depend on which batch the image came in */
    bool quiet;           /* no progress bar */
} BaselineCommon;

/* ---- Saliency Map (baselines/saliency.c) -------------------------------- */
typedef struct {
    BaselineCommon common;
    int internal_batch;   /* images per forward/backward (default 64) */
} SaliencyOpts;

/* ---- CAM and Grad-CAM (baselines/cam.c) ---------------------------------- */
typedef struct {
    BaselineCommon common;
    int internal_batch;   /* default 64 */
} CamOpts;

typedef struct {
    BaselineCommon common;
    const char *layer;    /* "features" (the last conv block, default) or "stage0".."stage4" */
    int internal_batch;   /* default 64 */
} GradCamOpts;

/* ---- Integrated Gradients (baselines/ig.c) -------------------------------- */
typedef enum { IG_RIEMANN_RIGHT, IG_RIEMANN_LEFT, IG_RIEMANN_MIDDLE, IG_RIEMANN_TRAPEZOID, IG_GAUSS_LEGENDRE } IgRule;
typedef enum { BL_BASELINE_BLACK, BL_BASELINE_BLUR } BaselineImage;
typedef enum { IG_MAP_SIGNED, IG_MAP_ABS } IgMap;

typedef struct {
    BaselineCommon common;
    int steps;            /* path points (default 50, Captum's) */
    int rule;             /* IgRule (default riemann_right: the paper's eq. 3) */
    int baseline;         /* BaselineImage (default black) */
    float blur_sigma;     /* sigma of the blurred baseline, pixels (default 5 * side / 224, at least 1) */
    int map;              /* IgMap: channel sum (signed, default) or its absolute value */
    int internal_batch;   /* path points (over all images) per forward/backward (default 64) */
} IgOpts;

/* ---- Fong-Vedaldi masks, the deletion game (baselines/mask.c) -------------- */
typedef enum { FV_AUTHORS, FV_PORT } FvVariant;

typedef struct {
    BaselineCommon common;
    int variant;          /* FvVariant: the authors' Lua code (default) | the popular PyTorch port */
    int mask_size;        /* mask side (default: the divisor of the input side nearest side / 8) */
    int iters;            /* Adam iterations (300) */
    float lr;             /* Adam learning rate (0.1) */
    float l1, tv;         /* authors: lambda1 1e-4, lambda2 1e-2, per cell of a 28x28 mask */
    float port_l1, port_tv; /* port: 0.01 on mean|1-m|, 0.2 on the anisotropic TV means */
    float tv_beta;        /* beta (3) */
    float mask_sigma;     /* authors: blur of the upsampled mask (5 at 224, scaled by side / 224) */
    float blur_sigma;     /* blur of the perturbation image (10 at 224, scaled by side / 224) */
    int jitter;           /* authors: jitter tau, shifts drawn from [0, tau) (4 at 224, scaled; 1 = none) */
    int internal_batch;   /* images optimised together (default 16) */
} MaskOpts;

/* ---- I-GOS (baselines/igos.c) ------------------------------------------------ */
typedef enum { IGOS_LS_PAPER, IGOS_LS_CODE } IgosLsFail;

typedef struct {
    BaselineCommon common;
    int mask_size;        /* mask side (default: 1/8 of the input side, the nearest divisor) */
    int iters;            /* outer iterations (15) */
    int points;           /* integrated-gradient points (20) */
    float l1, tv;         /* weights of mean|1-M| and the squared-difference TV (1, 20) */
    float tv_beta;        /* 2 */
    float noise;          /* std of the noise added per path point, input units (0.2 * 0.225 = 0.045) */
    float blur_sigma;     /* baseline blur sigma (50 at 224, scaled by side / 224) */
    int blur_kernel;      /* baseline blur kernel side (51 at 224, scaled, odd) */
    float ls_start, ls_decay, ls_beta, ls_min; /* 200, 0.2, 1e-4, 1e-5 */
    int ls_fail;          /* IgosLsFail: paper (use ls_min) | code (the last step tried) */
    bool adaptive_l1;     /* the demo's L1 / 10 at iters/2 and / 5 at iters/1.25 (default on) */
    int internal_batch;   /* images optimised together (default 8) */
    /* test hook: when not NULL, called after every line search with the
     * image's loss before (f0), after (f1), |g|^2, the accepted step and
     * whether the search ended at the lower bound */
    void (*on_step)(void *ctx, int image, double f0, double f1, double g2, double step, bool at_bound);
    void *on_step_ctx;
} IgosOpts;

/* ---- controls (baselines/controls.c) ---------------------------------------- */
typedef struct {
    BaselineCommon common;
} ControlOpts;

/* ---- NICE through the same interface (baselines/nice_method.c) ------------ */
typedef struct {
    BaselineCommon common;
    const char *gen;      /* NICE file (nicex nice train); NULL: the shipped LeNet5 generator */
    const char *map;      /* "log_alpha" (default: continuous, ranks every pixel) | "mask" (the test-time z) */
} NiceMethodOpts;

int baseline_saliency(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const SaliencyOpts *o);
int baseline_cam(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const CamOpts *o);
int baseline_gradcam(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const GradCamOpts *o);
int baseline_ig(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const IgOpts *o);
int baseline_mask(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const MaskOpts *o);
int baseline_igos(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const IgosOpts *o);
int baseline_random(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const ControlOpts *o);
int baseline_intensity(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const ControlOpts *o);
int baseline_nice(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const NiceMethodOpts *o);

/* Defaults for an input of side `side` (the reference constants, scaled as docs/baselines.md says). */
void saliency_defaults(SaliencyOpts *o, int side);
void cam_defaults(CamOpts *o, int side);
void gradcam_defaults(GradCamOpts *o, int side);
void ig_defaults(IgOpts *o, int side);
void mask_defaults(MaskOpts *o, int side);
void igos_defaults(IgosOpts *o, int side);
void control_defaults(ControlOpts *o, int side);
void nice_method_defaults(NiceMethodOpts *o, int side);

/* ---- the method table ---------------------------------------------------- */
typedef enum { BO_INT, BO_FLOAT, BO_CHOICE, BO_STR, BO_BOOL } BaselineOptType;

typedef struct {
    const char *name;     /* the CLI flag, without "--" */
    BaselineOptType type; /* BO_INT: int; BO_FLOAT: float; BO_CHOICE: int index into choices;
                           * BO_STR: const char *; BO_BOOL: bool ("on" | "off") */
    size_t offset;        /* in the method's options struct */
    const char *choices;  /* BO_CHOICE: "a|b|c" */
    double lo, hi;        /* BO_INT / BO_FLOAT: valid range, inclusive */
    const char *help;     /* what it is and where the default comes from */
} BaselineOption;

#define BL_MAX_OPTIONS 24

typedef struct BaselineMethod {
    const char *name;     /* --method NAME */
    const char *summary;  /* one line for --help */
    size_t opts_size;     /* sizeof the options struct (starts with BaselineCommon) */
    void (*defaults)(void *opts, int side);
    const BaselineOption *options;
    int n_options;
    /* Checks the options against the model and the input size: -1 +
     * nx_error_set("--flag: ...") when they cannot work. May be NULL. */
    int (*check)(const Model *m, const void *opts, int H, int W);
    /* The native map's size (0 x 0: none). May be NULL (none). */
    void (*native_size)(const Model *m, const void *opts, int H, int W, int *nh, int *nw);
    int (*run)(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const void *opts);
} BaselineMethod;

/* NULL-terminated, in the order --help lists them. */
extern const BaselineMethod *const baseline_methods[];
const BaselineMethod *baseline_find(const char *name);
/* "saliency|cam|..." for messages. */
const char *baseline_names(void);

/* Set option `name` of method bm in opts from its text form (CLI): -1 +
 * nx_error_set("--name: ...") when unknown, malformed or out of range. */
int baseline_set_option(const BaselineMethod *bm, void *opts, const char *name, const char *value);
/* The text form of an option's current value (rotating static buffer). */
const char *baseline_option_str(const BaselineOption *op, const void *opts);
/* Range-check every option (for values set in code), then bm->check. */
int baseline_check(const BaselineMethod *bm, const Model *m, const void *opts, int H, int W);

/* ---- helpers shared by the methods (baselines/common.c) --------------------- */
/* What bl_enter changes and bl_leave restores. */
typedef struct {
    bool training, grad_mode;
    bool requires_grad[NX_MAX_PARAMS];
} ClassifierState;
/* Eval mode, every parameter frozen, grad mode on. */
void bl_enter(Model *m, ClassifierState *s);
void bl_leave(Model *m, const ClassifierState *s);

/* Persistent device copy of x (outlives step resets): free with device_free. */
float *bl_copy_input(const Tensor *x);
/* A step tensor over rows [i0, i0 + n) of a persistent (N, C, H, W) buffer. */
Tensor *bl_rows(float *buf, Device d, int i0, int n, int C, int H, int W);
/* logits (N, K) -> one-hot gradient seed / weights (N, K) on the host for targets[0..N). */
float *bl_onehot(const int32_t *target, int n, int k);
/* Stream seed of image i for a method tag. */
uint64_t bl_stream(const BaselineCommon *c, uint64_t tag, int i);
/* Gaussian taps g[0..2r] with sum 1 (sigma > 0). */
void bl_gaussian(float *g /* (2r + 1) */, int r, float sigma);
/* Blur every channel of x (N, C, H, W) with a normalised separable Gaussian
 * (kernel 2r + 1, sigma), renormalised at the borders (each output is a
 * weighted mean of in-image pixels only). Not differentiable: x is data. */
Tensor *bl_blur(Tensor *x, int r, float sigma);
/* Differentiable Gaussian blur of a 1-channel map m (N, 1, H, W), with the
 * same border renormalisation, from existing ops (two 1-D depthwise convs). */
Tensor *bl_blur_map(Tensor *m, int r, float sigma);
/* dst (N, oh, ow) = bilinear resize of src (N, h, w) (align_corners false), host. */
void bl_resize(float *dst, int oh, int ow, const float *src, int n, int h, int w, bool align_corners);
/* grad (N, C, H, W) of each image's target logit at x (a step tensor; its
 * requires_grad is set) into g (host); the target logits into logit_out (N) when not NULL. */
void bl_input_gradient(float *g, Model *m, Tensor *x, const int32_t *target, float *logit_out);
/* Softmax probability of each image's target class: logits (N, K) -> (N) tensor. */
Tensor *bl_target_prob(Tensor *logits, const int32_t *target);
/* The divisor of side nearest to side / 8 (ties to the larger one). */
int bl_default_mask_size(int side);

#endif
