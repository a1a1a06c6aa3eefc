/* nice.h: NICE, Neural Image Compression and Explanation (Li & Ji).
 *
 * A generator G maps an image x to log_alpha, one value per pixel. A
 * hard-concrete gate turns log_alpha into a mask z in [0, 1] that is exactly
 * 0 or 1 for most pixels; the classifier D sees the mixed-resolution image
 *     x~ = x * z + x_b * (1 - z)      (eq. 13; x_b: x averaged in b x b blocks)
 * and the loss  L = L_D + lambda1 * L_C + lambda2 * L_S  (eq. 11) trades
 * classification (L_D, cross-entropy on x~) against the expected number of
 * open gates (L_C, eq. 6/10) and their smoothness (L_S, eq. 9).
 * docs/nice.md walks through the equations and these functions.
 */
#ifndef NX_NICE_H
#define NX_NICE_H

#include "layers/model.h"

/* ---- the hard-concrete gate (nice/hard_concrete.c) --------------------- */
typedef enum {
    NICE_TEST_PAPER, /* eq. 12: z^ = clamp01(sigmoid(log_alpha / beta) (zeta - gamma) + gamma) */
    NICE_TEST_L0,    /* the authors' code and Louizos et al.: sigmoid(log_alpha) without / beta */
} NiceTestMask;

typedef enum {
    NICE_NORM_MEAN, /* mean over pixels and images */
    NICE_NORM_SUM,  /* sum over the pixels of an image, mean over images */
    NICE_NORM_DATASET, /* L_C only: the per-image sum divided by the number of
                        * training images, as Louizos et al.'s L0 code divides
                        * its penalty by N (HardConcrete.dataset_size) */
} NiceNorm;

typedef struct {
    float beta, gamma, zeta; /* 2/3, -0.1, 1.1 (the authors' code: beta 0.66) */
    float noise_eps;         /* u is clamped to [eps, 1 - eps]: 1e-6 */
    NiceTestMask test_mask;  /* default NICE_TEST_PAPER */
    NiceNorm capacity_norm;  /* L_C: default NICE_NORM_MEAN (the authors' code) */
    NiceNorm smooth_norm;    /* L_S: default NICE_NORM_SUM (eq. 9 as printed) */
    int64_t dataset_size;    /* N for NICE_NORM_DATASET */
} HardConcrete;

HardConcrete hc_default(void);
/* Training-time sample, one uniform per element from the Philox stream:
 *   s = sigmoid((log u - log(1 - u) + log_alpha) / beta)          (eq. 7)
 *   z = min(1, max(0, s (zeta - gamma) + gamma))                   (eq. 8) */
Tensor *hc_sample(const HardConcrete *hc, Tensor *log_alpha);
/* P(z != 0) = sigmoid(log_alpha - beta log(-gamma / zeta))          (eq. 10) */
Tensor *hc_prob_nonzero(const HardConcrete *hc, Tensor *log_alpha);
/* The deterministic test-time mask (eq. 12, or the L0 paper's form). */
Tensor *hc_test_mask(const HardConcrete *hc, Tensor *log_alpha);
/* L_C: the expected fraction (or count) of open gates.               (eq. 6) */
Tensor *nice_capacity_loss(const HardConcrete *hc, Tensor *log_alpha);
/* L_S: L1 differences of P(z != 0) with 4 neighbours.                (eq. 9) */
Tensor *nice_smooth_loss(const HardConcrete *hc, Tensor *log_alpha);

/* ---- mixed-resolution images (nice/mixres.c) ---------------------------- */
typedef enum {
    NICE_BG_BLOCKS, /* eq. 13: x * z + x_b * (1 - z) */
    NICE_BG_ZERO,   /* the authors' MNIST code: x * z (black background) */
} NiceBackground;

/* x_b: x averaged over b x b blocks, replicated back (nearest). b = 1 gives
 * x; b = the image side gives the per-image, per-channel mean. H and W must
 * be multiples of b. */
Tensor *nice_block_average(Tensor *x, int b);
/* x (N, C, H, W), z (N, 1, H, W) -> x~ (N, C, H, W) */
Tensor *nice_mix(Tensor *x, Tensor *z, int b, NiceBackground bg);

/* ---- generators (nice/generator.c), Table 1 ----------------------------- */
typedef struct {
    char arch[16];    /* "mnist", "cifar", "caltech" */
    int in_c, hw;
    ParamStore params;
    Conv2d conv[3];
    int n_conv;
} Generator;

/* arch "auto" picks by input size: 28 -> mnist, 32 -> cifar, larger
 * multiples of 8 -> caltech. -1 with nx_error_set on a bad combination.
 * Initialised from the Philox stream (call rng_seed first). */
int generator_create(Generator *g, const char *arch, int in_c, int hw, Device d);
void generator_free(Generator *g);
/* x (N, C, H, W) -> log_alpha (N, 1, H, W) */
Tensor *generator_forward(Generator *g, Tensor *x);

/* ---- the options' names (nice/names.c): flags and file metadata -------- */
/* background "blocks" | "zero"; test mask "paper" | "l0"; L_C norm "mean" |
 * "sum" | "dataset"; L_S norm "sum" | "mean". The parsers return -1 +
 * nx_error_set("'x' is not blocks or zero") on anything else. */
int nice_background_parse(const char *s, NiceBackground *out);
int nice_test_mask_parse(const char *s, NiceTestMask *out);
int nice_capacity_norm_parse(const char *s, NiceNorm *out);
int nice_smooth_norm_parse(const char *s, NiceNorm *out);
const char *nice_background_name(NiceBackground bg);
const char *nice_test_mask_name(NiceTestMask tm);
const char *nice_norm_name(NiceNorm n);

#endif
