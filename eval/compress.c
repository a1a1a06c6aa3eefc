/* compress.c: mean PNG bytes and accuracy of mixed-resolution and down-sampled images (see compress.h). */
#include "eval/compress.h"

#include "data/image.h"
#include "eval/accuracy.h"
#include "eval/perturb.h"
#include "eval/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mask_top_fraction(float *mask, const float *map, int P, double density, uint64_t stream) {
    int32_t *order = nx_malloc(sizeof(int32_t) * P);
    rank_desc(order, map, P, stream);
    int cnt = (int)lround(density * P);
    for (int p = 0; p < P; p++) mask[order[p]] = p < cnt ? 1.0f : 0.0f;
    free(order);
}

/* 8-bit round trip of one image: px (H, W, C) as the PNG holds it, x back as px / 255. */
static int quantise(float *x /* (C, H, W) */, uint8_t *px, int C, int H, int W, size_t *bytes) {
    render_image(px, x, C, H, W, 0);
    for (int p = 0; p < H * W; p++)
        for (int c = 0; c < C; c++) x[(size_t)c * H * W + p] = px[p * C + c] / 255.0f;
    return png_encoded_size(px, H, W, C, bytes);
}

static int check_block(int b, int H, int W) {
    if (b < 1 || H % b || W % b) {
        nx_error_set("compress: block %d does not divide the image size %dx%d", b, H, W);
        return -1;
    }
    return 0;
}

static void finish(CompressPoint *r, float *x, const int32_t *labels, Model *m, int n, int C, int H, int W, int batch,
                   double bytes) {
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)n);
    class_probs(NULL, pred, m, x, n, C, H, W, NULL, batch);
    int correct = 0;
    for (int i = 0; i < n; i++) correct += pred[i] == labels[i];
    r->n = n;
    r->mean_bytes = bytes / n;
    r->accuracy = (double)correct / n;
    free(pred);
}

int compress_mixed(CompressPoint *r, Model *m, const float *images, const int32_t *labels, const float *masks, int n,
                   int C, int H, int W, int b, NiceBackground bg, int batch) {
    if (check_block(b, H, W) != 0) return -1;
    const size_t img = (size_t)C * H * W;
    Device d = m->params.device;
    float *x = nx_malloc(sizeof(float) * img * (size_t)n);
    uint8_t *px = nx_malloc(img);
    double bytes = 0;
    bool prev = nx_no_grad();
    for (int s = 0; s < n; s += batch) {
        int k = n - s < batch ? n - s : batch;
        nx_step_reset();
        Tensor *xt = batch_to_device(images + img * s, k, C, H, W, d);
        Tensor *zt = batch_to_device(masks + (size_t)H * W * s, k, 1, H, W, d);
        float *mh = tensor_to_host(nice_mix(xt, zt, b, bg));
        memcpy(x + img * s, mh, sizeof(float) * img * k);
        free(mh);
    }
    nx_step_reset();
    nx_set_grad(prev);
    for (int i = 0; i < n; i++) {
        size_t nb;
        if (quantise(x + img * i, px, C, H, W, &nb) != 0) return free(x), free(px), -1;
        bytes += (double)nb;
    }
    finish(r, x, labels, m, n, C, H, W, batch, bytes);
    r->block = b;
    free(x), free(px);
    return 0;
}

int compress_downsample(CompressPoint *r, Model *m, const float *images, const int32_t *labels, int n, int C, int H,
                        int W, int b, int batch) {
    if (check_block(b, H, W) != 0) return -1;
    const size_t img = (size_t)C * H * W;
    const int h = H / b, w = W / b;
    float *x = nx_malloc(sizeof(float) * img * (size_t)n), *small = nx_malloc(sizeof(float) * (size_t)C * h * w);
    uint8_t *px = nx_malloc(img);
    double bytes = 0;
    for (int i = 0; i < n; i++) {
        const float *xi = images + img * i;
        for (int c = 0; c < C; c++) avgpool_map(small + (size_t)c * h * w, xi + (size_t)c * H * W, H, W, b);
        size_t nb;
        if (quantise(small, px, C, h, w, &nb) != 0) return free(x), free(small), free(px), -1;
        bytes += (double)nb;
        float *o = x + img * i;
        for (int c = 0; c < C; c++) /* bilinear, align_corners false */
            for (int yy = 0; yy < H; yy++) {
                double sy = (yy + 0.5) * h / H - 0.5;
                sy = sy < 0 ? 0 : sy;
                int y0 = (int)sy, y1 = y0 + 1 < h ? y0 + 1 : y0;
                double fy = sy - y0;
                for (int xx = 0; xx < W; xx++) {
                    double sx = (xx + 0.5) * w / W - 0.5;
                    sx = sx < 0 ? 0 : sx;
                    int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
                    double fx = sx - x0;
                    const float *sc = small + (size_t)c * h * w;
                    o[(size_t)c * H * W + yy * W + xx] =
                        (float)((1 - fy) * ((1 - fx) * sc[y0 * w + x0] + fx * sc[y0 * w + x1]) +
                                fy * ((1 - fx) * sc[y1 * w + x0] + fx * sc[y1 * w + x1]));
                }
            }
    }
    finish(r, x, labels, m, n, C, H, W, batch, bytes);
    r->block = b;
    free(x), free(small), free(px);
    return 0;
}
