/* nice.cu: CUDA twins of the NICE kernels (kernels/nice.h; CPU loops in
 * kernels/nice.c).
 *
 *  - neighbor_l1 forward: out[n] sums 4 * C*H*W terms; a grid of
 *    (chunks, N) blocks forms partial sums in double (the caller's scratch), and a
 *    second kernel adds each sample's partials in a fixed order
 *    (deterministic, no atomics).
 *  - neighbor_l1 backward: a gather; each pixel adds the signs of the pairs
 *    in which it is the first element (its up, left, up-left, up-right
 *    neighbours) and subtracts those in which it is the second (the pixels
 *    below, right, below-right and below-left of it).
 *  - logistic noise: one thread per Philox block of 4 numbers; the uniforms
 *    are bit-identical to philox_uniform(). Each log is computed in double
 *    and rounded once to float: a correctly rounded logf, except on ~2^-28
 *    of inputs. The CPU's logf agrees exactly where it is correctly
 *    rounded too (CORE-MATH in newer glibc); glibc 2.36's logf (0.52 ulp)
 *    differs by one ulp on ~0.1% of inputs, so a few noise values in 1000
 *    may differ by an ulp. tests/suite_cuda.c prints the exact-match count.
 */
#include "kernels/cuda_common.cuh"
#include "kernels/philox.h"

/* The 4 neighbour offsets (dm, dk): up, left, up-left, up-right (NICE eq. 9). */
static __device__ __forceinline__ int nb_dm(int d) { return d == 1 ? 0 : -1; }
static __device__ __forceinline__ int nb_dk(int d) { return d == 0 ? 0 : (d == 3 ? 1 : -1); }

static __device__ __forceinline__ float sgn(float v) { return (float)((v > 0) - (v < 0)); }

/* ---- neighbor_l1 forward ----------------------------------------------- */

#define NB_THREADS 256
#define NB_MAX_CHUNKS 64

/* Block (s, n): partial[n * chunks + s] = sum of the terms of the pixels
 * j = s*blockDim + tid, stepping chunks*blockDim, of sample n. */
static __global__ void neighbor_l1_partial_kernel(double *__restrict__ partial, const float *__restrict__ x, int C,
                                                  int H, int W) {
    const int n = blockIdx.y, chunks = gridDim.x;
    const int64_t plane = (int64_t)H * W, per_sample = (int64_t)C * plane;
    const float *xn = x + (int64_t)n * per_sample;
    double s = 0;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < per_sample;
         j += (int64_t)chunks * blockDim.x) {
        const int64_t c = j / plane;
        const int m = (int)((j - c * plane) / W), k = (int)(j % W);
        const float *p = xn + c * plane;
        const float v = p[m * W + k];
#pragma unroll
        for (int d = 0; d < 4; d++) {
            const int mm = m + nb_dm(d), kk = k + nb_dk(d);
            if (mm < 0 || kk < 0 || kk >= W) continue;
            s += fabsf(v - p[mm * W + kk]);
        }
    }
    s = nx_block_sum(s);
    if (threadIdx.x == 0) partial[(int64_t)n * chunks + blockIdx.x] = s;
}

/* out[n] = sum_s partial[n, s], in order. */
static __global__ void neighbor_l1_finish_kernel(float *__restrict__ out, const double *__restrict__ partial, int N,
                                                 int chunks) {
    NX_GRID_STRIDE(n, N) {
        double s = 0;
        for (int i = 0; i < chunks; i++) s += partial[n * chunks + i];
        out[n] = (float)s;
    }
}

/* Blocks per sample of the partial sums. */
static int64_t neighbor_l1_chunks(int C, int H, int W) {
    const int64_t per_sample = (int64_t)C * H * W;
    int64_t chunks = (per_sample + NB_THREADS * 8 - 1) / (NB_THREADS * 8); /* ~8 pixels per thread */
    if (chunks < 1) chunks = 1;
    if (chunks > NB_MAX_CHUNKS) chunks = NB_MAX_CHUNKS;
    return chunks;
}

extern "C" size_t neighbor_l1_forward_ws_cuda(int N, int C, int H, int W) {
    return N > 0 ? (size_t)N * (size_t)neighbor_l1_chunks(C, H, W) * sizeof(double) : 0;
}

extern "C" void neighbor_l1_forward_cuda(float *out, const float *x, int N, int C, int H, int W, void *ws) {
    if (N <= 0) return;
    const int64_t chunks = neighbor_l1_chunks(C, H, W);
    NX_CHECK(N <= 65535, "neighbor_l1_forward_cuda: N = %d > 65535 samples", N);
    NX_CHECK(ws, "neighbor_l1_forward_cuda: no workspace (neighbor_l1_forward_ws_cuda bytes)");
    double *partial = (double *)ws; /* (N, chunks) */
    neighbor_l1_partial_kernel<<<dim3((unsigned)chunks, (unsigned)N), NB_THREADS>>>(partial, x, C, H, W);
    NX_LAUNCH_CHECK();
    neighbor_l1_finish_kernel<<<nx_grid(N, NX_BLOCK), NX_BLOCK>>>(out, partial, N, (int)chunks);
    NX_LAUNCH_CHECK();
}

/* ---- neighbor_l1 backward ---------------------------------------------- */

static __global__ void neighbor_l1_backward_kernel(float *__restrict__ dx, const float *__restrict__ dout,
                                                   const float *__restrict__ x, int64_t total, int C, int H, int W) {
    const int64_t plane = (int64_t)H * W;
    NX_GRID_STRIDE(t, total) {
        const int64_t nc = t / plane; /* n * C + c */
        const int64_t r = t - nc * plane;
        const int m = (int)(r / W), k = (int)(r % W);
        const float *p = x + nc * plane;
        const float dn = dout[nc / C], v = p[r];
        float g = 0;
#pragma unroll
        for (int d = 0; d < 4; d++) {
            /* as the first pixel of the pair: its neighbour (m + dm, k + dk) */
            const int mm = m + nb_dm(d), kk = k + nb_dk(d);
            if (mm >= 0 && kk >= 0 && kk < W) g += dn * sgn(v - p[mm * W + kk]);
            /* as the neighbour of the pixel (m - dm, k - dk) */
            const int pm = m - nb_dm(d), pk = k - nb_dk(d);
            if (pm < H && pk >= 0 && pk < W) g -= dn * sgn(p[pm * W + pk] - v);
        }
        dx[t] += g;
    }
}

extern "C" void neighbor_l1_backward_cuda(float *dx, const float *dout, const float *x, int N, int C, int H, int W) {
    const int64_t total = (int64_t)N * C * H * W;
    if (total <= 0) return;
    neighbor_l1_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dout, x, total, C, H, W);
    NX_LAUNCH_CHECK();
}

/* ---- logistic noise ---------------------------------------------------- */

/* Thread t: Philox block b0 + t, stream numbers 4(b0 + t) + j, elements i = 4b + j - offset. */
static __global__ void logistic_noise_kernel(float *__restrict__ out, int64_t n, uint64_t seed, uint64_t offset,
                                             float eps, int64_t b0, int64_t n_blocks) {
    NX_GRID_STRIDE(t, n_blocks) {
        const int64_t b = b0 + t;
        const NxPhilox4 r = nx_philox_block(seed, (uint64_t)b);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int64_t i = 4 * b + j - (int64_t)offset;
            if (i < 0 || i >= n) continue;
            float u = nx_philox_to_uniform(r.w[j]);
            u = fminf(fmaxf(u, eps), 1.0f - eps);
            out[i] = (float)log((double)u) - (float)log((double)(1.0f - u));
        }
    }
}

extern "C" void logistic_noise_cuda(float *out, int64_t n, uint64_t seed, uint64_t offset, float eps) {
    if (n <= 0) return;
    const int64_t b0 = (int64_t)(offset >> 2), b1 = (int64_t)((offset + (uint64_t)n - 1) >> 2);
    const int64_t n_blocks = b1 - b0 + 1;
    logistic_noise_kernel<<<nx_grid(n_blocks, NX_BLOCK), NX_BLOCK>>>(out, n, seed, offset, eps, b0, n_blocks);
    NX_LAUNCH_CHECK();
}
