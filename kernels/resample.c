/* resample.c: CPU loops of nearest and bilinear upsampling and pixel shuffle
 * (math in autograd/op_upsample_nearest.c, op_upsample_bilinear.c,
 * op_pixel_shuffle.c; declared in kernels/resample.h, CUDA twins in
 * kernels/resample.cu, the bilinear index and weights shared with them in
 * kernels/resample_math.h). */
#include "kernels/resample.h"
#include "kernels/resample_math.h"

/* ---- nearest ---------------------------------------------------------- */

void upsample_nearest_forward_cpu(float *y, const float *x, int64_t planes, int h, int w, int f) {
    const int oh = h * f, ow = w * f;
#pragma omp parallel for collapse(2) if (planes * oh * ow > 65536) schedule(static)
    for (int64_t p = 0; p < planes; p++)
        for (int i = 0; i < oh; i++) {
            const float *xr = x + (p * h + i / f) * w; /* (W) source row */
            float *yr = y + (p * oh + i) * ow;         /* (OW) */
            for (int j = 0; j < ow; j++) yr[j] = xr[j / f];
        }
}

void upsample_nearest_backward_cpu(float *dx, const float *dy, int64_t planes, int h, int w, int f) {
    const int oh = h * f, ow = w * f;
#pragma omp parallel for collapse(2) if (planes * oh * ow > 65536) schedule(static)
    for (int64_t p = 0; p < planes; p++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                /* the f x f block of dy that copied x[p][i][j], in row-major order
                 * (the order in which PyTorch's backward accumulates it) */
                const float *blk = dy + (p * oh + (int64_t)i * f) * ow + (int64_t)j * f; /* (f, f) rows of OW */
                float s = 0;
                for (int a = 0; a < f; a++)
                    for (int b = 0; b < f; b++) s += blk[(int64_t)a * ow + b];
                dx[(p * h + i) * w + j] += s;
            }
}

/* ---- bilinear --------------------------------------------------------- */

void upsample_bilinear_forward_cpu(float *y, const float *x, int64_t planes, int h, int w, int oh, int ow,
                                   bool align_corners) {
    const float sh = bilinear_scale(h, oh, align_corners), sw = bilinear_scale(w, ow, align_corners);
#pragma omp parallel for collapse(2) if (planes * oh * ow > 65536) schedule(static)
    for (int64_t p = 0; p < planes; p++)
        for (int i = 0; i < oh; i++) {
            LinearTap th = bilinear_tap(sh, i, h, oh, align_corners);
            const float *r0 = x + (p * h + th.i0) * w; /* (W) upper source row */
            const float *r1 = x + (p * h + th.i1) * w; /* (W) lower source row */
            float *yr = y + (p * oh + i) * ow;         /* (OW) */
            for (int j = 0; j < ow; j++) {
                LinearTap tw = bilinear_tap(sw, j, w, ow, align_corners);
                /* along W first, then H: PyTorch's evaluation order */
                float t0 = r0[tw.i0] * tw.l0 + r0[tw.i1] * tw.l1;
                float t1 = r1[tw.i0] * tw.l0 + r1[tw.i1] * tw.l1;
                yr[j] = t0 * th.l0 + t1 * th.l1;
            }
        }
}

void upsample_bilinear_backward_cpu(float *dx, const float *dy, int64_t planes, int h, int w, int oh, int ow,
                                    bool align_corners) {
    const float sh = bilinear_scale(h, oh, align_corners), sw = bilinear_scale(w, ow, align_corners);
    /* one thread per plane: the scatter within a plane stays sequential */
#pragma omp parallel for if (planes * oh * ow > 65536) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        float *dxp = dx + p * h * w;         /* (H, W) */
        const float *dyp = dy + p * oh * ow; /* (OH, OW) */
        for (int i = 0; i < oh; i++) {
            LinearTap th = bilinear_tap(sh, i, h, oh, align_corners);
            for (int j = 0; j < ow; j++) {
                LinearTap tw = bilinear_tap(sw, j, w, ow, align_corners);
                float g = dyp[i * ow + j];
                dxp[th.i0 * w + tw.i0] += th.l0 * tw.l0 * g;
                dxp[th.i0 * w + tw.i1] += th.l0 * tw.l1 * g;
                dxp[th.i1 * w + tw.i0] += th.l1 * tw.l0 * g;
                dxp[th.i1 * w + tw.i1] += th.l1 * tw.l1 * g;
            }
        }
    }
}

/* ---- pixel shuffle ---------------------------------------------------- */

void pixel_shuffle_forward_cpu(float *y, const float *x, int n, int c, int h, int w, int r) {
    const int oh = h * r, ow = w * r;
#pragma omp parallel for collapse(3) if ((int64_t)n * c * oh * ow > 65536) schedule(static)
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++) {
                float *yr = y + (((int64_t)b * c + ch) * oh + i) * ow; /* (OW) */
                /* input channel c*r*r + (i % r)*r + (j % r), row i / r */
                const float *xc = x + (((int64_t)b * c + ch) * r * r + (i % r) * r) * h * w + (int64_t)(i / r) * w;
                for (int j = 0; j < ow; j++) yr[j] = xc[(int64_t)(j % r) * h * w + j / r];
            }
}

void pixel_shuffle_backward_cpu(float *dx, const float *dy, int n, int c, int h, int w, int r) {
    const int oh = h * r, ow = w * r;
    /* a permutation: each dx element receives exactly one dy element */
#pragma omp parallel for collapse(3) if ((int64_t)n * c * oh * ow > 65536) schedule(static)
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++) {
                const float *dyr = dy + (((int64_t)b * c + ch) * oh + i) * ow; /* (OW) */
                float *dxc = dx + (((int64_t)b * c + ch) * r * r + (i % r) * r) * h * w + (int64_t)(i / r) * w;
                for (int j = 0; j < ow; j++) dxc[(int64_t)(j % r) * h * w + j / r] += dyr[j];
            }
}
