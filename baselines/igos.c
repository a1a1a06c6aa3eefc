/* igos.c: I-GOS, integrated-gradient optimised saliency (Qi, Khorram and
 * Li, AAAI 2019), as in the authors' demo code (zhongangqi/IGOS), batched.
 *
 * A mask M (s x s per image, starts at 1) is optimised for the deletion game
 *
 *   F(M) = l1 * mean|1 - M| + tv * (mean_rows |dM|^beta + mean_cols |dM|^beta) + f(M)
 *   f(M) = softmax_t( x * up(M) + x_b * (1 - up(M)) )
 *
 * up = bilinear upsampling with align_corners true (nn.UpsamplingBilinear2d),
 * x_b = x blurred (kernel 51, sigma 50 at 224, both scaled by side / 224).
 * Each of --iters (15) iterations:
 *   1. the total gradient, with the integrated gradient of f along M's ray:
 *        TG = grad(l1, tv terms)(M) + (1/P) sum_{k=1..P} d/dM softmax_t(x * up(k/P M)
 *             + x_b * (1 - up(k/P M)) + n_k)
 *      P = --points (20), n_k fresh Gaussian noise per point (--noise std);
 *   2. a backtracking line search, separately for every image of the batch:
 *        a = 200; while F(clamp(M - a TG)) > F(M) - 1e-4 a |TG|^2: a *= 0.2,
 *        stopping when a < 1e-5 (the revised Armijo condition, eq. 8);
 *      on failure the paper takes a = 1e-5 (--ls-fail paper, default), the
 *      code the last step tried (200 * 0.2^11 = 4.1e-6; --ls-fail code);
 *   3. M = clamp(M - a TG, 0, 1);
 *   the demo's adaptive L1 (--adaptive-l1 on): at iteration iters/2 the L1
 *   weight is divided by 10 if the target score has moved by <= 1e-3 from
 *   the first iteration's, at iters/1.25 by 5 if it moved by <= 1e-2.
 * Every image keeps its own step, L1 weight and noise stream, and the loss
 * is summed over the images, so a batch gives the maps of one-image runs.
 * Output: maps = 1 - up(M), native = 1 - M (larger = more important).
 * The regularisers are evaluated on the host in double; f through the tape.
 */
#include "baselines/baselines.h"
#include "eval/accuracy.h"
#include "tensor/rng.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TAG_IGOS 0x49474f53ull /* "IGOS" */

void igos_defaults(IgosOpts *o, int side) {
    float f = (float)side / 224.0f;
    int k = (int)lrintf(51.0f * f);
    if (k % 2 == 0) k++;
    *o = (IgosOpts){.mask_size = bl_default_mask_size(side),
                    .iters = 15,
                    .points = 20,
                    .l1 = 1,
                    .tv = 20,
                    .tv_beta = 2,
                    .noise = 0.045f,
                    .blur_sigma = 50.0f * f,
                    .blur_kernel = k < 3 ? 3 : k,
                    .ls_start = 200,
                    .ls_decay = 0.2f,
                    .ls_beta = 1e-4f,
                    .ls_min = 1e-5f,
                    .ls_fail = IGOS_LS_PAPER,
                    .adaptive_l1 = true,
                    .internal_batch = 32};
}

/* l1 * mean|1-M| + tv * (mean |row diff|^beta + mean |col diff|^beta); gradient added into g when not NULL. */
static double regulariser(double *g, const float *m, int s, double l1, double tv, double beta) {
    int cells = s * s;
    double val = 0;
    for (int p = 0; p < cells; p++) {
        double d = 1.0 - m[p];
        val += l1 * fabs(d) / cells;
        if (g) g[p] += (d > 0 ? -l1 : d < 0 ? l1 : 0) / cells;
    }
    if (s < 2) return val;
    double n = (double)s * (s - 1);
    for (int i = 0; i < s - 1; i++)
        for (int j = 0; j < s; j++) {
            for (int dir = 0; dir < 2; dir++) {
                int p = dir ? j * s + i : i * s + j, q = dir ? p + 1 : p + s; /* vertical pair, then horizontal */
                double d = m[q] - m[p], a = fabs(d);
                val += tv * pow(a, beta) / n;
                if (g && a > 0) {
                    double c = tv * beta * pow(a, beta - 1) * (d > 0 ? 1 : -1) / n;
                    g[q] += c, g[p] -= c;
                }
            }
        }
    return val;
}

static int igos_check(const Model *m, const void *opts, int H, int W) {
    (void)m;
    const IgosOpts *o = opts;
    if (H % o->mask_size || W % o->mask_size) {
        nx_error_set("--mask-size: %d does not divide the input side %d (use the side, 1/2, 1/4, 1/8, ... of it)",
                     o->mask_size, H);
        return -1;
    }
    if (o->blur_kernel % 2 == 0) {
        nx_error_set("--blur-kernel: %d, must be odd", o->blur_kernel);
        return -1;
    }
    if (o->ls_decay >= 1 || o->ls_min > o->ls_start) {
        nx_error_set(o->ls_decay >= 1 ? "--ls-decay: %g, must be below 1" : "--ls-min: %g is above --ls-start",
                     o->ls_decay >= 1 ? o->ls_decay : o->ls_min);
        return -1;
    }
    return 0;
}

/* Target probabilities (b) at masks mk (b, s, s), optionally at scale a with noise; grad into g if not NULL. */
static void score(float *p_out, float *g, Model *m, float *xd, float *bd, const float *noise_d, const float *mk, int b,
                  int C, int H, int W, int s, float a, const int32_t *target, float weight) {
    Device dev = m->params.device;
    nx_step_reset();
    Tensor *mt = batch_to_device(mk, b, 1, s, s, dev);
    mt->requires_grad = g != NULL;
    Tensor *U = nx_upsample_bilinear(a == 1.0f ? mt : nx_scale(mt, a, 0), H, W, true);
    Tensor *xin = nx_add(nx_mul(bl_rows(xd, dev, 0, b, C, H, W), U), nx_mul(bl_rows(bd, dev, 0, b, C, H, W), nx_scale(U, -1, 1)));
    if (noise_d) xin = nx_add(xin, bl_rows((float *)noise_d, dev, 0, b, C, H, W));
    Tensor *p = bl_target_prob(model_forward(m, xin), target);
    if (p_out) device_memcpy(NX_CPU, p_out, dev, p->data, sizeof(float) * b);
    if (g) {
        tape_backward(nx_scale(nx_sum(p, NX_ALL, false), weight, 0));
        device_memcpy(NX_CPU, g, dev, tensor_grad(mt), sizeof(float) * b * s * s);
    }
}

int baseline_igos(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const IgosOpts *o) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], s = o->mask_size, B = o->internal_batch;
    if (s < 1 || igos_check(m, o, H, W) != 0) return -1;
    if (o->iters < 0 || o->points < 1 || B < 1) {
        nx_error_set(o->iters < 0 ? "--iters: %d, must be at least 0"
                     : o->points < 1 ? "--points: %d, must be at least 1" : "--internal-batch: %d, must be at least 1",
                     o->iters < 0 ? o->iters : o->points < 1 ? o->points : B);
        return -1;
    }
    Device dev = x->device;
    size_t D = (size_t)C * H * W, S2 = (size_t)s * s;
    ClassifierState st;
    bl_enter(m, &st);
    float *xh = tensor_to_host(x), *bh;
    {
        bool prev = nx_no_grad();
        nx_step_reset();
        bh = tensor_to_host(bl_blur(batch_to_device(xh, N, C, H, W, NX_CPU), o->blur_kernel / 2, o->blur_sigma));
        nx_set_grad(prev);
    }
    float *mk = nx_malloc(sizeof(float) * B * S2), *mc = nx_malloc(sizeof(float) * B * S2);
    float *gk = nx_malloc(sizeof(float) * B * S2), *p0 = nx_malloc(sizeof(float) * B), *p1 = nx_malloc(sizeof(float) * B);
    float *noise = nx_malloc(sizeof(float) * B * D);
    double *tg = nx_malloc(sizeof(double) * B * S2), *f0 = nx_malloc(sizeof(double) * B), *g2 = nx_malloc(sizeof(double) * B);
    double *step = nx_malloc(sizeof(double) * B), *l1 = nx_malloc(sizeof(double) * B), *score0 = nx_malloc(sizeof(double) * B);
    bool *pending = nx_malloc(sizeof(bool) * B), *at_bound = nx_malloc(sizeof(bool) * B);
    float *xd = device_malloc(dev, sizeof(float) * B * D), *bd = device_malloc(dev, sizeof(float) * B * D),
          *nd = device_malloc(dev, sizeof(float) * B * D);
    for (int i0 = 0; i0 < N; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        const int32_t *t = target + i0;
        device_memcpy(dev, xd, NX_CPU, xh + i0 * D, sizeof(float) * b * D);
        device_memcpy(dev, bd, NX_CPU, bh + i0 * D, sizeof(float) * b * D);
        for (size_t q = 0; q < b * S2; q++) mk[q] = 1.0f;
        for (int i = 0; i < b; i++) l1[i] = o->l1;
        for (int it = 0; it < o->iters; it++) {
            /* F(M) without noise; the adaptive L1 looks at its score */
            score(p0, NULL, m, xd, bd, NULL, mk, b, C, H, W, s, 1.0f, t, 1.0f);
            for (int i = 0; i < b; i++) {
                if (it == 0) score0[i] = p0[i];
                if (o->adaptive_l1 && o->iters > 3) {
                    double moved = fabs(score0[i] - p0[i]);
                    if (it == o->iters / 2 && moved <= 1e-3) l1[i] /= 10;
                    else if (it == (int)(o->iters / 1.25) && moved <= 1e-2) l1[i] /= 5;
                }
                f0[i] = regulariser(NULL, mk + i * S2, s, l1[i], o->tv, o->tv_beta) + p0[i];
            }
            /* the total gradient: regularisers + the integrated gradient of f */
            memset(tg, 0, sizeof(double) * b * S2);
            for (int i = 0; i < b; i++) regulariser(tg + i * S2, mk + i * S2, s, l1[i], o->tv, o->tv_beta);
            for (int k = 1; k <= o->points; k++) {
                const float *nptr = NULL;
                if (o->noise > 0) {
                    for (int i = 0; i < b; i++) {
                        uint64_t stream = bl_stream(&o->common, TAG_IGOS, i0 + i);
                        uint64_t base = ((uint64_t)it * o->points + (k - 1)) * D * 2;
                        for (size_t p = 0; p < D; p++) {
                            double u1 = philox_uniform(stream, base + 2 * p), u2 = philox_uniform(stream, base + 2 * p + 1);
                            noise[i * D + p] = (float)(o->noise * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
                        }
                    }
                    device_memcpy(dev, nd, NX_CPU, noise, sizeof(float) * b * D);
                    nptr = nd;
                }
                score(NULL, gk, m, xd, bd, nptr, mk, b, C, H, W, s, (float)k / o->points, t, 1.0f / o->points);
                for (size_t q = 0; q < b * S2; q++) tg[q] += gk[q];
            }
            /* backtracking line search, one step per image */
            for (int i = 0; i < b; i++) {
                g2[i] = 0;
                for (size_t q = 0; q < S2; q++) g2[i] += tg[i * S2 + q] * tg[i * S2 + q];
                step[i] = o->ls_start, pending[i] = true, at_bound[i] = false;
            }
            for (int any = 1; any;) {
                for (int i = 0; i < b; i++)
                    for (size_t q = 0; q < S2; q++) {
                        double v = mk[i * S2 + q] - step[i] * tg[i * S2 + q];
                        mc[i * S2 + q] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
                    }
                score(p1, NULL, m, xd, bd, NULL, mc, b, C, H, W, s, 1.0f, t, 1.0f);
                any = 0;
                for (int i = 0; i < b; i++) {
                    if (!pending[i]) continue;
                    double f1 = regulariser(NULL, mc + i * S2, s, l1[i], o->tv, o->tv_beta) + p1[i];
                    bool ok = f1 <= f0[i] - o->ls_beta * step[i] * g2[i];
                    if (!ok && step[i] * o->ls_decay < o->ls_min) {
                        /* the search failed: the paper's lower bound, or the code's last step */
                        at_bound[i] = true;
                        if (o->ls_fail == IGOS_LS_CODE) step[i] *= o->ls_decay;
                        else step[i] = o->ls_min;
                        ok = true;
                    }
                    if (ok) {
                        pending[i] = false;
                        if (o->on_step) o->on_step(o->on_step_ctx, i0 + i, f0[i], f1, g2[i], step[i], at_bound[i]);
                    } else {
                        step[i] *= o->ls_decay;
                        any = 1;
                    }
                }
            }
            for (int i = 0; i < b; i++)
                for (size_t q = 0; q < S2; q++) {
                    double v = mk[i * S2 + q] - step[i] * tg[i * S2 + q];
                    mk[i * S2 + q] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
                }
        }
        nx_step_reset();
        bool prev = nx_no_grad();
        float *U = tensor_to_host(nx_upsample_bilinear(batch_to_device(mk, b, 1, s, s, dev), H, W, true));
        nx_set_grad(prev);
        for (size_t q = 0; q < (size_t)b * H * W; q++) maps[(size_t)i0 * H * W + q] = 1.0f - U[q];
        if (native)
            for (size_t q = 0; q < b * S2; q++) native[i0 * S2 + q] = 1.0f - mk[q];
        free(U);
    }
    device_free(dev, xd), device_free(dev, bd), device_free(dev, nd);
    free(xh), free(bh), free(mk), free(mc), free(gk), free(p0), free(p1), free(noise), free(tg), free(f0), free(g2);
    free(step), free(l1), free(score0), free(pending), free(at_bound);
    bl_leave(m, &st);
    return 0;
}

static const BaselineOption igos_options[] = {
    {"mask-size", BO_INT, offsetof(IgosOpts, mask_size), NULL, 1, 4096,
     "mask side s, must divide the input side (default: the divisor nearest side/8; 28 at 224)"},
    {"iters", BO_INT, offsetof(IgosOpts, iters), NULL, 0, 1000000, "outer iterations (15, the demo)"},
    {"points", BO_INT, offsetof(IgosOpts, points), NULL, 1, 100000, "integrated-gradient points along M (20, the demo)"},
    {"l1", BO_FLOAT, offsetof(IgosOpts, l1), NULL, 0, 1e6, "weight of mean|1-M| (1; the code's value for a 28x28 mask)"},
    {"tv", BO_FLOAT, offsetof(IgosOpts, tv), NULL, 0, 1e6, "weight of the TV term (20; the code's value for a 28x28 mask)"},
    {"tv-beta", BO_FLOAT, offsetof(IgosOpts, tv_beta), NULL, 1, 10, "exponent of the TV differences (2)"},
    {"noise", BO_FLOAT, offsetof(IgosOpts, noise), NULL, 0, 100,
     "std of the noise per path point, input units (0.045 = the authors' 0.2 in ImageNet-normalised units; 0: none)"},
    {"blur-sigma", BO_FLOAT, offsetof(IgosOpts, blur_sigma), NULL, 0.01, 10000, "baseline blur sigma (50 at 224, scaled by side/224)"},
    {"blur-kernel", BO_INT, offsetof(IgosOpts, blur_kernel), NULL, 1, 10001, "baseline blur kernel side, odd (51 at 224, scaled)"},
    {"ls-start", BO_FLOAT, offsetof(IgosOpts, ls_start), NULL, 1e-12, 1e12, "first step of the line search (200; IGOS_pp 1000)"},
    {"ls-decay", BO_FLOAT, offsetof(IgosOpts, ls_decay), NULL, 1e-6, 0.999999, "step decay (0.2)"},
    {"ls-beta", BO_FLOAT, offsetof(IgosOpts, ls_beta), NULL, 0, 1, "Armijo beta (1e-4)"},
    {"ls-min", BO_FLOAT, offsetof(IgosOpts, ls_min), NULL, 0, 1e12, "lower bound of the step (1e-5)"},
    {"ls-fail", BO_CHOICE, offsetof(IgosOpts, ls_fail), "paper|code", 0, 0,
     "failed search: paper (use the lower bound, default) | code (the last step tried)"},
    {"adaptive-l1", BO_BOOL, offsetof(IgosOpts, adaptive_l1), NULL, 0, 0, "the demo's L1 / 10 and / 5 steps (on)"},
    {"internal-batch", BO_INT, offsetof(IgosOpts, internal_batch), NULL, 1, 1 << 20,
     "images optimised together (memory bound; default 32)"},
};

static void defaults_v(void *o, int side) { igos_defaults(o, side); }
static int run_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_igos(maps, native, m, x, t, o);
}
static void native_v(const Model *m, const void *o, int H, int W, int *nh, int *nw) {
    (void)m, (void)H, (void)W;
    *nh = *nw = ((const IgosOpts *)o)->mask_size;
}

const BaselineMethod baseline_method_igos = {
    .name = "igos",
    .summary = "I-GOS: integrated-gradient descent with an Armijo line search (Qi et al. 2019); map = 1 - mask",
    .opts_size = sizeof(IgosOpts),
    .defaults = defaults_v,
    .options = igos_options,
    .n_options = sizeof igos_options / sizeof igos_options[0],
    .check = igos_check,
    .native_size = native_v,
    .run = run_v,
};
