/* resample.cu: CUDA twins of nearest and bilinear upsampling and pixel
 * shuffle (kernels/resample.h; CPU loops in kernels/resample.c; the
 * bilinear index and weight rules shared with them in
 * kernels/resample_math.h).
 *
 * One thread per element of the tensor written. The backward passes are
 * gathers where each gradient element has a simple set of sources (nearest:
 * its f x f block, summed in the CPU's row-major order; pixel shuffle: a
 * permutation), and a scatter with atomicAdd for the bilinear backward,
 * whose 2 x 2 taps overlap between outputs.
 */
#include "kernels/cuda_common.cuh"
#include "kernels/resample_math.h"

/* ---- nearest ----------------------------------------------------------- */

static __global__ void upsample_nearest_forward_kernel(float *__restrict__ y, const float *__restrict__ x,
                                                       int64_t planes, int h, int w, int f) {
    const int oh = h * f, ow = w * f;
    NX_GRID_STRIDE(t, planes * oh * ow) {
        const int j = (int)(t % ow), i = (int)((t / ow) % oh);
        const int64_t p = t / ((int64_t)ow * oh);
        y[t] = x[(p * h + i / f) * w + j / f];
    }
}

extern "C" void upsample_nearest_forward_cuda(float *y, const float *x, int64_t planes, int h, int w, int f) {
    const int64_t total = planes * h * f * w * f;
    if (total <= 0) return;
    upsample_nearest_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, planes, h, w, f);
    NX_LAUNCH_CHECK();
}

/* dx[p][i][j] += sum of the f x f block of dy at (i*f, j*f), row-major as the CPU */
static __global__ void upsample_nearest_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                                        int64_t planes, int h, int w, int f) {
    const int oh = h * f, ow = w * f;
    NX_GRID_STRIDE(t, planes * h * w) {
        const int j = (int)(t % w), i = (int)((t / w) % h);
        const int64_t p = t / ((int64_t)w * h);
        const float *blk = dy + (p * oh + (int64_t)i * f) * ow + (int64_t)j * f; /* (f, f) rows of OW */
        float s = 0;
        for (int a = 0; a < f; a++)
            for (int b = 0; b < f; b++) s += blk[(int64_t)a * ow + b];
        dx[t] += s;
    }
}

extern "C" void upsample_nearest_backward_cuda(float *dx, const float *dy, int64_t planes, int h, int w, int f) {
    const int64_t total = planes * h * w;
    if (total <= 0) return;
    upsample_nearest_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, planes, h, w, f);
    NX_LAUNCH_CHECK();
}

/* ---- bilinear ---------------------------------------------------------- */

static __global__ void upsample_bilinear_forward_kernel(float *__restrict__ y, const float *__restrict__ x,
                                                        int64_t planes, int h, int w, int oh, int ow, float sh,
                                                        float sw, bool align_corners) {
    NX_GRID_STRIDE(t, planes * oh * ow) {
        const int j = (int)(t % ow), i = (int)((t / ow) % oh);
        const int64_t p = t / ((int64_t)ow * oh);
        const LinearTap th = bilinear_tap(sh, i, h, oh, align_corners);
        const LinearTap tw = bilinear_tap(sw, j, w, ow, align_corners);
        const float *r0 = x + (p * h + th.i0) * w; /* (W) upper source row */
        const float *r1 = x + (p * h + th.i1) * w; /* (W) lower source row */
        /* along W first, then H: PyTorch's evaluation order */
        const float t0 = r0[tw.i0] * tw.l0 + r0[tw.i1] * tw.l1;
        const float t1 = r1[tw.i0] * tw.l0 + r1[tw.i1] * tw.l1;
        y[t] = t0 * th.l0 + t1 * th.l1;
    }
}

extern "C" void upsample_bilinear_forward_cuda(float *y, const float *x, int64_t planes, int h, int w, int oh, int ow,
                                               bool align_corners) {
    const int64_t total = planes * oh * ow;
    if (total <= 0) return;
    const float sh = bilinear_scale(h, oh, align_corners), sw = bilinear_scale(w, ow, align_corners);
    upsample_bilinear_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, planes, h, w, oh, ow, sh, sw,
                                                                             align_corners);
    NX_LAUNCH_CHECK();
}

/* One thread per dy element, scattering its four weighted taps (they overlap
 * between neighbouring outputs, hence atomicAdd). */
static __global__ void upsample_bilinear_backward_kernel(float *dx, const float *__restrict__ dy, int64_t planes, int h,
                                                         int w, int oh, int ow, float sh, float sw,
                                                         bool align_corners) {
    NX_GRID_STRIDE(t, planes * oh * ow) {
        const int j = (int)(t % ow), i = (int)((t / ow) % oh);
        const int64_t p = t / ((int64_t)ow * oh);
        const LinearTap th = bilinear_tap(sh, i, h, oh, align_corners);
        const LinearTap tw = bilinear_tap(sw, j, w, ow, align_corners);
        float *dxp = dx + p * h * w; /* (H, W) */
        const float g = dy[t];
        atomicAdd(dxp + th.i0 * w + tw.i0, th.l0 * tw.l0 * g);
        atomicAdd(dxp + th.i0 * w + tw.i1, th.l0 * tw.l1 * g);
        atomicAdd(dxp + th.i1 * w + tw.i0, th.l1 * tw.l0 * g);
        atomicAdd(dxp + th.i1 * w + tw.i1, th.l1 * tw.l1 * g);
    }
}

extern "C" void upsample_bilinear_backward_cuda(float *dx, const float *dy, int64_t planes, int h, int w, int oh,
                                                int ow, bool align_corners) {
    const int64_t total = planes * oh * ow;
    if (total <= 0) return;
    const float sh = bilinear_scale(h, oh, align_corners), sw = bilinear_scale(w, ow, align_corners);
    upsample_bilinear_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, planes, h, w, oh, ow, sh, sw,
                                                                              align_corners);
    NX_LAUNCH_CHECK();
}

/* ---- pixel shuffle ----------------------------------------------------- */

/* Offset in x (N, C*r*r, H, W) of y element t of (N, C, H*r, W*r):
 * x[b][ch*r*r + (i % r)*r + (j % r)][i / r][j / r]. */
static __device__ __forceinline__ int64_t pixel_shuffle_src(int64_t t, int c, int h, int w, int r) {
    const int oh = h * r, ow = w * r;
    const int j = (int)(t % ow), i = (int)((t / ow) % oh);
    const int64_t bc = t / ((int64_t)ow * oh); /* b * c + ch */
    return ((bc * r * r + (int64_t)(i % r) * r + j % r) * h + i / r) * w + j / r;
}

static __global__ void pixel_shuffle_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t total,
                                                    int c, int h, int w, int r) {
    NX_GRID_STRIDE(t, total) y[t] = x[pixel_shuffle_src(t, c, h, w, r)];
}

extern "C" void pixel_shuffle_forward_cuda(float *y, const float *x, int n, int c, int h, int w, int r) {
    const int64_t total = (int64_t)n * c * h * r * w * r;
    if (total <= 0) return;
    pixel_shuffle_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, total, c, h, w, r);
    NX_LAUNCH_CHECK();
}

/* A permutation: each dx element receives exactly one dy element, no race. */
static __global__ void pixel_shuffle_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                                     int64_t total, int c, int h, int w, int r) {
    NX_GRID_STRIDE(t, total) dx[pixel_shuffle_src(t, c, h, w, r)] += dy[t];
}

extern "C" void pixel_shuffle_backward_cuda(float *dx, const float *dy, int n, int c, int h, int w, int r) {
    const int64_t total = (int64_t)n * c * h * r * w * r;
    if (total <= 0) return;
    pixel_shuffle_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, total, c, h, w, r);
    NX_LAUNCH_CHECK();
}
