/* common.c: what the explanation methods share.
 *
 *   bl_enter / bl_leave   the classifier in eval mode with every parameter
 *                         frozen, and exactly its previous state afterwards
 *   bl_copy_input, bl_rows   a persistent device copy of the images, sliced
 *                         into step tensors for each internal batch
 *   bl_blur               Gaussian blur of data (the perturbation / baseline
 *                         images): separable, taps g_k ~ exp(-k^2 / (2 sigma^2)),
 *                         k = -r..r, renormalised at the borders, i.e.
 *                         y[i] = sum_k g_k x[i+k] / sum_{k: i+k inside} g_k
 *   bl_blur_map           the same blur on a 1-channel map, differentiable:
 *                         conv2d(m, G) / conv2d(1, G) with G = g g^T, zero padding r
 *   bl_target_prob        softmax(logits)[n, target_n] = sum_k softmax * onehot
 *   bl_resize             bilinear resize on the host through nx_upsample_bilinear
 */
#include "baselines/baselines.h"
#include "data/dataset.h"
#include "eval/accuracy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bl_enter(Model *m, ClassifierState *s) {
    s->training = m->training;
    s->grad_mode = nx_grad_enabled();
    for (int i = 0; i < m->params.n; i++) s->requires_grad[i] = m->params.t[i]->requires_grad;
    model_set_training(m, false);
    params_freeze(&m->params, "", true);
    nx_set_grad(true);
}

void bl_leave(Model *m, const ClassifierState *s) {
    for (int i = 0; i < m->params.n; i++) m->params.t[i]->requires_grad = s->requires_grad[i];
    model_set_training(m, s->training);
    nx_set_grad(s->grad_mode);
    nx_step_reset();
}

float *bl_copy_input(const Tensor *x) {
    size_t bytes = tensor_bytes(x);
    float *buf = device_malloc(x->device, bytes);
    device_memcpy(x->device, buf, x->device, x->data, bytes);
    return buf;
}

Tensor *bl_rows(float *buf, Device d, int i0, int n, int C, int H, int W) {
    int shape[4] = {n, C, H, W};
    return tensor_wrap(d, NX_F32, buf + (size_t)i0 * C * H * W, 4, shape);
}

float *bl_onehot(const int32_t *target, int n, int k) {
    float *g = nx_calloc((size_t)n * k, sizeof(float));
    for (int i = 0; i < n; i++) g[(size_t)i * k + target[i]] = 1.0f;
    return g;
}

uint64_t bl_stream(const BaselineCommon *c, uint64_t tag, int i) {
    return data_stream(c->seed, tag, (uint64_t)(c->ids ? c->ids[i] : i));
}

void bl_gaussian(float *g, int r, float sigma) {
    double s = 0;
    for (int k = -r; k <= r; k++) s += exp(-(double)k * k / (2.0 * sigma * sigma));
    for (int k = -r; k <= r; k++) g[k + r] = (float)(exp(-(double)k * k / (2.0 * sigma * sigma)) / s);
}

/* One axis of the separable blur on the host: y (len) from x (len) with stride. */
static void blur_line(float *y, const float *x, int len, ptrdiff_t stride, const float *g, int r) {
    for (int i = 0; i < len; i++) {
        double acc = 0, wsum = 0;
        for (int k = -r; k <= r; k++) {
            int j = i + k;
            if (j < 0 || j >= len) continue;
            acc += (double)g[k + r] * x[j * stride];
            wsum += g[k + r];
        }
        y[i] = (float)(acc / wsum);
    }
}

Tensor *bl_blur(Tensor *x, int r, float sigma) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    float *h = tensor_to_host(x), *tmp = nx_malloc(sizeof(float) * (size_t)(H > W ? H : W));
    float *g = nx_malloc(sizeof(float) * (size_t)(2 * r + 1));
    bl_gaussian(g, r, sigma);
    for (int64_t p = 0; p < (int64_t)N * C; p++) {
        float *img = h + p * H * W;
        for (int y = 0; y < H; y++) {
            blur_line(tmp, img + (size_t)y * W, W, 1, g, r);
            memcpy(img + (size_t)y * W, tmp, sizeof(float) * W);
        }
        for (int xx = 0; xx < W; xx++) {
            blur_line(tmp, img + xx, H, W, g, r);
            for (int y = 0; y < H; y++) img[(size_t)y * W + xx] = tmp[y];
        }
    }
    Tensor *out = batch_to_device(h, N, C, H, W, x->device);
    free(h), free(tmp), free(g);
    return out;
}

Tensor *bl_blur_map(Tensor *m, int r, float sigma) {
    int H = m->shape[2], W = m->shape[3], k = 2 * r + 1;
    float *g = nx_malloc(sizeof(float) * (size_t)k), *g2 = nx_malloc(sizeof(float) * (size_t)k * k);
    bl_gaussian(g, r, sigma);
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) g2[a * k + b] = g[a] * g[b];
    Tensor *w = batch_to_device(g2, 1, 1, k, k, m->device);
    float *ones = nx_malloc(sizeof(float) * (size_t)H * W);
    for (int i = 0; i < H * W; i++) ones[i] = 1.0f;
    bool prev = nx_no_grad();
    Tensor *norm = nx_conv2d(batch_to_device(ones, 1, 1, H, W, m->device), w, NULL, 1, r, 1); /* (1, 1, H, W) */
    nx_set_grad(prev);
    free(g), free(g2), free(ones);
    return nx_div(nx_conv2d(m, w, NULL, 1, r, 1), norm);
}

void bl_resize(float *dst, int oh, int ow, const float *src, int n, int h, int w, bool align_corners) {
    if (oh == h && ow == w) {
        memcpy(dst, src, sizeof(float) * (size_t)n * h * w);
        return;
    }
    bool prev = nx_no_grad();
    Tensor *y = nx_upsample_bilinear(batch_to_device(src, n, 1, h, w, NX_CPU), oh, ow, align_corners);
    memcpy(dst, y->data, sizeof(float) * (size_t)n * oh * ow);
    nx_set_grad(prev);
}

Tensor *bl_target_prob(Tensor *logits, const int32_t *target) {
    int n = logits->shape[0], k = logits->shape[1];
    float *oh = bl_onehot(target, n, k);
    Tensor *sel = batch_to_device(oh, n, k, 1, 1, logits->device);
    free(oh);
    int shape[2] = {n, k};
    return nx_sum(nx_mul(nx_softmax(logits, 1), nx_reshape(sel, 2, shape)), NX_DIM(1), false);
}

int bl_default_mask_size(int side) {
    int best = 1;
    double want = side / 8.0, bd = 1e30;
    for (int d = 1; d <= side; d++) {
        if (side % d) continue;
        double dist = fabs(d - want);
        if (dist < bd - 1e-9 || (fabs(dist - bd) < 1e-9 && d > best)) bd = dist, best = d;
    }
    return best;
}
