/* mask.c: Fong and Vedaldi's meaningful perturbations, the deletion game
 * (ICCV 2017), batched.
 *
 * A mask m (s x s per image, 1 keeps a pixel, 0 deletes it) is optimised to
 * delete as little as possible while destroying the target's softmax score:
 *
 *   min_m  l1 * R1(m) + tv * R2(m) + E_tau[ softmax_t( Phi(x(. - tau), M) ) ]
 *   Phi(x, M) = x * M + blur(x) * (1 - M),   M = upsample(m) (then blurred)
 *
 * --variant authors (default; the authors' Lua code as ../shared/reference-notes.md describes it)
 *   M    = gaussian_blur_{mask-sigma}(nearest_upsample(m, H / s))
 *   R1   = sum |1 - m|,  R2 = sum over cells ((m[i,j+1]-m[i,j])^2 + (m[i+1,j]-m[i,j])^2)^(beta/2)
 *          (isotropic TV, beta 3), both times 784 / s^2: the authors' lambda1 = 1e-4 and
 *          lambda2 = 1e-2 are for a 28 x 28 mask, and the scale keeps each term's total weight
 *          at other mask sizes (exactly 1 for the authors' 28 x 28 on 224)
 *   init m ~ U(0, 1) (seeded per image); jitter tau: the images x and blur(x) shift by
 *          (dy, dx) uniform in [0, tau)^2 each iteration (edge pixels replicated)
 * --variant port (the popular PyTorch port)
 *   M    = bilinear_upsample(m) (align_corners true, nn.UpsamplingBilinear2d), no mask blur
 *   R1   = mean |1 - m| (weight --port-l1 0.01), R2 = mean |dx|^beta + mean |dy|^beta
 *          (anisotropic, weight --port-tv 0.2), init m = 1, no jitter
 * Both: Adam (lr 0.1, betas 0.9/0.999, eps 1e-8, PyTorch's update), m clamped
 * to [0, 1] after each step, --iters steps (300). blur(x): Gaussian, sigma 10
 * at 224 scaled by side / 224, radius 3 sigma, renormalised at the borders.
 * The loss is the SUM over the images of the batch of each image's loss, so
 * every image's gradient (and Adam, elementwise) is that of a one-image run.
 *
 * Output: maps = 1 - M (the final mask, upsampled as in the forward, no
 * jitter), native = 1 - m: larger = more important (deleting it matters).
 * The regularisers and their gradients are computed on the host in double
 * (the mask is small); the classifier term goes through the autograd tape.
 */
#include "baselines/baselines.h"
#include "eval/accuracy.h"
#include "tensor/rng.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TAG_MASK 0x4d41534bull /* "MASK" */

void mask_defaults(MaskOpts *o, int side) {
    float f = (float)side / 224.0f;
    int tau = (int)lrintf(4.0f * f);
    *o = (MaskOpts){.variant = FV_AUTHORS,
                    .mask_size = bl_default_mask_size(side),
                    .iters = 300,
                    .lr = 0.1f,
                    .l1 = 1e-4f,
                    .tv = 1e-2f,
                    .tv_beta = 3,
                    .mask_sigma = 5.0f * f,
                    .blur_sigma = 10.0f * f,
                    .jitter = tau < 1 ? 1 : tau,
                    .port_l1 = 0.01f,
                    .port_tv = 0.2f,
                    .internal_batch = 16};
}

/* Regulariser value (per image) and gradient g (s*s), added into g. */
static double regulariser(double *g, const float *m, int s, const MaskOpts *o) {
    double val = 0;
    int cells = s * s;
    bool port = o->variant == FV_PORT;
    double w1 = port ? o->port_l1 / cells : o->l1 * 784.0 / cells;
    double w2 = port ? o->port_tv : o->tv * 784.0 / cells;
    double beta = o->tv_beta;
    for (int p = 0; p < cells; p++) {
        double d = 1.0 - m[p];
        val += w1 * fabs(d);
        g[p] += d > 0 ? -w1 : d < 0 ? w1 : 0;
    }
    if (s < 2) return val;
    if (!port) { /* isotropic, on the (s-1) x (s-1) cells that have both neighbours */
        for (int i = 0; i < s - 1; i++)
            for (int j = 0; j < s - 1; j++) {
                int p = i * s + j;
                double dx = m[p + 1] - m[p], dy = m[p + s] - m[p], q = dx * dx + dy * dy;
                val += w2 * pow(q, beta / 2);
                if (q <= 0) continue;
                double c = w2 * beta * pow(q, beta / 2 - 1); /* d q^(b/2) / d dx = b q^(b/2-1) dx */
                g[p + 1] += c * dx, g[p + s] += c * dy, g[p] -= c * (dx + dy);
            }
    } else { /* anisotropic means */
        double nx = (double)s * (s - 1);
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s - 1; j++) {
                int p = i * s + j;
                double dx = m[p + 1] - m[p], a = fabs(dx);
                val += w2 * pow(a, beta) / nx;
                double c = a > 0 ? w2 * beta * pow(a, beta - 1) * (dx > 0 ? 1 : -1) / nx : 0;
                g[p + 1] += c, g[p] -= c;
                int q = j * s + i; /* the vertical pair (j, i) - (j + 1, i) */
                double dy = m[q + s] - m[q], b = fabs(dy);
                val += w2 * pow(b, beta) / nx;
                double e = b > 0 ? w2 * beta * pow(b, beta - 1) * (dy > 0 ? 1 : -1) / nx : 0;
                g[q + s] += e, g[q] -= e;
            }
    }
    return val;
}

/* The mask the classifier sees: m (b, 1, s, s) -> M (b, 1, H, W). */
static Tensor *upsample_mask(Tensor *m, int H, int W, const MaskOpts *o) {
    int s = m->shape[2];
    if (o->variant == FV_PORT) return nx_upsample_bilinear(m, H, W, true);
    Tensor *M = nx_upsample_nearest(m, H / s);
    if (o->mask_sigma > 0) M = bl_blur_map(M, (int)ceilf(3 * o->mask_sigma), o->mask_sigma);
    return M;
}

/* dst = src shifted by (dy, dx): dst[y][x] = src[clamp(y - dy)][clamp(x - dx)], per channel plane. */
static void shift_planes(float *dst, const float *src, int planes, int H, int W, int dy, int dx) {
    for (int p = 0; p < planes; p++)
        for (int y = 0; y < H; y++) {
            int sy = y - dy < 0 ? 0 : y - dy >= H ? H - 1 : y - dy;
            for (int x = 0; x < W; x++) {
                int sx = x - dx < 0 ? 0 : x - dx >= W ? W - 1 : x - dx;
                dst[((size_t)p * H + y) * W + x] = src[((size_t)p * H + sy) * W + sx];
            }
        }
}

static int mask_check(const Model *m, const void *opts, int H, int W) {
    (void)m;
    const MaskOpts *o = opts;
    if (H % o->mask_size || W % o->mask_size) {
        nx_error_set("--mask-size: %d does not divide the input side %d (the mask is upsampled by an integer factor)",
                     o->mask_size, H);
        return -1;
    }
    return 0;
}

int baseline_mask(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const MaskOpts *o) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], s = o->mask_size, B = o->internal_batch;
    if (s < 1 || mask_check(m, o, H, W) != 0) return -1;
    if (o->iters < 0 || B < 1) {
        nx_error_set(o->iters < 0 ? "--iters: %d, must be at least 0" : "--internal-batch: %d, must be at least 1",
                     o->iters < 0 ? o->iters : B);
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
        bh = tensor_to_host(bl_blur(batch_to_device(xh, N, C, H, W, NX_CPU), (int)ceilf(3 * o->blur_sigma), o->blur_sigma));
        nx_set_grad(prev);
    }
    bool jitter = o->variant == FV_AUTHORS && o->jitter > 1;
    float *xs = nx_malloc(sizeof(float) * (size_t)B * D), *bs = nx_malloc(sizeof(float) * (size_t)B * D);
    float *mk = nx_malloc(sizeof(float) * (size_t)B * S2), *g = nx_malloc(sizeof(float) * (size_t)B * S2);
    double *m1 = nx_malloc(sizeof(double) * (size_t)B * S2), *v1 = nx_malloc(sizeof(double) * (size_t)B * S2);
    double *rg = nx_malloc(sizeof(double) * S2);
    for (int i0 = 0; i0 < N; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        for (int i = 0; i < b; i++) {
            uint64_t stream = bl_stream(&o->common, TAG_MASK, i0 + i);
            for (size_t p = 0; p < S2; p++)
                mk[i * S2 + p] = o->variant == FV_PORT ? 1.0f : philox_uniform(stream, p) * (1.0f - 0x1p-33f);
        }
        memset(m1, 0, sizeof(double) * b * S2);
        memset(v1, 0, sizeof(double) * b * S2);
        /* without jitter the images stay on the device for every iteration */
        float *xd = device_malloc(dev, sizeof(float) * b * D), *bd = device_malloc(dev, sizeof(float) * b * D);
        device_memcpy(dev, xd, NX_CPU, xh + i0 * D, sizeof(float) * b * D);
        device_memcpy(dev, bd, NX_CPU, bh + i0 * D, sizeof(float) * b * D);
        for (int it = 0; it < o->iters; it++) {
            nx_step_reset();
            if (jitter) {
                for (int i = 0; i < b; i++) {
                    uint64_t stream = bl_stream(&o->common, TAG_MASK, i0 + i);
                    uint64_t k = S2 + 2 * (uint64_t)it;
                    int dy = (int)((philox_word(stream, k) * (uint64_t)o->jitter) >> 32);
                    int dx = (int)((philox_word(stream, k + 1) * (uint64_t)o->jitter) >> 32);
                    shift_planes(xs + i * D, xh + (i0 + i) * D, C, H, W, dy, dx);
                    shift_planes(bs + i * D, bh + (i0 + i) * D, C, H, W, dy, dx);
                }
                device_memcpy(dev, xd, NX_CPU, xs, sizeof(float) * b * D);
                device_memcpy(dev, bd, NX_CPU, bs, sizeof(float) * b * D);
            }
            Tensor *mt = batch_to_device(mk, b, 1, s, s, dev);
            mt->requires_grad = true;
            Tensor *M = upsample_mask(mt, H, W, o);
            Tensor *xin = nx_add(nx_mul(bl_rows(xd, dev, 0, b, C, H, W), M),
                                 nx_mul(bl_rows(bd, dev, 0, b, C, H, W), nx_scale(M, -1, 1)));
            Tensor *p = bl_target_prob(model_forward(m, xin), target + i0);
            tape_backward(nx_sum(p, NX_ALL, false));
            device_memcpy(NX_CPU, g, dev, tensor_grad(mt), sizeof(float) * b * S2);
            /* Adam (torch.optim.Adam), then clamp to [0, 1] */
            double t = it + 1, c1 = 1 - pow(0.9, t), c2 = 1 - pow(0.999, t);
            for (int i = 0; i < b; i++) {
                float *mi = mk + i * S2;
                memset(rg, 0, sizeof(double) * S2);
                regulariser(rg, mi, s, o);
                for (size_t q = 0; q < S2; q++) {
                    size_t e = i * S2 + q;
                    double gr = (double)g[e] + rg[q];
                    m1[e] = 0.9 * m1[e] + 0.1 * gr;
                    v1[e] = 0.999 * v1[e] + 0.001 * gr * gr;
                    double upd = mi[q] - o->lr / c1 * m1[e] / (sqrt(v1[e]) / sqrt(c2) + 1e-8);
                    mi[q] = (float)(upd < 0 ? 0 : upd > 1 ? 1 : upd);
                }
            }
        }
        /* the final mask as the classifier saw it (no jitter) */
        nx_step_reset();
        bool prev = nx_no_grad();
        Tensor *M = upsample_mask(batch_to_device(mk, b, 1, s, s, dev), H, W, o);
        float *Mh = tensor_to_host(M);
        nx_set_grad(prev);
        for (size_t q = 0; q < (size_t)b * H * W; q++) maps[(size_t)i0 * H * W + q] = 1.0f - Mh[q];
        if (native)
            for (size_t q = 0; q < b * S2; q++) native[i0 * S2 + q] = 1.0f - mk[q];
        free(Mh);
        device_free(dev, xd), device_free(dev, bd);
    }
    free(xh), free(bh), free(xs), free(bs), free(mk), free(g), free(m1), free(v1), free(rg);
    bl_leave(m, &st);
    return 0;
}

static const BaselineOption mask_options[] = {
    {"variant", BO_CHOICE, offsetof(MaskOpts, variant), "authors|port", 0, 0,
     "authors (the Lua code: random init, nearest x(H/s) + blur, sums, isotropic TV; default) | port (the PyTorch port)"},
    {"mask-size", BO_INT, offsetof(MaskOpts, mask_size), NULL, 1, 4096,
     "mask side s, must divide the input side (default: the divisor nearest side/8; 28 at 224)"},
    {"iters", BO_INT, offsetof(MaskOpts, iters), NULL, 0, 1000000, "Adam iterations (300)"},
    {"lr", BO_FLOAT, offsetof(MaskOpts, lr), NULL, 0, 1e6, "Adam learning rate (0.1)"},
    {"l1", BO_FLOAT, offsetof(MaskOpts, l1), NULL, 0, 1e6, "authors: lambda1 on sum|1-m| of a 28x28 mask (1e-4)"},
    {"tv", BO_FLOAT, offsetof(MaskOpts, tv), NULL, 0, 1e6, "authors: lambda2 on the isotropic TV^beta sum of a 28x28 mask (1e-2)"},
    {"port-l1", BO_FLOAT, offsetof(MaskOpts, port_l1), NULL, 0, 1e6, "port: weight of mean|1-m| (0.01)"},
    {"port-tv", BO_FLOAT, offsetof(MaskOpts, port_tv), NULL, 0, 1e6, "port: weight of mean|dx|^beta + mean|dy|^beta (0.2)"},
    {"tv-beta", BO_FLOAT, offsetof(MaskOpts, tv_beta), NULL, 1, 10, "beta of the TV term (3)"},
    {"mask-sigma", BO_FLOAT, offsetof(MaskOpts, mask_sigma), NULL, 0, 1000,
     "authors: blur sigma of the upsampled mask, pixels (5 at 224, scaled by side/224; 0: none)"},
    {"blur-sigma", BO_FLOAT, offsetof(MaskOpts, blur_sigma), NULL, 0.01, 1000,
     "sigma of the blurred image that replaces deleted pixels (10 at 224, scaled by side/224)"},
    {"jitter", BO_INT, offsetof(MaskOpts, jitter), NULL, 1, 1000,
     "authors: shifts drawn from [0, tau) per iteration (tau 4 at 224, scaled; 1: none)"},
    {"internal-batch", BO_INT, offsetof(MaskOpts, internal_batch), NULL, 1, 1 << 20,
     "images optimised together (memory bound; default 16)"},
};

static void defaults_v(void *o, int side) { mask_defaults(o, side); }
static int run_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_mask(maps, native, m, x, t, o);
}
static void native_v(const Model *m, const void *o, int H, int W, int *nh, int *nw) {
    (void)m, (void)H, (void)W;
    *nh = *nw = ((const MaskOpts *)o)->mask_size;
}

const BaselineMethod baseline_method_mask = {
    .name = "mask",
    .summary = "Fong-Vedaldi meaningful perturbation, the deletion game (ICCV 2017); map = 1 - mask",
    .opts_size = sizeof(MaskOpts),
    .defaults = defaults_v,
    .options = mask_options,
    .n_options = sizeof mask_options / sizeof mask_options[0],
    .check = mask_check,
    .native_size = native_v,
    .run = run_v,
};
