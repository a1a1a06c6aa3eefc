/* known_region.c: the known-region task (known_region.h has the math). */
#include "tests/known_region.h"

#include <stdio.h>
#include <string.h>

#include "layers/layers.h"

typedef struct {
    Conv2d conv; /* the Laplacian, 3x3, zero padding 1, no bias */
    Linear fc;   /* KR_H^2 -> 2 */
} KrNet;

static Tensor *kr_forward(Model *m, Tensor *x) {
    KrNet *n = m->net;
    Tensor *f = nx_abs(conv2d_forward(&n->conv, x));
    m->features = f;
    m->stages[0] = f, m->n_stages = 1;
    return linear_forward(&n->fc, nx_flatten(f));
}

bool kr_in_region(int y, int x) { return y < KR_H / 2 && x >= KR_H / 2; }

/* energy of R at amp 0.1: 8 * amp per pixel (interior) */
static double region_energy(void) {
    double e = 0;
    for (int y = 0; y < KR_H; y++)
        for (int xx = 0; xx < KR_H; xx++) e += kr_in_region(y, xx) ? 0.8 : 0;
    return e;
}

static bool in_distractor(int y, int x) { return y >= KR_H / 2 && x < KR_H / 2; }

void kr_model(Model *m) {
    memset(m, 0, sizeof *m);
    KrNet *n = nx_calloc(1, sizeof *n);
    snprintf(m->arch, sizeof m->arch, "known-region");
    m->in_c = 1, m->in_h = m->in_w = KR_H, m->n_classes = 2;
    params_init(&m->params, NX_CPU);
    conv2d_init(&n->conv, &m->params, "conv", 1, 1, 3, 1, 1, false);
    linear_init(&n->fc, &m->params, "fc", KR_H * KR_H, 2, true);
    params_finalize(&m->params);
    const float lap[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};
    memcpy(n->conv.weight->data, lap, sizeof lap);
    double e = region_energy();
    float *w = n->fc.weight->data, *b = n->fc.bias->data;
    for (int p = 0; p < KR_H * KR_H; p++) {
        w[p] = 0;
        w[KR_H * KR_H + p] = kr_in_region(p / KR_H, p % KR_H) ? (float)(6.0 / e) : 0;
    }
    b[0] = 0, b[1] = -3;
    m->net = n;
    m->fc = &n->fc;
    m->forward = kr_forward;
    m->training = false;
}

void kr_image(float *out, float amp, int phase, bool tex_r, bool tex_d) {
    for (int y = 0; y < KR_H; y++)
        for (int x = 0; x < KR_H; x++) {
            bool tex = (tex_r && kr_in_region(y, x)) || (tex_d && in_distractor(y, x));
            out[y * KR_H + x] = 0.5f + (tex ? ((y + x + phase) % 2 ? amp : -amp) : 0);
        }
}

float *kr_images(int n) {
    float *x = nx_malloc(sizeof(float) * (size_t)n * KR_H * KR_H);
    for (int i = 0; i < n; i++) kr_image(x + (size_t)i * KR_H * KR_H, 0.1f * (1 + 0.2f * i), 0, true, true);
    return x;
}

double kr_mass_inside(const float *map) {
    double in = 0, all = 0;
    for (int p = 0; p < KR_H * KR_H; p++) {
        double v = map[p] > 0 ? map[p] : 0;
        all += v;
        in += kr_in_region(p / KR_H, p % KR_H) ? v : 0;
    }
    return all > 0 ? in / all : 0;
}

/* ---- the same classifier as a four-stage network ------------------------- */

#define KR_CELLS (KR_H / 8) /* stage 4's side: 8 x 8 pixels per cell */

static Tensor *kr_staged_forward(Model *m, Tensor *x) {
    KrNet *n = m->net;
    Tensor *f = nx_abs(conv2d_forward(&n->conv, x)); /* (N, 1, 32, 32) */
    Tensor *p2 = avgpool2d_forward("pool2", f, 2, 2, 0); /* (N, 1, 16, 16) */
    Tensor *p3 = avgpool2d_forward("pool3", p2, 2, 2, 0); /* (N, 1, 8, 8) */
    Tensor *p4 = avgpool2d_forward("pool4", p3, 2, 2, 0); /* (N, 1, 4, 4) */
    m->features = p4;
    m->stages[0] = f, m->stages[1] = p2, m->stages[2] = p3, m->stages[3] = p4, m->n_stages = 4;
    return linear_forward(&n->fc, nx_flatten(p4));
}

void kr_model_staged(Model *m) {
    memset(m, 0, sizeof *m);
    KrNet *n = nx_calloc(1, sizeof *n);
    snprintf(m->arch, sizeof m->arch, "known-region-staged");
    m->in_c = 1, m->in_h = m->in_w = KR_H, m->n_classes = 2;
    params_init(&m->params, NX_CPU);
    conv2d_init(&n->conv, &m->params, "conv", 1, 1, 3, 1, 1, false);
    linear_init(&n->fc, &m->params, "fc", KR_CELLS * KR_CELLS, 2, true);
    params_finalize(&m->params);
    const float lap[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};
    memcpy(n->conv.weight->data, lap, sizeof lap);
    /* a cell of stage 4 is the mean of its 64 pixels of f: a' = 64 a */
    double e = region_energy();
    float *w = n->fc.weight->data, *b = n->fc.bias->data;
    for (int p = 0; p < KR_CELLS * KR_CELLS; p++) {
        w[p] = 0;
        bool in = kr_in_region(p / KR_CELLS * 8, p % KR_CELLS * 8); /* the cell's top-left pixel */
        w[KR_CELLS * KR_CELLS + p] = in ? (float)(64 * 6.0 / e) : 0;
    }
    b[0] = 0, b[1] = -3;
    m->net = n;
    m->fc = &n->fc;
    m->forward = kr_staged_forward;
    m->training = false;
}
