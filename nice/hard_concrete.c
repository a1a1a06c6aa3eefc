/* hard_concrete.c: the hard-concrete gate and the NICE regularisers.
 *
 * Everything here is composed of registry ops (sigmoid, scale, add, clamp,
 * mean, neighbor_l1), so the gradients come from the tape and each piece is
 * checked by the op tests; tests/suite_nice.c checks the compositions
 * against closed forms.
 *
 * Gradient of the gate. With t = (noise + log_alpha) / beta and
 * s = sigmoid(t), z = clamp01(s (zeta - gamma) + gamma):
 *     dz/dlog_alpha = (zeta - gamma) s (1 - s) / beta   where 0 < z < 1
 *                   = 0                                  where z is 0 or 1
 * (the clamp passes gradient only strictly inside, like PyTorch's hardtanh),
 * so a saturated gate gets no data-loss gradient from that sample; only
 * L_C and L_S, which use log_alpha directly, still move it.
 */
#include "nice/nice.h"
#include "autograd/op.h"
#include "kernels/nice.h"
#include "tensor/rng.h"

#include <math.h>

HardConcrete hc_default(void) {
    return (HardConcrete){.beta = 2.0f / 3.0f,
                          .gamma = -0.1f,
                          .zeta = 1.1f,
                          .noise_eps = 1e-6f,
                          .test_mask = NICE_TEST_PAPER,
                          .capacity_norm = NICE_NORM_MEAN,
                          .smooth_norm = NICE_NORM_SUM};
}

/* log u - log(1 - u), u ~ U(0, 1) from the Philox stream: a constant input. */
static Tensor *logistic_noise(const HardConcrete *hc, const Tensor *like) {
    Tensor *noise = tensor_like(like);
    uint64_t offset = rng_take((uint64_t)noise->numel);
    DISPATCH(noise->device, logistic_noise, noise->data, noise->numel, rng_get_seed(), offset, hc->noise_eps);
    return noise;
}

/* clamp01(s (zeta - gamma) + gamma): stretch to (gamma, zeta), then clip. */
static Tensor *stretch_and_clip(const HardConcrete *hc, Tensor *s) {
    return nx_clamp(nx_scale(s, hc->zeta - hc->gamma, hc->gamma), 0.0f, 1.0f);
}

Tensor *hc_sample(const HardConcrete *hc, Tensor *log_alpha) {
    Tensor *t = nx_scale(nx_add(log_alpha, logistic_noise(hc, log_alpha)), 1.0f / hc->beta, 0.0f);
    return stretch_and_clip(hc, nx_sigmoid(t));
}

Tensor *hc_prob_nonzero(const HardConcrete *hc, Tensor *log_alpha) {
    return nx_sigmoid(nx_scale(log_alpha, 1.0f, -hc->beta * logf(-hc->gamma / hc->zeta)));
}

Tensor *hc_test_mask(const HardConcrete *hc, Tensor *log_alpha) {
    float inv = hc->test_mask == NICE_TEST_PAPER ? 1.0f / hc->beta : 1.0f;
    return stretch_and_clip(hc, nx_sigmoid(nx_scale(log_alpha, inv, 0.0f)));
}

/* mean over everything, or per-image sum then mean over the batch */
static Tensor *normalise(Tensor *per_pixel_or_image, NiceNorm norm, int64_t pixels_per_image, bool per_image) {
    Tensor *m = nx_mean(per_pixel_or_image, NX_ALL, false);
    if (norm == NICE_NORM_SUM && !per_image) return nx_scale(m, (float)pixels_per_image, 0.0f);
    if (norm == NICE_NORM_MEAN && per_image) return nx_scale(m, 1.0f / (float)pixels_per_image, 0.0f);
    return m;
}

Tensor *nice_capacity_loss(const HardConcrete *hc, Tensor *log_alpha) {
    int64_t pixels = log_alpha->numel / log_alpha->shape[0];
    if (hc->capacity_norm == NICE_NORM_DATASET) {
        NX_CHECK(hc->dataset_size > 0, "capacity norm 'dataset' needs HardConcrete.dataset_size");
        Tensor *per_image_sum = normalise(hc_prob_nonzero(hc, log_alpha), NICE_NORM_SUM, pixels, false);
        return nx_scale(per_image_sum, 1.0f / (float)hc->dataset_size, 0.0f);
    }
    return normalise(hc_prob_nonzero(hc, log_alpha), hc->capacity_norm, pixels, false);
}

Tensor *nice_smooth_loss(const HardConcrete *hc, Tensor *log_alpha) {
    int64_t pixels = log_alpha->numel / log_alpha->shape[0];
    Tensor *per_image = nx_neighbor_l1(hc_prob_nonzero(hc, log_alpha)); /* (N) */
    return normalise(per_image, hc->smooth_norm, pixels, true);
}
