/* deletion.c: deletion and insertion curves, AUC by the trapezoid rule (see deletion.h). */
#include "eval/deletion.h"

#include "data/dataset.h"
#include "eval/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

DelConfig del_config(DelProtocol p) {
    return (DelConfig){.protocol = p, .step = 0, .blur_k = 0, .blur_sigma = 0, .batch = 256, .seed = 0};
}

const char *del_protocol_name(DelProtocol p) { return p == PROTO_IGOS ? "igos" : "rise"; }

int del_protocol_parse(const char *s, DelProtocol *p) {
    if (strcmp(s, "rise") == 0) *p = PROTO_RISE;
    else if (strcmp(s, "igos") == 0) *p = PROTO_IGOS;
    else {
        nx_error_set("--protocol: '%s' is not rise or igos", s);
        return -1;
    }
    return 0;
}

void del_blur(const DelConfig *cfg, int H, int *k, float *sigma) {
    if (cfg->protocol == PROTO_IGOS) *k = 51, *sigma = 50;
    else {
        int kk = 2 * (int)lround((11.0 * H / 224 - 1) / 2) + 1;
        *k = kk < 3 ? 3 : kk;
        *sigma = (float)(5.0 * H / 224);
    }
    if (cfg->blur_k > 0) *k = cfg->blur_k | 1;
    if (cfg->blur_sigma > 0) *sigma = cfg->blur_sigma;
}

void curve_result_free(CurveResult *r) {
    free(r->x), free(r->mean), free(r->auc);
    memset(r, 0, sizeof *r);
}

int deletion_curves(CurveResult *r, CurveKind kind, Model *m, const float *images, const float *maps, int n, int C,
                    int H, int W, int gh, int gw, const DelConfig *cfg) {
    memset(r, 0, sizeof *r);
    if (n < 1 || gh < 1 || gw < 1 || gh > H || gw > W) {
        nx_error_set("deletion: %d maps of %dx%d for %dx%d images", n, gh, gw, H, W);
        return -1;
    }
    if (cfg->protocol == PROTO_RISE && (H % gh || W % gw)) {
        nx_error_set("deletion: protocol rise replicates cells: the map's %dx%d must divide the image's %dx%d", gh, gw, H, W);
        return -1;
    }
    const int G = gh * gw, step = cfg->step > 0 ? cfg->step : gw;
    const int n_steps = (G + step - 1) / step, P = n_steps + 1;
    const size_t img = (size_t)C * H * W;
    int bk;
    float bs;
    del_blur(cfg, H, &bk, &bs);
    r->n_points = P, r->grid_h = gh, r->grid_w = gw, r->step = step;
    r->blur_k = bk, r->blur_sigma = bs;
    r->x = nx_malloc(sizeof(double) * P);
    r->mean = nx_calloc((size_t)P, sizeof(double));
    r->auc = nx_malloc(sizeof(double) * (size_t)n);
    for (int k = 0; k < P; k++) r->x[k] = (double)(k * step < G ? k * step : G) / G;

    /* the class predicted on each clean image */
    int32_t *cls = nx_malloc(sizeof(int32_t) * (size_t)n);
    class_probs(NULL, cls, m, images, n, C, H, W, NULL, cfg->batch);

    float *seq = nx_malloc(sizeof(float) * img * P); /* (P, C, H, W): one image's curve */
    float *sub = nx_malloc(sizeof(float) * img), *open = nx_malloc(sizeof(float) * G), *grid = nx_malloc(sizeof(float) * G);
    float *up = nx_malloc(sizeof(float) * (size_t)H * W), *prob = nx_malloc(sizeof(float) * P);
    int32_t *order = nx_malloc(sizeof(int32_t) * G), *cl = nx_malloc(sizeof(int32_t) * P);
    double *y = nx_malloc(sizeof(double) * P), sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        const float *x = images + img * i;
        /* substrate: zero (rise deletion) or a blur */
        if (cfg->protocol == PROTO_RISE && kind == CURVE_DELETION) memset(sub, 0, sizeof(float) * img);
        else gaussian_blur(sub, x, C, H, W, bk, bs);
        rank_desc(order, maps + (size_t)i * G, G, data_stream(cfg->seed, EVAL_TAG_TIES, (uint64_t)i));
        memset(open, 0, sizeof(float) * G);
        for (int k = 0; k < P; k++) {
            int upto = k * step < G ? k * step : G;
            for (int j = (k - 1) * step; k > 0 && j < upto; j++) open[order[j]] = 1;
            /* keep-x weight on the grid: 1 - open (deletion) or open (insertion), then up to H x W */
            float *keep = up;
            for (int j = 0; j < G; j++) grid[j] = kind == CURVE_DELETION ? 1 - open[j] : open[j];
            if (cfg->protocol == PROTO_IGOS) upsample_bilinear_ac(keep, grid, gh, gw, H, W);
            else upsample_nearest(keep, grid, gh, gw, H, W);
            float *o = seq + img * k;
            for (int c = 0; c < C; c++)
                for (int p = 0; p < H * W; p++) {
                    size_t q = (size_t)c * H * W + p;
                    o[q] = x[q] * keep[p] + sub[q] * (1 - keep[p]);
                }
        }
        for (int k = 0; k < P; k++) cl[k] = cls[i];
        class_probs(prob, NULL, m, seq, P, C, H, W, cl, cfg->batch);
        for (int k = 0; k < P; k++) y[k] = prob[k], r->mean[k] += prob[k];
        r->auc[i] = auc_trapezoid(r->x, y, P);
        sum += r->auc[i], sum2 += r->auc[i] * r->auc[i];
    }
    for (int k = 0; k < P; k++) r->mean[k] /= n;
    r->auc_mean = sum / n;
    double var = n > 1 ? (sum2 - sum * sum / n) / (n - 1) : 0;
    r->auc_sem = n > 1 && var > 0 ? sqrt(var / n) : 0;
    free(seq), free(sub), free(open), free(grid), free(up), free(prob), free(order), free(cl), free(y), free(cls);
    return 0;
}
