/* perturb.c: ranking, blur, resampling and scoring shared by the metrics (see perturb.h). */
#include "eval/perturb.h"

#include "autograd/ops.h"
#include "data/dataset.h"
#include "eval/accuracy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float v;
    int32_t tie, idx;
} Ranked;

static int ranked_cmp(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

void rank_desc(int32_t *order, const float *v, int n, uint64_t stream) {
    int64_t *perm = nx_malloc(sizeof(int64_t) * (size_t)n);
    Ranked *r = nx_malloc(sizeof(Ranked) * (size_t)n);
    data_permutation(perm, n, stream);
    for (int i = 0; i < n; i++) r[i] = (Ranked){v[i], 0, i};
    for (int i = 0; i < n; i++) r[perm[i]].tie = i; /* tie key: position in the permutation */
    qsort(r, (size_t)n, sizeof *r, ranked_cmp);
    for (int i = 0; i < n; i++) order[i] = r[i].idx;
    free(r);
    free(perm);
}

static int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * n - 2 - i;
    }
    return i;
}

void gaussian_blur(float *out, const float *x, int C, int H, int W, int k, float sigma) {
    int r = k / 2;
    double *wt = nx_malloc(sizeof(double) * (size_t)k), s = 0;
    for (int t = 0; t < k; t++) s += wt[t] = exp(-(double)(t - r) * (t - r) / (2.0 * sigma * sigma));
    for (int t = 0; t < k; t++) wt[t] /= s;
    float *tmp = nx_malloc(sizeof(float) * (size_t)H * W);
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        float *oc = out + (size_t)c * H * W;
        for (int y = 0; y < H; y++) /* rows */
            for (int xx = 0; xx < W; xx++) {
                double a = 0;
                for (int t = 0; t < k; t++) a += wt[t] * xc[y * W + reflect101(xx + t - r, W)];
                tmp[y * W + xx] = (float)a;
            }
        for (int y = 0; y < H; y++) /* columns */
            for (int xx = 0; xx < W; xx++) {
                double a = 0;
                for (int t = 0; t < k; t++) a += wt[t] * tmp[reflect101(y + t - r, H) * W + xx];
                oc[y * W + xx] = (float)a;
            }
    }
    free(tmp);
    free(wt);
}

void upsample_bilinear_ac(float *out, const float *in, int h, int w, int H, int W) {
    for (int y = 0; y < H; y++) {
        double sy = H > 1 ? (double)y * (h - 1) / (H - 1) : 0;
        int y0 = (int)sy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        double fy = sy - y0;
        for (int x = 0; x < W; x++) {
            double sx = W > 1 ? (double)x * (w - 1) / (W - 1) : 0;
            int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            double fx = sx - x0;
            out[y * W + x] = (float)((1 - fy) * ((1 - fx) * in[y0 * w + x0] + fx * in[y0 * w + x1]) +
                                     fy * ((1 - fx) * in[y1 * w + x0] + fx * in[y1 * w + x1]));
        }
    }
}

void upsample_nearest(float *out, const float *in, int h, int w, int H, int W) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) out[y * W + x] = in[(y * h / H) * w + x * w / W];
}

void avgpool_map(float *out, const float *in, int H, int W, int f) {
    int h = H / f, w = W / f;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double s = 0;
            for (int y = 0; y < f; y++)
                for (int x = 0; x < f; x++) s += in[(i * f + y) * W + j * f + x];
            out[i * w + j] = (float)(s / (f * f));
        }
}

void class_probs(float *prob, int32_t *pred, Model *m, const float *x, int n, int C, int H, int W, const int32_t *cls,
                 int batch) {
    bool prev = nx_no_grad(), was = m->training;
    model_set_training(m, false);
    Device d = m->params.device;
    size_t img = (size_t)C * H * W;
    for (int s = 0; s < n; s += batch) {
        int b = n - s < batch ? n - s : batch;
        nx_step_reset();
        Tensor *p = nx_softmax(model_forward(m, batch_to_device(x + img * s, b, C, H, W, d)), 1);
        float *ph = tensor_to_host(p);
        int k = p->shape[1];
        for (int i = 0; i < b; i++) {
            int c = 0;
            if (cls) c = cls[s + i];
            else
                for (int j = 1; j < k; j++)
                    if (ph[i * k + j] > ph[i * k + c]) c = j;
            if (pred) pred[s + i] = c;
            if (prob) prob[s + i] = ph[i * k + c];
        }
        free(ph);
    }
    nx_step_reset();
    model_set_training(m, was);
    nx_set_grad(prev);
}

double auc_trapezoid(const double *x, const double *y, int n) {
    double a = 0;
    for (int k = 0; k + 1 < n; k++) a += (x[k + 1] - x[k]) * (y[k] + y[k + 1]) / 2;
    return a;
}
