/* ig.c: Integrated Gradients (Sundararajan, Taly and Yan 2017).
 *
 *   IG[n, c, i, j] = (x - x')[c, i, j] * sum_k w_k d logit_t / d x (x' + a_k (x - x'))[c, i, j]
 *   maps[n, i, j]  = sum over c of IG[n, c, i, j]       (--map signed, default)
 *                  | |sum over c|                        (--map abs)
 *
 * x' the baseline image: black (zeros, default) or x blurred with a
 * Gaussian (--baseline blur, --blur-sigma). The path points a_k and weights
 * w_k are named by --rule, with Captum's conventions (S = --steps):
 *   riemann_right      a_k = k / S,           k = 1..S, w_k = 1 / S  (the paper's eq. 3; default)
 *   riemann_left       a_k = (k - 1) / S
 *   riemann_middle     a_k = (k - 1/2) / S
 *   riemann_trapezoid  a_k = (k - 1) / (S - 1), w_k = 1 / (S - 1), halved at both ends
 *   gausslegendre      Gauss-Legendre nodes and weights on [0, 1] (Captum's default)
 * Completeness: sum over c, i, j of IG = logit_t(x) - logit_t(x') up to the
 * rule's error. The N * S path points go through the model in chunks of
 * --internal-batch points (any mix of images), so memory is bounded and a
 * GPU sees full batches. No native resolution.
 */
#include "baselines/baselines.h"
#include "eval/accuracy.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void ig_defaults(IgOpts *o, int side) {
    float s = 5.0f * (float)side / 224.0f;
    *o = (IgOpts){.steps = 50, .rule = IG_RIEMANN_RIGHT, .baseline = BL_BASELINE_BLACK,
                  .blur_sigma = s < 1 ? 1 : s, .map = IG_MAP_SIGNED, .internal_batch = 64};
}

/* Gauss-Legendre nodes x_k in (-1, 1) and weights (Newton on P_n, as numpy's leggauss to ~1e-15). */
static void gauss_legendre(double *x, double *w, int n) {
    for (int i = 0; i < n; i++) {
        double z = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = z;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
                p0 = p1, p1 = p2;
            }
            if (n == 1) p1 = z, p0 = 1;
            dp = n * (z * p1 - p0) / (z * z - 1);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-15) break;
        }
        x[n - 1 - i] = z; /* ascending */
        w[n - 1 - i] = 2 / ((1 - z * z) * dp * dp);
    }
}

/* Path points a (S) in [0, 1] and weights w (S) of a rule. */
void ig_rule_points(double *a, double *w, int S, int rule) {
    for (int k = 0; k < S; k++) {
        switch (rule) {
        case IG_RIEMANN_LEFT: a[k] = (double)k / S, w[k] = 1.0 / S; break;
        case IG_RIEMANN_MIDDLE: a[k] = (k + 0.5) / S, w[k] = 1.0 / S; break;
        case IG_RIEMANN_TRAPEZOID:
            a[k] = S > 1 ? (double)k / (S - 1) : 1.0;
            w[k] = S > 1 ? (k == 0 || k == S - 1 ? 0.5 : 1.0) / (S - 1) : 1.0;
            break;
        case IG_GAUSS_LEGENDRE: break;
        default: a[k] = (k + 1.0) / S, w[k] = 1.0 / S; break;
        }
    }
    if (rule == IG_GAUSS_LEGENDRE) {
        gauss_legendre(a, w, S);
        for (int k = 0; k < S; k++) a[k] = 0.5 * (a[k] + 1), w[k] *= 0.5;
    }
}

int baseline_ig(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const IgOpts *o) {
    (void)native;
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], S = o->steps, B = o->internal_batch;
    if (S < 1 || B < 1 || (o->rule == IG_RIEMANN_TRAPEZOID && S < 2)) {
        nx_error_set(S < 1 ? "--steps: %d, must be at least 1"
                           : B < 1 ? "--internal-batch: %d, must be at least 1" : "--steps: %d, riemann_trapezoid needs at least 2",
                     S < 1 || o->rule == IG_RIEMANN_TRAPEZOID ? S : B);
        return -1;
    }
    size_t D = (size_t)C * H * W;
    ClassifierState st;
    bl_enter(m, &st);
    float *xh = tensor_to_host(x), *bh;
    if (o->baseline == BL_BASELINE_BLUR) {
        bool prev = nx_no_grad();
        nx_step_reset();
        Tensor *xc = batch_to_device(xh, N, C, H, W, NX_CPU);
        int r = (int)ceilf(3 * o->blur_sigma);
        bh = tensor_to_host(bl_blur(xc, r, o->blur_sigma));
        nx_set_grad(prev);
    } else bh = nx_calloc((size_t)N * D, sizeof(float));
    double *a = nx_malloc(sizeof(double) * S), *w = nx_malloc(sizeof(double) * S);
    ig_rule_points(a, w, S, o->rule);
    double *acc = nx_calloc((size_t)N * D, sizeof(double)); /* sum_k w_k grad */
    float *pts = nx_malloc(sizeof(float) * (size_t)B * D), *g = nx_malloc(sizeof(float) * (size_t)B * D);
    int32_t *tg = nx_malloc(sizeof(int32_t) * (size_t)B);
    int64_t total = (int64_t)N * S;
    for (int64_t q0 = 0; q0 < total; q0 += B) {
        int b = total - q0 < B ? (int)(total - q0) : B;
        for (int j = 0; j < b; j++) {
            int64_t q = q0 + j;
            int i = (int)(q / S), k = (int)(q % S);
            const float *xi = xh + i * D, *bi = bh + i * D;
            for (size_t p = 0; p < D; p++) pts[j * D + p] = bi[p] + (float)a[k] * (xi[p] - bi[p]);
            tg[j] = target[i];
        }
        nx_step_reset();
        bl_input_gradient(g, m, batch_to_device(pts, b, C, H, W, x->device), tg, NULL);
        for (int j = 0; j < b; j++) {
            int64_t q = q0 + j;
            int i = (int)(q / S), k = (int)(q % S);
            for (size_t p = 0; p < D; p++) acc[i * D + p] += w[k] * g[j * D + p];
        }
    }
    for (int i = 0; i < N; i++)
        for (int p = 0; p < H * W; p++) {
            double s = 0;
            for (int c = 0; c < C; c++) {
                size_t e = (size_t)i * D + (size_t)c * H * W + p;
                s += (double)(xh[e] - bh[e]) * acc[e];
            }
            maps[(size_t)i * H * W + p] = (float)(o->map == IG_MAP_ABS ? fabs(s) : s);
        }
    free(xh), free(bh), free(a), free(w), free(acc), free(pts), free(g), free(tg);
    bl_leave(m, &st);
    return 0;
}

static const BaselineOption ig_options[] = {
    {"steps", BO_INT, offsetof(IgOpts, steps), NULL, 1, 1 << 20, "path points S (default 50, Captum's n_steps)"},
    {"rule", BO_CHOICE, offsetof(IgOpts, rule), "riemann_right|riemann_left|riemann_middle|riemann_trapezoid|gausslegendre",
     0, 0, "integration rule (default riemann_right, the paper's eq. 3; Captum's default is gausslegendre)"},
    {"baseline", BO_CHOICE, offsetof(IgOpts, baseline), "black|blur", 0, 0, "baseline image x' (default black)"},
    {"blur-sigma", BO_FLOAT, offsetof(IgOpts, blur_sigma), NULL, 0.01, 1000,
     "sigma of --baseline blur in pixels (default 5 * side / 224, at least 1)"},
    {"map", BO_CHOICE, offsetof(IgOpts, map), "signed|abs", 0, 0,
     "the map: channel sum of IG (signed, default) or its absolute value"},
    {"internal-batch", BO_INT, offsetof(IgOpts, internal_batch), NULL, 1, 1 << 20,
     "path points per forward/backward over all images (memory bound; default 64)"},
};

static void defaults_v(void *o, int side) { ig_defaults(o, side); }
static int run_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_ig(maps, native, m, x, t, o);
}
static int check_v(const Model *m, const void *opts, int H, int W) {
    (void)m, (void)H, (void)W;
    const IgOpts *o = opts;
    if (o->rule == IG_RIEMANN_TRAPEZOID && o->steps < 2) {
        nx_error_set("--steps: %d, riemann_trapezoid needs at least 2", o->steps);
        return -1;
    }
    return 0;
}

const BaselineMethod baseline_method_ig = {
    .name = "ig",
    .summary = "Integrated Gradients along the straight path from a baseline (Sundararajan et al. 2017)",
    .opts_size = sizeof(IgOpts),
    .defaults = defaults_v,
    .options = ig_options,
    .n_options = sizeof ig_options / sizeof ig_options[0],
    .check = check_v,
    .run = run_v,
};
