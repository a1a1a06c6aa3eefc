/* suite_nice.c: NICE pieces against known answers.
 *   - the sampled gate: P(z != 0) and E[z] against their closed forms
 *   - the gate's gradient: finite differences inside, exactly 0 saturated
 *   - L_C and L_S on hand-computed masks
 *   - the mixed-resolution image at b = 1, b = side, and by hand at b = 2
 *   - the generators' output shapes
 */
#include "tests/testlib.h"
#include "nice/nice.h"
#include "tensor/rng.h"
#include "data/dataset.h"
#include "data/image.h"
#include "eval/render.h"

#include <stdio.h>

#include <math.h>
#include <stdlib.h>

static double sigmoid(double t) { return 1.0 / (1.0 + exp(-t)); }

/* E[z] = integral_0^1 P(z > t) dt, P(z > t) = sigmoid(la - beta log((t - gamma) / (zeta - t))). */
static double hc_mean_closed(const HardConcrete *hc, double la) {
    int n = 20000;
    double s = 0;
    for (int i = 0; i < n; i++) {
        double t = (i + 0.5) / n; /* midpoint rule */
        s += sigmoid(la - hc->beta * log((t - hc->gamma) / (hc->zeta - t)));
    }
    return s / n;
}

START_TEST(test_gate_moments_match_closed_form) {
    HardConcrete hc = hc_default();
    const float las[] = {-2.0f, 0.0f, 1.5f};
    for (int k = 0; k < 3; k++) {
        nx_step_reset();
        rng_seed(7 + k);
        int n = 100000;
        Tensor *la = tensor_newv(NX_CPU, NX_F32, 4, n, 1, 1, 1);
        tensor_fill(la, las[k]);
        Tensor *z = hc_sample(&hc, la);
        double nonzero = 0, mean = 0;
        for (int i = 0; i < n; i++) nonzero += z->data[i] != 0, mean += z->data[i];
        nonzero /= n, mean /= n;
        double p_closed = sigmoid(las[k] - hc.beta * log(-hc.gamma / hc.zeta));
        double m_closed = hc_mean_closed(&hc, las[k]);
        ck_assert_msg(fabs(nonzero - p_closed) < 0.01 * p_closed, "log_alpha %g: P(z!=0) %.4f, closed form %.4f",
                      las[k], nonzero, p_closed);
        ck_assert_msg(fabs(mean - m_closed) < 0.01 * m_closed, "log_alpha %g: E[z] %.4f, closed form %.4f", las[k],
                      mean, m_closed);
        /* the capacity map is the same closed form */
        Tensor *y = hc_prob_nonzero(&hc, la);
        ck_assert(fabs(y->data[0] - p_closed) < 1e-6);
    }
    nx_step_reset();
}
END_TEST

static Tensor *sample_fn(Tensor **in, void *arg) { return hc_sample((HardConcrete *)arg, in[0]); }

START_TEST(test_gate_gradient) {
    HardConcrete hc = hc_default();
    nx_step_reset();
    rng_seed(3);
    /* unsaturated region: small |log_alpha|; gradcheck rewinds the stream, so
     * every evaluation sees the same noise. Saturated samples are kinks or flat. */
    Tensor *la = test_uniform4(2, 1, 5, 5, -0.3f, 0.3f);
    la->requires_grad = true;
    ck_assert_int_eq(gradcheck("hc_sample", sample_fn, &la, 1, &hc, 1e-3, 2e-3), 0);

    /* saturated: log_alpha = +-20 gives z exactly 1 / 0 and a gradient exactly 0 */
    nx_step_reset();
    Tensor *sat = tensor_newv(NX_CPU, NX_F32, 4, 1, 1, 2, 2);
    float v[4] = {20, -20, 20, -20};
    for (int i = 0; i < 4; i++) sat->data[i] = v[i];
    sat->requires_grad = true;
    Tensor *z = hc_sample(&hc, sat);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(z->data[i], v[i] > 0 ? 1.0f : 0.0f);
    float ones[4] = {1, 1, 1, 1};
    tape_backward_from(z, ones);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(sat->grad[i], 0.0f);
    nx_step_reset();
}
END_TEST

START_TEST(test_test_mask_estimators) {
    HardConcrete hc = hc_default();
    nx_step_reset();
    Tensor *la = tensor_newv(NX_CPU, NX_F32, 4, 1, 1, 1, 3);
    la->data[0] = 0.0f, la->data[1] = 1.0f, la->data[2] = -5.0f;
    Tensor *paper = hc_test_mask(&hc, la);
    hc.test_mask = NICE_TEST_L0;
    Tensor *l0 = hc_test_mask(&hc, la);
    for (int i = 0; i < 3; i++) {
        double a = la->data[i];
        double p = fmin(1, fmax(0, sigmoid(a / (2.0 / 3.0)) * 1.2 - 0.1));
        double q = fmin(1, fmax(0, sigmoid(a) * 1.2 - 0.1));
        ck_assert_msg(fabs(paper->data[i] - p) < 1e-6, "eq. 12 at %g: %g vs %g", a, paper->data[i], p);
        ck_assert_msg(fabs(l0->data[i] - q) < 1e-6, "L0 form at %g: %g vs %g", a, l0->data[i], q);
    }
    ck_assert_float_eq(paper->data[0], 0.5f); /* sigmoid(0) = 1/2 stretched: 0.5 */
    ck_assert_float_eq(paper->data[2], 0.0f);
    nx_step_reset();
}
END_TEST

/* log_alpha chosen so that P(z != 0) is a given map: la = logit(y) + beta log(-gamma/zeta). */
static Tensor *log_alpha_for(const HardConcrete *hc, int n, int h, int w, const double *y) {
    Tensor *la = tensor_newv(NX_CPU, NX_F32, 4, n, 1, h, w);
    for (int i = 0; i < n * h * w; i++)
        la->data[i] = (float)(log(y[i] / (1 - y[i])) + hc->beta * log(-hc->gamma / hc->zeta));
    return la;
}

START_TEST(test_capacity_and_smoothness_by_hand) {
    HardConcrete hc = hc_default();
    nx_step_reset();
    /* one image 2x3, P(z != 0) =
     *   0.2 0.4 0.6
     *   0.8 0.4 0.2
     * L_C (mean) = 2.6 / 6. L_S (per-image sum over the up, left, up-left and
     * up-right neighbours):
     *   left:     |0.4-0.2|+|0.6-0.4|+|0.4-0.8|+|0.2-0.4| = 1.0
     *   up:       |0.8-0.2|+|0.4-0.4|+|0.2-0.6|          = 1.0
     *   up-left:  |0.4-0.2|+|0.2-0.4|                    = 0.4
     *   up-right: |0.8-0.4|+|0.4-0.6|                    = 0.6   total 3.0 */
    double y[6] = {0.2, 0.4, 0.6, 0.8, 0.4, 0.2};
    Tensor *la = log_alpha_for(&hc, 1, 2, 3, y);
    ck_assert(fabs(nice_capacity_loss(&hc, la)->data[0] - 2.6 / 6) < 1e-5);
    ck_assert(fabs(nice_smooth_loss(&hc, la)->data[0] - 3.0) < 1e-5);
    hc.capacity_norm = NICE_NORM_SUM;
    hc.smooth_norm = NICE_NORM_MEAN;
    ck_assert(fabs(nice_capacity_loss(&hc, la)->data[0] - 2.6) < 1e-5);
    ck_assert(fabs(nice_smooth_loss(&hc, la)->data[0] - 3.0 / 6) < 1e-5);
    hc.capacity_norm = NICE_NORM_DATASET; /* the L0 code: per-image sum / N */
    hc.dataset_size = 13;
    ck_assert(fabs(nice_capacity_loss(&hc, la)->data[0] - 2.6 / 13) < 1e-6);
    /* two images: the batch is averaged */
    hc = hc_default();
    double y2[12] = {0.2, 0.4, 0.6, 0.8, 0.4, 0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    Tensor *la2 = log_alpha_for(&hc, 2, 2, 3, y2);
    ck_assert(fabs(nice_smooth_loss(&hc, la2)->data[0] - 1.5) < 1e-5);
    ck_assert(fabs(nice_capacity_loss(&hc, la2)->data[0] - (2.6 + 3.0) / 12) < 1e-5);
    nx_step_reset();
}
END_TEST

START_TEST(test_mixed_resolution) {
    nx_step_reset();
    Tensor *x = test_uniform4(2, 3, 4, 4, 0, 1);
    Tensor *z = test_uniform4(2, 1, 4, 4, 0, 1);
    /* b = 1: x~ = x whatever z */
    Tensor *m1 = nice_mix(x, z, 1, NICE_BG_BLOCKS);
    for (int64_t i = 0; i < x->numel; i++) ck_assert(fabsf(m1->data[i] - x->data[i]) < 1e-6f);
    /* b = side, z = 0: the per-image, per-channel mean */
    Tensor *z0 = tensor_newv(NX_CPU, NX_F32, 4, 2, 1, 4, 4);
    tensor_zero(z0);
    Tensor *m4 = nice_mix(x, z0, 4, NICE_BG_BLOCKS);
    for (int nc = 0; nc < 6; nc++) {
        double mean = 0;
        for (int i = 0; i < 16; i++) mean += x->data[nc * 16 + i];
        mean /= 16;
        for (int i = 0; i < 16; i++) ck_assert(fabs(m4->data[nc * 16 + i] - mean) < 1e-6);
    }
    /* b = 2 by hand on one 1-channel 4x4 image, z = 1 on the first row only */
    Tensor *x1 = tensor_newv(NX_CPU, NX_F32, 4, 1, 1, 4, 4), *z1 = tensor_newv(NX_CPU, NX_F32, 4, 1, 1, 4, 4);
    for (int i = 0; i < 16; i++) x1->data[i] = (float)i, z1->data[i] = i < 4 ? 1.0f : (i < 8 ? 0.5f : 0.0f);
    /* block means: top-left (0,1,4,5) 2.5, top-right (2,3,6,7) 4.5, bottom-left 10.5, bottom-right 12.5 */
    float want[16] = {0, 1, 2, 3, /* row 1: half-way between x and the block mean */ (4 + 2.5f) / 2,
                      (5 + 2.5f) / 2, (6 + 4.5f) / 2, (7 + 4.5f) / 2, 10.5f, 10.5f, 12.5f, 12.5f, 10.5f,
                      10.5f, 12.5f, 12.5f};
    Tensor *m2 = nice_mix(x1, z1, 2, NICE_BG_BLOCKS);
    for (int i = 0; i < 16; i++) ck_assert_msg(fabsf(m2->data[i] - want[i]) < 1e-5f, "b=2 pixel %d", i);
    Tensor *mz = nice_mix(x1, z1, 2, NICE_BG_ZERO);
    for (int i = 0; i < 16; i++) ck_assert(fabsf(mz->data[i] - x1->data[i] * z1->data[i]) < 1e-6f);
    nx_step_reset();
}
END_TEST

START_TEST(test_generator_shapes) {
    const struct {
        const char *arch;
        int c, hw;
    } g[] = {{"mnist", 1, 28}, {"cifar", 3, 32}, {"caltech", 3, 64}, {"auto", 3, 224}};
    for (int i = 0; i < 4; i++) {
        Generator gen;
        rng_seed(1);
        ck_assert_int_eq(generator_create(&gen, g[i].arch, g[i].c, g[i].hw, NX_CPU), 0);
        nx_step_reset();
        Tensor *la = generator_forward(&gen, test_uniform4(2, g[i].c, g[i].hw, g[i].hw, 0, 1));
        ck_assert_int_eq(la->shape[0], 2);
        ck_assert_int_eq(la->shape[1], 1);
        ck_assert_int_eq(la->shape[2], g[i].hw);
        ck_assert_int_eq(la->shape[3], g[i].hw);
        nx_step_reset();
        generator_free(&gen);
    }
    Generator gen;
    ck_assert_int_eq(generator_create(&gen, "caltech", 3, 60, NX_CPU), -1);
    ck_assert_int_eq(generator_create(&gen, "unet", 3, 64, NX_CPU), -1);
}
END_TEST

/* On a real image (the first Fashion-MNIST test image, a 4x upsampled 112x112
 * copy so that every b divides it), the PNG of the fully closed mixed image
 * x_b shrinks strictly as b grows. */
START_TEST(test_png_bytes_fall_with_block) { /* registered only with Fashion-MNIST (suite_nice) */
    Dataset d;
    ck_assert_msg(dataset_open(&d, test_fashion_mnist_spec(), DATA_TEST, 0, 0) == 0, "%s", nx_error_msg());
    nx_step_reset();
    Tensor *x = tensor_new4(NX_CPU, 1, 1, 28, 28);
    dataset_get_float(&d, 0, x->data, NULL, NULL);
    Tensor *big = nx_upsample_bilinear(x, 112, 112, false);
    const int blocks[] = {1, 2, 4, 8, 16, 56, 112};
    size_t prev = (size_t)-1;
    uint8_t px[112 * 112];
    for (int k = 0; k < 7; k++) {
        Tensor *xb = nice_block_average(big, blocks[k]);
        render_image(px, xb->data, 1, 112, 112, 0);
        size_t bytes;
        ck_assert_int_eq(png_encoded_size(px, 112, 112, 1, &bytes), 0);
        ck_assert_msg(bytes < prev, "b = %d: %zu bytes, not fewer than %zu", blocks[k], bytes, prev);
        prev = bytes;
    }
    nx_step_reset();
    dataset_free(&d);
}
END_TEST

Suite *suite_nice(void) {
    Suite *s = suite_create("nice");
    TCase *tc = tcase_create("nice");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gate_moments_match_closed_form);
    tcase_add_test(tc, test_gate_gradient);
    tcase_add_test(tc, test_test_mask_estimators);
    tcase_add_test(tc, test_capacity_and_smoothness_by_hand);
    tcase_add_test(tc, test_mixed_resolution);
    tcase_add_test(tc, test_generator_shapes);
    TCASE_ADD_TEST_IF(tc, test_png_bytes_fall_with_block, test_have_fashion_mnist(), "Fashion-MNIST not in %s",
                      test_fashion_mnist_dir());
    suite_add_tcase(s, tc);
    return s;
}
