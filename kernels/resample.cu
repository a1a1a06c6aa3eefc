/* resample.cu: CUDA twins of nearest and bilinear upsampling, pixel shuffle,
 * channel concatenation and the reshape gradient (kernels/resample.h; CPU
 * loops in kernels/resample.c and kernels/concat.c).
 *
 * One thread per element of the tensor written. The backward passes are
 * gathers where each gradient element has a simple set of sources (nearest:
 * its f x f block, summed in the CPU's row-major order; pixel shuffle and
 * concat: a permutation / a slice), and a scatter with atomicAdd for the
 * bilinear backward, whose 2 x 2 taps overlap between outputs.
 */
#include "kernels/cuda_common.cuh"

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

struct LinearTap {
    int i0, i1;
    float l0, l1;
};

/* PyTorch's area_pixel_compute_scale, in float (resample.c). Host code: the
 * scale is computed once per call and passed to the kernels. */
static float bilinear_scale(int in, int out, bool align_corners) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)in / (float)out;
}

/* compute_source_index_and_lambda, as resample.c's bilinear_tap. The source
 * coordinate is formed with explicit double roundings (no fused
 * multiply-add), so that floor() sees the CPU's value. */
static __device__ __forceinline__ LinearTap bilinear_tap(float scale, int dst, int in, int out, bool align_corners) {
    LinearTap t;
    if (in == out) { /* identity along this axis */
        t.i0 = t.i1 = dst;
        t.l0 = 1.0f;
        t.l1 = 0.0f;
        return t;
    }
    double src = align_corners ? __dmul_rn((double)scale, (double)dst)
                               : __dadd_rn(__dmul_rn((double)scale, (double)dst + 0.5), -0.5);
    if (src < 0) src = 0;
    t.i0 = (int)src;
    if (t.i0 > in - 1) t.i0 = in - 1; /* guard against rounding past the last pixel */
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = (float)(src - t.i0);
    t.l0 = 1.0f - t.l1;
    return t;
}

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

/* ---- concat along dim 1 ------------------------------------------------ */

/* Element t of x (N, c_in, inner) sits at y[i][c_off + ...]: sample i = t / block, k = t % block. */
static __global__ void concat_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t total,
                                             int c_total, int c_off, int64_t block, int64_t inner) {
    NX_GRID_STRIDE(t, total) {
        const int64_t i = t / block, k = t - i * block;
        y[(i * c_total + c_off) * inner + k] = x[t];
    }
}

extern "C" void concat_forward_cuda(float *y, const float *x, int n, int c_total, int c_off, int c_in, int64_t inner) {
    const int64_t block = (int64_t)c_in * inner, total = (int64_t)n * block;
    if (total <= 0) return;
    concat_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, total, c_total, c_off, block, inner);
    NX_LAUNCH_CHECK();
}

static __global__ void concat_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int64_t total,
                                              int c_total, int c_off, int64_t block, int64_t inner) {
    NX_GRID_STRIDE(t, total) {
        const int64_t i = t / block, k = t - i * block;
        dx[t] += dy[(i * c_total + c_off) * inner + k];
    }
}

extern "C" void concat_backward_cuda(float *dx, const float *dy, int n, int c_total, int c_off, int c_in,
                                     int64_t inner) {
    const int64_t block = (int64_t)c_in * inner, total = (int64_t)n * block;
    if (total <= 0) return;
    concat_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, total, c_total, c_off, block, inner);
    NX_LAUNCH_CHECK();
}

/* ---- reshape: dx += dy ------------------------------------------------- */

static __global__ void reshape_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int64_t n) {
    NX_GRID_STRIDE(i, n) dx[i] += dy[i];
}

extern "C" void reshape_backward_cuda(float *dx, const float *dy, int64_t n) {
    if (n <= 0) return;
    reshape_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, n);
    NX_LAUNCH_CHECK();
}

/* Strong symbol that kernels/cuda_link.cu references, so that linking
 * libnicex.a pulls this file in (see there). */
extern "C" void nx_cuda_link_resample(void) {}
