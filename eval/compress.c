/* compress.c: mean PNG bytes and accuracy of mixed-resolution and down-sampled images (see compress.h). */
#include "eval/compress.h"

#include "data/image.h"
#include "eval/accuracy.h"
#include "eval/perturb.h"
#include "eval/render.h"
#include "tensor/safetensors.h"

#include <math.h>
#include <stdio.h>
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

/* ---- nicex nice compress ------------------------------------------------ */

int compress_nice_folder(NiceCompressResult *r, Generator *g, Model *m, const HardConcrete *hc, int b,
                         NiceBackground bg, const Dataset *d, int n, const char *out_dir, bool write_images) {
    *r = (NiceCompressResult){.n = n, .block = b};
    char csv_path[4096], path[4096];
    if ((size_t)snprintf(csv_path, sizeof csv_path, "%s/index.csv", out_dir) >= sizeof csv_path) {
        nx_error_set("the folder name is too long (%zu characters)", strlen(out_dir));
        return -2;
    }
    AtomicFile csv;
    if (atomic_file_open(&csv, csv_path) != 0) return -1;
    fprintf(csv.f, "file,bytes,original_bytes,label,prediction\n");
    const Device dev = m->params.device;
    int C = d->c, H = d->h, W = d->w, batch = 100, rc = 0;
    float *x = nx_malloc(sizeof(float) * (size_t)batch * C * H * W), *q = nx_malloc(sizeof(float) * (size_t)C * H * W);
    size_t img_bytes = (size_t)H * W * C;
    uint8_t *pxb = nx_malloc(img_bytes * batch), *orig = nx_malloc(img_bytes); /* pxb: (batch, H, W, C) */
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)batch);
    bool prev = nx_no_grad();
    model_set_training(m, false);
    for (int start = 0; rc == 0 && start < n; start += batch) {
        int bn = n - start < batch ? n - start : batch;
        nx_step_reset();
        for (int i = 0; i < bn; i++) dataset_get_float(d, start + i, x + (size_t)i * C * H * W, NULL, NULL);
        Tensor *xt = batch_to_device(x, bn, C, H, W, dev);
        Tensor *mixed = nice_mix(xt, hc_test_mask(hc, generator_forward(g, xt)), b, bg);
        float *mh = tensor_to_host(mixed);
        /* the classifier sees exactly what the PNG holds: 8-bit pixels */
        for (int i = 0; i < bn; i++) {
            uint8_t *px = pxb + img_bytes * i;
            render_image(px, mh + (size_t)i * C * H * W, C, H, W, 0);
            for (int p = 0; p < H * W; p++)
                for (int k = 0; k < C; k++) q[k * H * W + p] = px[p * C + k] / 255.0f;
            memcpy(mh + (size_t)i * C * H * W, q, sizeof(float) * (size_t)C * H * W);
        }
        argmax_rows(pred, model_forward(m, batch_to_device(mh, bn, C, H, W, dev)));
        for (int i = 0; rc == 0 && i < bn; i++) {
            size_t nb, ob;
            const uint8_t *px = pxb + img_bytes * i;
            render_image(orig, x + (size_t)i * C * H * W, C, H, W, 0);
            char name[64];
            snprintf(name, sizeof name, "%05d.png", start + i);
            if (write_images && (size_t)snprintf(path, sizeof path, "%s/%s", out_dir, name) >= sizeof path) {
                nx_error_set("the folder name is too long (%zu characters)", strlen(out_dir));
                rc = -2;
            } else if (write_images ? png_write(path, px, H, W, C, &nb) != 0 : png_encoded_size(px, H, W, C, &nb) != 0)
                rc = -1;
            else if (png_encoded_size(orig, H, W, C, &ob) != 0) rc = -1;
            else {
                r->bytes += (double)nb, r->original_bytes += (double)ob;
                r->correct += pred[i] == d->labels[start + i];
                fprintf(csv.f, "%s,%zu,%zu,%d,%d\n", name, nb, ob, d->labels[start + i], pred[i]);
            }
        }
        free(mh);
    }
    nx_set_grad(prev);
    nx_step_reset();
    free(x), free(q), free(pxb), free(orig), free(pred);
    if (rc != 0) {
        atomic_file_abort(&csv);
        return rc;
    }
    return atomic_file_commit(&csv);
}
