/* render.c: see render.h. */
#include "eval/render.h"
#include "tensor/common.h"

#include <math.h>
#include <string.h>

static uint8_t to8(float v) {
    v = !(v >= 0) ? 0 : v > 1 ? 1 : v; /* NaN -> 0 */
    return (uint8_t)lrintf(v * 255.0f);
}

void render_image(uint8_t *out, const float *x, int C, int H, int W, int rgb) {
    int oc = rgb ? 3 : C;
    for (int i = 0; i < H * W; i++)
        for (int c = 0; c < oc; c++) out[i * oc + c] = to8(x[(C == 1 ? 0 : c) * H * W + i]);
}

/* A piecewise-linear "inferno"-like colormap through 5 anchors. */
static void colormap(float v, uint8_t rgb[3]) {
    static const float anchors[5][3] = {
        {0.00f, 0.00f, 0.02f}, {0.34f, 0.06f, 0.43f}, {0.73f, 0.21f, 0.33f}, {0.98f, 0.55f, 0.04f}, {0.99f, 1.00f, 0.64f}};
    v = !(v >= 0) ? 0 : v > 1 ? 1 : v; /* NaN -> 0: (int)NaN would index anywhere */
    float t = v * 4;
    int k = t >= 4 ? 3 : (int)t;
    float f = t - (float)k;
    for (int c = 0; c < 3; c++) rgb[c] = to8(anchors[k][c] * (1 - f) + anchors[k + 1][c] * f);
}

void render_heatmap(uint8_t *out, const float *m, int H, int W) {
    for (int i = 0; i < H * W; i++) colormap(m[i], out + 3 * i);
}

void render_overlay(uint8_t *out, const float *x, const float *m, int C, int H, int W) {
    for (int i = 0; i < H * W; i++) {
        float gray = 0;
        for (int c = 0; c < C; c++) gray += x[c * H * W + i];
        gray /= (float)C;
        uint8_t heat[3];
        colormap(m[i], heat);
        float a = 0.15f + 0.7f * (!(m[i] >= 0) ? 0 : m[i] > 1 ? 1 : m[i]);
        for (int c = 0; c < 3; c++) out[3 * i + c] = to8((1 - a) * 0.6f * gray + a * heat[c] / 255.0f);
    }
}

void normalise_map(float *m, int64_t n) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) lo = fminf(lo, m[i]), hi = fmaxf(hi, m[i]);
    float span = hi - lo;
    for (int64_t i = 0; i < n; i++) m[i] = span > 0 ? (m[i] - lo) / span : 0.0f;
}

Picture grid_compose(const uint8_t *const *tiles, int n, int h, int w, int cols, int scale) {
    const int gap = 2;
    if (cols > n) cols = n;
    if (cols < 1) cols = 1;
    int rows = (n + cols - 1) / cols;
    Picture p = {.h = rows * (h * scale + gap) + gap, .w = cols * (w * scale + gap) + gap};
    p.pixels = nx_malloc((size_t)p.h * p.w * 3);
    memset(p.pixels, 255, (size_t)p.h * p.w * 3);
    for (int t = 0; t < n; t++) {
        int y0 = gap + (t / cols) * (h * scale + gap), x0 = gap + (t % cols) * (w * scale + gap);
        for (int y = 0; y < h * scale; y++)
            for (int x = 0; x < w * scale; x++)
                memcpy(p.pixels + ((size_t)(y0 + y) * p.w + x0 + x) * 3, tiles[t] + ((y / scale) * w + x / scale) * 3, 3);
    }
    return p;
}
