/* nn.cu: CUDA twins of batch normalisation, pooling and dropout
 * (kernels/nn.h; CPU loops in kernels/batchnorm.c, pool.c, dropout.c; math
 * in autograd/op_batchnorm2d.c, op_maxpool2d.c, op_avgpool2d.c,
 * op_global_avgpool.c, op_dropout.c).
 *
 *  - batchnorm2d: one block per channel; its N*HW values are reduced in
 *    double (as the CPU loop does) with a block reduction, two passes for the
 *    variance, then the same block normalises (forward) or forms dx (backward).
 *  - maxpool2d / avgpool2d forward: one thread per output. The max-pool
 *    backward scatters through the saved argmax with atomicAdd (windows may
 *    overlap); the avg-pool backward is a gather: each input sums the
 *    outputs whose window covers it, so no atomics.
 *  - global_avgpool: one warp per plane, double accumulation.
 *  - dropout: one thread per Philox block of 4 numbers, the same words and
 *    the same float conversion as dropout.c, so the mask is bit-identical.
 */
#include "kernels/cuda_common.cuh"

/* ---- batchnorm2d ------------------------------------------------------- */

#define BN_THREADS 512

/* Element j of channel c, j in [0, N*HW): x[(b*C + c)*HW + i], b = j / HW, i = j % HW. */
static __device__ __forceinline__ int64_t bn_index(int64_t j, int c, int C, int HW) {
    int64_t b = j / HW, i = j - b * HW;
    return (b * C + c) * HW + i;
}

static __global__ void batchnorm2d_forward_kernel(float *__restrict__ y, float *save_mean, float *save_invstd,
                                                  float *running_mean, float *running_var, const float *__restrict__ x,
                                                  const float *weight, const float *bias, int N, int C, int HW,
                                                  bool training, float momentum, float eps) {
    const int c = blockIdx.x;
    const int64_t n = (int64_t)N * HW;
    double mean, var;
    if (training) {
        double s = 0;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += x[bn_index(j, c, C, HW)];
        s = nx_block_sum(s);
        mean = s / (double)n;
        double ss = 0; /* two passes: no cancellation */
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            double d = x[bn_index(j, c, C, HW)] - mean;
            ss += d * d;
        }
        ss = nx_block_sum(ss);
        var = ss / (double)n;
        if (threadIdx.x == 0) {
            if (running_mean) running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
            if (running_var)
                running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * ss / (double)(n - 1));
        }
    } else {
        mean = running_mean[c];
        var = running_var[c];
    }
    const float invstd = (float)(1.0 / sqrt(var + eps));
    if (threadIdx.x == 0) {
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
    }
    /* y = (x - mean) * invstd * w + b, folded into y = x * alpha + beta */
    const float w = weight ? weight[c] : 1.0f, bb = bias ? bias[c] : 0.0f;
    const float alpha = invstd * w, beta = bb - (float)mean * alpha;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        int64_t k = bn_index(j, c, C, HW);
        y[k] = x[k] * alpha + beta;
    }
}

extern "C" void batchnorm2d_forward_cuda(float *y, float *save_mean, float *save_invstd, float *running_mean,
                                         float *running_var, const float *x, const float *weight, const float *bias,
                                         int N, int C, int HW, bool training, float momentum, float eps) {
    if (C <= 0) return;
    batchnorm2d_forward_kernel<<<C, BN_THREADS>>>(y, save_mean, save_invstd, running_mean, running_var, x, weight, bias,
                                                  N, C, HW, training, momentum, eps);
    NX_LAUNCH_CHECK();
}

static __global__ void batchnorm2d_backward_kernel(float *dx, float *dweight, float *dbias,
                                                   const float *__restrict__ dy, const float *__restrict__ x,
                                                   const float *save_mean, const float *save_invstd,
                                                   const float *weight, int N, int C, int HW, bool training) {
    const int c = blockIdx.x;
    const int64_t n = (int64_t)N * HW;
    const double mean = save_mean[c], invstd = save_invstd[c];
    const double w = weight ? weight[c] : 1.0;
    double sum_dy = 0, sum_dy_xmu = 0; /* sum(dy), sum(dy * (x - mean)) */
    if (dweight || dbias || (dx && training)) {
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            int64_t k = bn_index(j, c, C, HW);
            sum_dy += dy[k];
            sum_dy_xmu += dy[k] * (x[k] - mean);
        }
        sum_dy = nx_block_sum(sum_dy);
        sum_dy_xmu = nx_block_sum(sum_dy_xmu);
    }
    if (threadIdx.x == 0) {
        if (dweight) dweight[c] += (float)(sum_dy_xmu * invstd);
        if (dbias) dbias[c] += (float)sum_dy;
    }
    if (!dx) return;
    if (training) {
        /* dx = w*invstd * (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))) */
        const double mean_dy = sum_dy / (double)n, k2 = sum_dy_xmu * invstd * invstd / (double)n;
        const double scale = w * invstd;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            int64_t k = bn_index(j, c, C, HW);
            dx[k] += (float)((dy[k] - mean_dy - (x[k] - mean) * k2) * scale);
        }
    } else {
        const float scale = (float)(w * invstd);
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            int64_t k = bn_index(j, c, C, HW);
            dx[k] += dy[k] * scale;
        }
    }
}

extern "C" void batchnorm2d_backward_cuda(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                                          const float *save_mean, const float *save_invstd, const float *weight, int N,
                                          int C, int HW, bool training) {
    if (C <= 0 || (!dx && !dweight && !dbias)) return;
    batchnorm2d_backward_kernel<<<C, BN_THREADS>>>(dx, dweight, dbias, dy, x, save_mean, save_invstd, weight, N, C, HW,
                                                   training);
    NX_LAUNCH_CHECK();
}

/* ---- maxpool2d --------------------------------------------------------- */

static __global__ void maxpool2d_forward_kernel(float *__restrict__ y, int32_t *idx, const float *__restrict__ x, int P,
                                                int H, int W, int OH, int OW, int k, int stride, int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    NX_GRID_STRIDE(o, total) {
        const int ow = (int)(o % OW), oh = (int)((o / OW) % OH);
        const int64_t p = o / ((int64_t)OW * OH);
        const float *xp = x + p * H * W;
        const int h0 = max(oh * stride - pad, 0), h1 = min(oh * stride - pad + k, H);
        const int w0 = max(ow * stride - pad, 0), w1 = min(ow * stride - pad + k, W);
        float best = -INFINITY;
        int32_t arg = h0 * W + w0; /* PyTorch's start value when all are -inf */
        for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++) {
                float v = xp[ih * W + iw];
                if (v > best || isnan(v)) { /* strict: the first maximum wins ties; a NaN wins (the last one) */
                    best = v;
                    arg = ih * W + iw;
                }
            }
        y[o] = best;
        if (idx) idx[o] = arg;
    }
}

extern "C" void maxpool2d_forward_cuda(float *y, int32_t *idx, const float *x, int P, int H, int W, int OH, int OW,
                                       int k, int stride, int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    if (total <= 0) return;
    maxpool2d_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, idx, x, P, H, W, OH, OW, k, stride, pad);
    NX_LAUNCH_CHECK();
}

/* dx[p, idx[p, o]] += dy[p, o]: overlapping windows may share an argmax, so atomic. */
static __global__ void maxpool2d_backward_kernel(float *dx, const float *__restrict__ dy,
                                                 const int32_t *__restrict__ idx, int64_t total, int HW, int OHW) {
    NX_GRID_STRIDE(o, total) {
        const int64_t p = o / OHW;
        atomicAdd(dx + p * HW + idx[o], dy[o]);
    }
}

extern "C" void maxpool2d_backward_cuda(float *dx, const float *dy, const int32_t *idx, int P, int HW, int OHW) {
    const int64_t total = (int64_t)P * OHW;
    if (total <= 0) return;
    maxpool2d_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, idx, total, HW, OHW);
    NX_LAUNCH_CHECK();
}

/* ---- avgpool2d --------------------------------------------------------- */

/* count_include_pad=True divisor, clipped at H + pad and W + pad (pool.c). */
static __device__ __forceinline__ int avg_divisor(int oh, int ow, int H, int W, int k, int stride, int pad) {
    int h0 = oh * stride - pad, w0 = ow * stride - pad;
    int h1 = min(h0 + k, H + pad), w1 = min(w0 + k, W + pad);
    return (h1 - h0) * (w1 - w0);
}

static __global__ void avgpool2d_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int P, int H, int W,
                                                int OH, int OW, int k, int stride, int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    NX_GRID_STRIDE(o, total) {
        const int ow = (int)(o % OW), oh = (int)((o / OW) % OH);
        const int64_t p = o / ((int64_t)OW * OH);
        const float *xp = x + p * H * W;
        const int h0 = max(oh * stride - pad, 0), h1 = min(oh * stride - pad + k, H);
        const int w0 = max(ow * stride - pad, 0), w1 = min(ow * stride - pad + k, W);
        float s = 0;
        for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++) s += xp[ih * W + iw];
        y[o] = s / (float)avg_divisor(oh, ow, H, W, k, stride, pad);
    }
}

extern "C" void avgpool2d_forward_cuda(float *y, const float *x, int P, int H, int W, int OH, int OW, int k, int stride,
                                       int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    if (total <= 0) return;
    avgpool2d_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, P, H, W, OH, OW, k, stride, pad);
    NX_LAUNCH_CHECK();
}

/* Gather: input (ih, iw) lies in the window of output oh iff
 * oh*stride - pad <= ih < oh*stride - pad + k, i.e.
 * ceil((ih + pad - k + 1) / stride) <= oh <= floor((ih + pad) / stride). */
static __device__ __forceinline__ void avg_out_range(int i, int pad, int k, int stride, int out, int *lo, int *hi) {
    const int a = i + pad - k + 1;
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = min((i + pad) / stride, out - 1); /* inclusive */
}

static __global__ void avgpool2d_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int P, int H,
                                                 int W, int OH, int OW, int k, int stride, int pad) {
    const int64_t total = (int64_t)P * H * W;
    NX_GRID_STRIDE(t, total) {
        const int iw = (int)(t % W), ih = (int)((t / W) % H);
        const int64_t p = t / ((int64_t)W * H);
        const float *dyp = dy + p * OH * OW;
        int oh0, oh1, ow0, ow1;
        avg_out_range(ih, pad, k, stride, OH, &oh0, &oh1);
        avg_out_range(iw, pad, k, stride, OW, &ow0, &ow1);
        float s = 0;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
                s += dyp[oh * OW + ow] / (float)avg_divisor(oh, ow, H, W, k, stride, pad);
        dx[t] += s;
    }
}

extern "C" void avgpool2d_backward_cuda(float *dx, const float *dy, int P, int H, int W, int OH, int OW, int k,
                                        int stride, int pad) {
    const int64_t total = (int64_t)P * H * W;
    if (total <= 0 || OH <= 0 || OW <= 0) return;
    avgpool2d_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, P, H, W, OH, OW, k, stride, pad);
    NX_LAUNCH_CHECK();
}

/* ---- global_avgpool ---------------------------------------------------- */

/* One warp per plane: y[p] = sum(x[p, :]) / HW, summed in double. */
static __global__ void global_avgpool_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t P,
                                                     int64_t HW) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t p = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; p < P; p += warps) {
        const float *xp = x + p * HW;
        double s = 0;
        for (int64_t i = lane; i < HW; i += 32) s += xp[i];
        s = nx_warp_sum(s);
        if (lane == 0) y[p] = (float)(s / (double)HW);
    }
}

extern "C" void global_avgpool_forward_cuda(float *y, const float *x, int64_t P, int64_t HW) {
    if (P <= 0) return;
    global_avgpool_forward_kernel<<<nx_grid(P * 32, NX_BLOCK), NX_BLOCK>>>(y, x, P, HW);
    NX_LAUNCH_CHECK();
}

static __global__ void global_avgpool_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int64_t P,
                                                      int64_t HW) {
    NX_GRID_STRIDE(t, P * HW) dx[t] += dy[t / HW] / (float)HW;
}

extern "C" void global_avgpool_backward_cuda(float *dx, const float *dy, int64_t P, int64_t HW) {
    if (P <= 0 || HW <= 0) return;
    global_avgpool_backward_kernel<<<nx_grid(P * HW, NX_BLOCK), NX_BLOCK>>>(dx, dy, P, HW);
    NX_LAUNCH_CHECK();
}

/* ---- dropout ----------------------------------------------------------- */

/* out[i] (+)= keep_i ? in[i] * scale : 0, keep_i = u(offset + i) > p; thread t
 * handles Philox block b0 + t, i.e. stream numbers 4(b0 + t) .. 4(b0 + t) + 3. */
static __global__ void dropout_kernel(float *out, const float *__restrict__ in, int64_t n, float p, float scale,
                                      uint64_t seed, uint64_t offset, int64_t b0, int64_t n_blocks, bool accumulate) {
    NX_GRID_STRIDE(t, n_blocks) {
        const int64_t b = b0 + t;
        const NxPhilox4 r = nx_philox_block(seed, (uint64_t)b);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int64_t i = 4 * b + j - (int64_t)offset; /* element index of stream number 4b + j */
            if (i < 0 || i >= n) continue;
            const bool keep = nx_philox_to_uniform(r.w[j]) > p;
            const float v = keep ? __fmul_rn(in[i], scale) : 0.0f; /* never fused with the += below */
            if (accumulate)
                out[i] += v;
            else
                out[i] = v;
        }
    }
}

static __global__ void copy_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] = x[i];
}

static __global__ void add_into_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] += x[i];
}

static void dropout_apply(float *out, const float *in, int64_t n, float p, uint64_t seed, uint64_t offset,
                          bool accumulate) {
    if (n <= 0) return;
    if (p == 0) { /* identity, draws nothing */
        if (accumulate)
            add_into_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(out, in, n);
        else
            copy_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(out, in, n);
        NX_LAUNCH_CHECK();
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    const int64_t b0 = (int64_t)(offset >> 2), b1 = (int64_t)((offset + (uint64_t)n - 1) >> 2);
    const int64_t n_blocks = b1 - b0 + 1;
    dropout_kernel<<<nx_grid(n_blocks, NX_BLOCK), NX_BLOCK>>>(out, in, n, p, scale, seed, offset, b0, n_blocks,
                                                              accumulate);
    NX_LAUNCH_CHECK();
}

extern "C" void dropout_forward_cuda(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t offset) {
    dropout_apply(y, x, n, p, seed, offset, false);
}

extern "C" void dropout_backward_cuda(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t offset) {
    dropout_apply(dx, dy, n, p, seed, offset, true);
}

/* Strong symbol that kernels/cuda_link.cu references, so that linking
 * libnicex.a pulls this file in (see there). */
extern "C" void nx_cuda_link_nn(void) {}
