/* batchnorm.c: CPU loops of 2-D batch normalisation (math in
 * autograd/op_batchnorm2d.c; declared in kernels/batchnorm.h, CUDA twins in
 * kernels/batchnorm.cu, the per-channel scalar math both share in
 * kernels/batchnorm_math.h). One channel at a time: its N*HW values are
 * x[(b*C + c)*HW + i] for b < N, i < HW. Sums are accumulated in double,
 * as PyTorch's CPU kernel does. */
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_math.h"

void batchnorm2d_forward_cpu(float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var,
                             const float *x, const float *weight, const float *bias, int N, int C, int HW,
                             bool training, float momentum, float eps) {
    const int64_t n = (int64_t)N * HW;
#pragma omp parallel for schedule(dynamic) if (n * C > 32768)
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            double s = 0;
            for (int b = 0; b < N; b++) {
                const float *xc = x + ((int64_t)b * C + c) * HW;
                for (int i = 0; i < HW; i++) s += xc[i];
            }
            mean = s / (double)n;
            double ss = 0; /* two passes: no cancellation */
            for (int b = 0; b < N; b++) {
                const float *xc = x + ((int64_t)b * C + c) * HW;
                for (int i = 0; i < HW; i++) {
                    double d = xc[i] - mean;
                    ss += d * d;
                }
            }
            var = ss / (double)n;
            bn_running_update(running_mean ? running_mean + c : NULL, running_var ? running_var + c : NULL, mean, ss, n,
                              momentum);
        } else {
            mean = running_mean[c];
            var = running_var[c];
        }
        float invstd = bn_invstd(var, eps);
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
        /* y = (x - mean) * invstd * w + b, folded into y = x * alpha + beta */
        BnAffine af = bn_affine(mean, invstd, weight ? weight + c : NULL, bias ? bias + c : NULL);
        const float alpha = af.alpha, beta = af.beta;
        for (int b = 0; b < N; b++) {
            const float *xc = x + ((int64_t)b * C + c) * HW;
            float *yc = y + ((int64_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) yc[i] = xc[i] * alpha + beta;
        }
    }
}

void batchnorm2d_backward_cpu(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                              const float *save_mean, const float *save_invstd, const float *weight, int N, int C,
                              int HW, bool training) {
    const int64_t n = (int64_t)N * HW;
#pragma omp parallel for schedule(dynamic) if (n * C > 32768)
    for (int c = 0; c < C; c++) {
        const double mean = save_mean[c], invstd = save_invstd[c];
        const double w = weight ? weight[c] : 1.0;
        double sum_dy = 0, sum_dy_xmu = 0; /* sum(dy), sum(dy * (x - mean)) */
        for (int b = 0; b < N; b++) {
            const float *xc = x + ((int64_t)b * C + c) * HW;
            const float *dyc = dy + ((int64_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sum_dy += dyc[i];
                sum_dy_xmu += dyc[i] * (xc[i] - mean);
            }
        }
        if (dweight) dweight[c] += (float)(sum_dy_xmu * invstd);
        if (dbias) dbias[c] += (float)sum_dy;
        if (!dx) continue;
        if (training) {
            const BnGrad gc = bn_grad_coeffs(sum_dy, sum_dy_xmu, invstd, w, n);
            for (int b = 0; b < N; b++) {
                const float *xc = x + ((int64_t)b * C + c) * HW;
                const float *dyc = dy + ((int64_t)b * C + c) * HW;
                float *dxc = dx + ((int64_t)b * C + c) * HW;
                for (int i = 0; i < HW; i++) dxc[i] += bn_dx_train(dyc[i], xc[i], mean, gc);
            }
        } else {
            const float scale = (float)(w * invstd);
            for (int b = 0; b < N; b++) {
                const float *dyc = dy + ((int64_t)b * C + c) * HW;
                float *dxc = dx + ((int64_t)b * C + c) * HW;
                for (int i = 0; i < HW; i++) dxc[i] += dyc[i] * scale;
            }
        }
    }
}
