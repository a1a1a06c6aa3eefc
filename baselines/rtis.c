/* rtis.c: the RTIS masking model and its objective (rtis.h has the math).
 *
 * Architecture, for a classifier whose stages (finest first) are s_0..s_D:
 *
 *   deep  = s_D gated by the class selector
 *   for each block k = 0 .. n_up-1 (skip = s_{D-1-k}):
 *     h = pixel_shuffle(ReLU(BN(conv3x3(h, 4 out_k))), 2)      (N, out_k, 2h, 2w)
 *     h = concat(h, skip)                                       (N, out_k + skip_k, ...)
 *     h = ReLU(BN3(conv1x1(ReLU(BN2(conv3x3(ReLU(BN1(conv1x1(h)))))))) + conv1x1_bias(h))
 *   (a, b) = conv1x1(h)  ->  mask = |a| / (|a| + |b| + eps)
 * with out_k = base 2^(n_up-1-k) (the reference's upsampler_base 2^up), and
 * n_up the number of blocks that bring the side to at least input/4.
 *
 * The selector is expressed as a linear layer without bias applied to a
 * one-hot of the class (weight (K_deep, n_classes)), which is an embedding
 * lookup with the table transposed; no gather op is needed.
 * Channel slices (a and |a|) are taken by multiplying with a constant
 * (1, 2, 1, 1) = (1, 0) and summing over channels; max over the other
 * classes in the hinge losses by a one-hot of the argmax computed on the
 * host, which gives max's (sub)gradient exactly.
 */
#include "baselines/rtis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/rng.h"

/* A step tensor on device d holding host values h. */
static Tensor *from_host(Device d, const float *h, int ndim, const int *shape) {
    Tensor *t = tensor_new(d, NX_F32, ndim, shape);
    device_memcpy(d, t->data, NX_CPU, h, tensor_bytes(t));
    return t;
}

/* ---- building ------------------------------------------------------------ */

static void block_init(RtisUp *u, ParamStore *s, int k) {
    char p[64];
    snprintf(p, sizeof p, "up%d.up", k);
    conv2d_init(&u->up, s, p, u->in, 4 * u->out, 3, 1, 1, false);
    snprintf(p, sizeof p, "up%d.up_bn", k);
    batchnorm2d_init(&u->up_bn, s, p, 4 * u->out);
    int cat = u->out + u->skip, mid = u->out / 4 > 0 ? u->out / 4 : 1;
    snprintf(p, sizeof p, "up%d.conv1", k);
    conv2d_init(&u->conv1, s, p, cat, mid, 1, 1, 0, false);
    snprintf(p, sizeof p, "up%d.bn1", k);
    batchnorm2d_init(&u->bn1, s, p, mid);
    snprintf(p, sizeof p, "up%d.conv2", k);
    conv2d_init(&u->conv2, s, p, mid, mid, 3, 1, 1, false);
    snprintf(p, sizeof p, "up%d.bn2", k);
    batchnorm2d_init(&u->bn2, s, p, mid);
    snprintf(p, sizeof p, "up%d.conv3", k);
    conv2d_init(&u->conv3, s, p, mid, u->out, 1, 1, 0, false);
    snprintf(p, sizeof p, "up%d.bn3", k);
    batchnorm2d_init(&u->bn3, s, p, u->out);
    snprintf(p, sizeof p, "up%d.shortcut", k);
    conv2d_init(&u->shortcut, s, p, cat, u->out, 1, 1, 0, true);
}

static void block_reset(RtisUp *u) {
    conv2d_reset(&u->up);
    batchnorm2d_reset(&u->up_bn);
    conv2d_reset(&u->conv1);
    batchnorm2d_reset(&u->bn1);
    conv2d_reset(&u->conv2);
    batchnorm2d_reset(&u->bn2);
    conv2d_reset(&u->conv3);
    batchnorm2d_reset(&u->bn3);
    conv2d_reset(&u->shortcut);
}

int rtis_create(RtisModel *r, Model *m, int base) {
    memset(r, 0, sizeof *r);
    if (base < 1) {
        nx_error_set("rtis: upsampler base width %d must be positive", base);
        return -1;
    }
    snprintf(r->arch, sizeof r->arch, "%s", m->arch);
    r->n_classes = m->n_classes, r->in_c = m->in_c, r->in_hw = m->in_h;
    r->base = base;
    r->eps = 1e-8f;
    Device d = m->params.device;
    /* probe the stage shapes with one image */
    int cs[NX_MAX_STAGES], hs[NX_MAX_STAGES], ws[NX_MAX_STAGES], n_st;
    bool prev = nx_no_grad(), was_training = m->training;
    model_set_training(m, false);
    Tensor *x = tensor_new4(d, 1, m->in_c, m->in_h, m->in_w);
    tensor_zero(x);
    model_forward(m, x);
    n_st = m->n_stages;
    for (int i = 0; i < n_st; i++) {
        const Tensor *s = m->stages[i];
        cs[i] = s->shape[1], hs[i] = s->shape[2], ws[i] = s->shape[3];
    }
    model_set_training(m, was_training);
    nx_set_grad(prev);
    if (n_st < 1) {
        nx_error_set("rtis: classifier %s exposes no resolution stages", m->arch);
        return -1;
    }
    r->deep_stage = n_st - 1;
    r->deep_c = cs[n_st - 1], r->deep_hw = hs[n_st - 1];
    int target = m->in_h / 4 > 0 ? m->in_h / 4 : 1, side = r->deep_hw, s = r->deep_stage;
    while (side < target && s > 0 && r->n_up < RTIS_MAX_UP) {
        r->up[r->n_up].skip_stage = s - 1;
        r->up[r->n_up].skip = cs[s - 1];
        r->up[r->n_up].resize = hs[s - 1] != 2 * side || ws[s - 1] != 2 * side;
        side = hs[s - 1];
        s--;
        r->n_up++;
    }
    r->mask_hw = side;
    int in = r->deep_c;
    for (int k = 0; k < r->n_up; k++) {
        r->up[k].in = in;
        r->up[k].out = base << (r->n_up - 1 - k);
        in = r->up[k].out;
    }
    params_init(&r->params, d);
    r->selector = params_add(&r->params, "selector.weight", 2, (int[]){r->deep_c, r->n_classes}, false);
    for (int k = 0; k < r->n_up; k++) block_init(&r->up[k], &r->params, k);
    conv2d_init(&r->head, &r->params, "head", in, 2, 1, 1, 0, true);
    params_finalize(&r->params);
    init_normal(r->selector, 1.0f / sqrtf((float)r->deep_c));
    for (int k = 0; k < r->n_up; k++) block_reset(&r->up[k]);
    conv2d_reset(&r->head);
    return 0;
}

void rtis_free(RtisModel *r) {
    params_free(&r->params);
    memset(r, 0, sizeof *r);
}

/* ---- forward --------------------------------------------------------------- */

static Tensor *one_hot(Device d, const int32_t *classes, int n, int k) {
    float *h = nx_calloc((size_t)n * k, sizeof *h);
    for (int i = 0; i < n; i++) h[(size_t)i * k + classes[i]] = 1;
    Tensor *t = from_host(d, h, 2, (int[]){n, k});
    free(h);
    return t;
}

Tensor *rtis_select(RtisModel *r, Tensor *deep, const int32_t *classes, Tensor **exists) {
    int n = deep->shape[0];
    for (int i = 0; i < n; i++)
        NX_CHECK(classes[i] >= 0 && classes[i] < r->n_classes, "rtis: class %d outside [0, %d)", classes[i],
                 r->n_classes);
    Tensor *e = nx_linear(one_hot(deep->device, classes, n, r->n_classes), r->selector, NULL); /* (N, K) */
    e = nx_reshape(e, 4, (int[]){n, r->deep_c, 1, 1});
    Tensor *act = nx_sum(nx_mul(deep, e), NX_DIM(1), true); /* (N, 1, h, w) */
    if (exists) {
        Tensor *ex = nx_mean(act, NX_DIM(2) | NX_DIM(3), false); /* (N, 1) */
        Tensor *pair[2] = {nx_scale(ex, -0.5f, 0), nx_scale(ex, 0.5f, 0)};
        *exists = nx_concat(pair, 2); /* (N, 2) */
    }
    return nx_mul(deep, nx_sigmoid(act));
}

static Tensor *block_forward(RtisUp *u, Tensor *x, Tensor *skip, bool training) {
    Tensor *h = nx_relu(batchnorm2d_forward(&u->up_bn, conv2d_forward(&u->up, x), training));
    h = nx_pixel_shuffle(h, 2);
    if (u->resize) h = nx_upsample_bilinear(h, skip->shape[2], skip->shape[3], false);
    Tensor *pair[2] = {h, skip};
    Tensor *cat = nx_concat(pair, 2);
    Tensor *y = nx_relu(batchnorm2d_forward(&u->bn1, conv2d_forward(&u->conv1, cat), training));
    y = nx_relu(batchnorm2d_forward(&u->bn2, conv2d_forward(&u->conv2, y), training));
    y = batchnorm2d_forward(&u->bn3, conv2d_forward(&u->conv3, y), training);
    return nx_relu(nx_add(y, conv2d_forward(&u->shortcut, cat)));
}

Tensor *rtis_forward(RtisModel *r, Model *m, Tensor *x, const int32_t *classes, Tensor **low, Tensor **exists) {
    NX_CHECK(x->ndim == 4 && x->shape[1] == r->in_c && x->shape[2] == r->in_hw && x->shape[3] == r->in_hw,
             "rtis: input %s, expected (N, %d, %d, %d)", tensor_shape_str(x), r->in_c, r->in_hw, r->in_hw);
    /* the frozen encoder: no tape, eval mode */
    bool prev = nx_no_grad(), was_training = m->training;
    model_set_training(m, false);
    model_forward(m, x);
    Tensor *stages[NX_MAX_STAGES];
    for (int i = 0; i < m->n_stages; i++) stages[i] = m->stages[i];
    model_set_training(m, was_training);
    nx_set_grad(prev);

    Tensor *h = rtis_select(r, stages[r->deep_stage], classes, exists);
    for (int k = 0; k < r->n_up; k++) h = block_forward(&r->up[k], h, stages[r->up[k].skip_stage], r->training);
    Tensor *ab = nx_abs(conv2d_forward(&r->head, h)); /* (N, 2, h, w) */
    float pick[2] = {1, 0};
    Tensor *first = from_host(x->device, pick, 4, (int[]){1, 2, 1, 1});
    Tensor *a = nx_sum(nx_mul(ab, first), NX_DIM(1), true);
    Tensor *den = nx_scale(nx_sum(ab, NX_DIM(1), true), 1, r->eps);
    Tensor *mask = nx_div(a, den); /* (N, 1, h, w) */
    if (low) *low = mask;
    if (mask->shape[2] == x->shape[2] && mask->shape[3] == x->shape[3]) return mask;
    return nx_upsample_bilinear(mask, x->shape[2], x->shape[3], true);
}

/* ---- the objective ----------------------------------------------------------- */

RtisConfig rtis_config_default(int side, int n_classes) {
    float sigma = 11.0f * (float)side / 224.0f;
    int k = (int)lroundf(5 * sigma);
    if (k % 2 == 0) k++;
    if (k < 3) k = 3;
    float margin = n_classes > 1 ? 5.0f * logf((float)n_classes) / logf(1000.0f) : 5.0f;
    if (margin < 2) margin = 2;
    if (margin > 5) margin = 5;
    return (RtisConfig){.area_coef = 8,
                        .area_power = 0.3f,
                        .smooth_coef = 0.005f,
                        .border_penalty = 0.3f,
                        .preserver_coef = 0.3f,
                        .preserver_margin = 1,
                        .destroyer_margin = margin,
                        .fake_prob = 0.3f,
                        .selector_fake_prob = 0.5f,
                        .alt = RTIS_ALT_MIXED,
                        .blur_prob = 0.5f,
                        .blur_sigma = sigma,
                        .blur_kernel = k,
                        .noise_std = 0.055f,
                        .colour_range = 0.33f,
                        .pixel_noise = 0.015f,
                        .eval_alt = RTIS_ALT_BLUR,
                        .target = RTIS_TARGET_LABEL,
                        .selector_epochs = 2,
                        .epochs = 3,
                        .selector_batch = 128,
                        .batch = 64,
                        .lr = 1e-3f,
                        .weight_decay = 1e-4f,
                        .selector_lr_step = 4000,
                        .base = 64};
}

Tensor *rtis_area_loss(Tensor *mask, float power) {
    if (power == 1) return nx_mean(mask, NX_ALL, false);
    return nx_mean(nx_pow(nx_scale(mask, 1, 0.0005f), power), NX_ALL, false);
}

Tensor *rtis_smooth_loss(Tensor *mask, float border_penalty) {
    int n = mask->shape[0], h = mask->shape[2], w = mask->shape[3];
    Device d = mask->device;
    /* d[0] = m[y][x+1] - m[y][x], d[1] = m[y+1][x] - m[y][x]; zero padding adds
     * m^2 on the right column and the bottom row, which the weight map removes */
    float k[18] = {0};
    k[4] = -1, k[5] = 1;          /* channel 0, centre row */
    k[9 + 4] = -1, k[9 + 7] = 1;  /* channel 1, centre column */
    Tensor *kw = from_host(d, k, 4, (int[]){2, 1, 3, 3});
    Tensor *diff = nx_conv2d(mask, kw, NULL, 1, 1, 1);
    Tensor *s = nx_sum(nx_mul(diff, diff), NX_ALL, false);
    float *wm = nx_malloc(sizeof(float) * (size_t)h * w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            wm[y * w + x] = border_penalty * (float)((y == 0) + (y == h - 1) + (x == 0) + (x == w - 1)) -
                            (float)(x == w - 1) - (float)(y == h - 1);
    Tensor *wt = from_host(d, wm, 4, (int[]){1, 1, h, w});
    free(wm);
    s = nx_add(s, nx_sum(nx_mul(nx_mul(mask, mask), wt), NX_ALL, false));
    return nx_scale(s, 1.0f / (2.0f * (float)n), 0);
}

Tensor *rtis_hinge_loss(Tensor *logits, const int32_t *labels, const bool *targeted, float t_conf, float nt_conf) {
    int n = logits->shape[0], k = logits->shape[1];
    Device d = logits->device;
    float *z = tensor_to_host(logits);
    float *oh_y = nx_calloc((size_t)n * k, sizeof(float)), *oh_o = nx_calloc((size_t)n * k, sizeof(float));
    float *wt = nx_malloc(sizeof(float) * (size_t)n), *wn = nx_malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) {
        int y = labels[i], best = -1;
        for (int j = 0; j < k; j++)
            if (j != y && (best < 0 || z[(size_t)i * k + j] > z[(size_t)i * k + best])) best = j;
        oh_y[(size_t)i * k + y] = 1;
        if (best >= 0) oh_o[(size_t)i * k + best] = 1;
        wt[i] = targeted[i] ? 1.0f : 0.0f;
        wn[i] = targeted[i] ? 0.0f : 1.0f;
    }
    Tensor *zy = nx_sum(nx_mul(logits, from_host(d, oh_y, 2, (int[]){n, k})), NX_DIM(1), false); /* (N) */
    Tensor *zo = nx_sum(nx_mul(logits, from_host(d, oh_o, 2, (int[]){n, k})), NX_DIM(1), false); /* (N) */
    Tensor *adv = nx_sub(zy, zo);
    Tensor *t = nx_relu(nx_scale(adv, -1, t_conf)); /* relu(other - this + t_conf) */
    Tensor *nt = nx_relu(nx_scale(adv, 1, nt_conf)); /* relu(this - other + nt_conf) */
    Tensor *per = nx_add(nx_mul(t, from_host(d, wt, 1, &n)), nx_mul(nt, from_host(d, wn, 1, &n)));
    free(z), free(oh_y), free(oh_o), free(wt), free(wn);
    return nx_mean(per, NX_ALL, false);
}

Tensor *rtis_mix(Tensor *x, Tensor *keep, Tensor *alt) { return nx_add(alt, nx_mul(keep, nx_sub(x, alt))); }

/* n normals N(0, std^2) from the Philox stream (Box-Muller on pairs). */
static void draw_normal(float *out, int64_t n, float std) {
    uint64_t seed = rng_get_seed(), off = rng_take((uint64_t)(n + 1) / 2 * 2);
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = philox_uniform(seed, off + i), u2 = philox_uniform(seed, off + i + 1);
        double rr = sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
        out[i] = (float)(std * rr * cos(a));
        if (i + 1 < n) out[i + 1] = (float)(std * rr * sin(a));
    }
}

static void draw_uniform(float *out, int64_t n) {
    uint64_t seed = rng_get_seed(), off = rng_take((uint64_t)n);
    for (int64_t i = 0; i < n; i++) out[i] = philox_uniform(seed, off + i);
}

Tensor *rtis_blur(Tensor *x, float sigma, int kernel) {
    int c = x->shape[1], r = kernel / 2;
    float *g = nx_malloc(sizeof(float) * (size_t)kernel), sum = 0;
    for (int i = 0; i < kernel; i++) sum += g[i] = expf(-(float)((i - r) * (i - r)) / (2 * sigma * sigma));
    float *w = nx_malloc(sizeof(float) * (size_t)c * kernel * kernel);
    for (int ch = 0; ch < c; ch++)
        for (int a = 0; a < kernel; a++)
            for (int b = 0; b < kernel; b++) w[((size_t)ch * kernel + a) * kernel + b] = g[a] / sum * (g[b] / sum);
    Tensor *wt = from_host(x->device, w, 4, (int[]){c, 1, kernel, kernel});
    free(g), free(w);
    bool prev = nx_no_grad();
    Tensor *y = nx_conv2d(x, wt, NULL, 1, r, c);
    nx_set_grad(prev);
    return y;
}

Tensor *rtis_alternative(Tensor *x, const RtisConfig *c, RtisAlt kind) {
    int n = x->shape[0], ch = x->shape[1];
    int64_t per = x->numel / n;
    float *when = nx_malloc(sizeof(float) * (size_t)n);
    if (kind == RTIS_ALT_MIXED) {
        draw_uniform(when, n);
        for (int i = 0; i < n; i++) when[i] = when[i] < c->blur_prob ? 1.0f : 0.0f;
    } else
        for (int i = 0; i < n; i++) when[i] = kind == RTIS_ALT_BLUR ? 1.0f : 0.0f;
    bool any_blur = false, any_noise = false;
    for (int i = 0; i < n; i++) any_blur |= when[i] != 0, any_noise |= when[i] == 0;
    float *alt = nx_calloc((size_t)x->numel, sizeof(float));
    if (any_noise) {
        float *colour = nx_malloc(sizeof(float) * (size_t)n * ch);
        draw_uniform(colour, (int64_t)n * ch);
        draw_normal(alt, x->numel, c->noise_std);
        int64_t plane = per / ch;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < ch; k++) {
                float v = 0.5f + c->colour_range * (colour[i * ch + k] - 0.5f); /* 0.5 +- range/2 */
                float *p = alt + (size_t)i * per + (size_t)k * plane;
                for (int64_t q = 0; q < plane; q++) p[q] += v;
            }
        free(colour);
    }
    if (any_blur) {
        float *b = tensor_to_host(rtis_blur(x, c->blur_sigma, c->blur_kernel));
        for (int i = 0; i < n; i++)
            if (when[i] != 0) memcpy(alt + (size_t)i * per, b + (size_t)i * per, sizeof(float) * (size_t)per);
        free(b);
    }
    Tensor *t = from_host(x->device, alt, x->ndim, x->shape);
    free(alt), free(when);
    return t;
}

/* x + N(0, std^2): the reference's preserved_imgs_noise_std. */
static Tensor *jitter(Tensor *x, float std) {
    if (std <= 0) return x;
    float *h = nx_malloc(tensor_bytes(x));
    draw_normal(h, x->numel, std);
    bool prev = nx_no_grad();
    Tensor *y = nx_add(x, from_host(x->device, h, x->ndim, x->shape));
    nx_set_grad(prev);
    free(h);
    return y;
}

static double scalar(const Tensor *t) {
    float v;
    device_memcpy(NX_CPU, &v, t->device, t->data, sizeof v);
    return v;
}

Tensor *rtis_objective(RtisLoss *parts, const RtisConfig *c, Model *m, Tensor *x, Tensor *mask,
                       const int32_t *labels, const bool *is_real) {
    int n = x->shape[0];
    bool *flip = nx_malloc(sizeof(bool) * (size_t)n);
    for (int i = 0; i < n; i++) flip[i] = !is_real[i];
    Tensor *xd = jitter(x, c->pixel_noise);
    Tensor *destroyed = rtis_mix(xd, nx_scale(mask, -1, 1), rtis_alternative(xd, c, c->alt));
    Tensor *ld = model_forward(m, destroyed);
    Tensor *xp = jitter(x, c->pixel_noise);
    Tensor *preserved = rtis_mix(xp, mask, rtis_alternative(xp, c, c->alt));
    Tensor *lp = model_forward(m, preserved);
    Tensor *destroyer = rtis_hinge_loss(ld, labels, flip, 1, c->destroyer_margin);
    Tensor *preserver = rtis_hinge_loss(lp, labels, is_real, c->preserver_margin, 1);
    Tensor *area = rtis_area_loss(mask, c->area_power);
    Tensor *smooth = rtis_smooth_loss(mask, c->border_penalty);
    Tensor *total = nx_add(nx_add(destroyer, nx_scale(area, c->area_coef, 0)),
                           nx_add(nx_scale(smooth, c->smooth_coef, 0), nx_scale(preserver, c->preserver_coef, 0)));
    free(flip);
    if (parts) {
        parts->total = scalar(total), parts->destroyer = scalar(destroyer), parts->area = scalar(area);
        parts->smooth = scalar(smooth), parts->preserver = scalar(preserver);
    }
    return total;
}
