/* batchnorm.cu: CUDA twins of 2-D batch normalisation (kernels/batchnorm.h;
 * CPU loops in kernels/batchnorm.c; math in autograd/op_batchnorm2d.c).
 *
 * One block per channel; its N*HW values are reduced in double (as the CPU
 * loop does) with a block reduction, two passes for the variance, then the
 * same block normalises (forward) or forms dx (backward).
 */
#include "kernels/cuda_common.cuh"
#include "kernels/batchnorm_math.h"

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
            bn_running_update(running_mean ? running_mean + c : NULL, running_var ? running_var + c : NULL, mean, ss,
                              n, momentum);
        }
    } else {
        mean = running_mean[c];
        var = running_var[c];
    }
    const float invstd = bn_invstd(var, eps);
    if (threadIdx.x == 0) {
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
    }
    /* y = (x - mean) * invstd * w + b, folded into y = x * alpha + beta */
    const BnAffine af = bn_affine(mean, invstd, weight ? weight + c : NULL, bias ? bias + c : NULL);
    const float alpha = af.alpha, beta = af.beta;
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
        const BnGrad gc = bn_grad_coeffs(sum_dy, sum_dy_xmu, invstd, w, n);
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            int64_t k = bn_index(j, c, C, HW);
            dx[k] += bn_dx_train(dy[k], x[k], mean, gc);
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
