/* batchnorm_math.h: the per-channel scalar math of 2-D batch normalisation,
 * once for the CPU loops (kernels/batchnorm.c) and the CUDA twins
 * (kernels/batchnorm.cu); the sums over a channel's N*HW values are each
 * side's own business (in double on both). Math in autograd/op_batchnorm2d.c.
 */
#ifndef NX_KERNELS_BATCHNORM_MATH_H
#define NX_KERNELS_BATCHNORM_MATH_H

#include "kernels/hd.h"

#include <math.h>

/* running = (1-m)*running + m*stat, with the unbiased variance ss/(n-1);
 * either pointer may be NULL (not tracked). */
NX_HD void bn_running_update(float *running_mean, float *running_var, double mean, double ss, int64_t n,
                             float momentum) {
    if (running_mean) *running_mean = (float)((1.0 - momentum) * *running_mean + momentum * mean);
    if (running_var) *running_var = (float)((1.0 - momentum) * *running_var + momentum * ss / (double)(n - 1));
}

NX_HD float bn_invstd(double var, float eps) { return (float)(1.0 / sqrt(var + eps)); }

/* y = (x - mean) * invstd * w + b, folded into y = x * alpha + beta
 * (weight, bias NULL: 1, 0). */
typedef struct {
    float alpha, beta;
} BnAffine;

NX_HD BnAffine bn_affine(double mean, float invstd, const float *weight, const float *bias) {
    float w = weight ? *weight : 1.0f, bb = bias ? *bias : 0.0f;
    BnAffine a;
    a.alpha = invstd * w;
    a.beta = bb - (float)mean * a.alpha;
    return a;
}

/* Training-mode dx from the channel's sums sum(dy) and sum(dy * (x - mean)):
 *   dx = w*invstd * (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))) */
typedef struct {
    double mean_dy, k, scale;
} BnGrad;

NX_HD BnGrad bn_grad_coeffs(double sum_dy, double sum_dy_xmu, double invstd, double w, int64_t n) {
    BnGrad g;
    g.mean_dy = sum_dy / (double)n;
    g.k = sum_dy_xmu * invstd * invstd / (double)n;
    g.scale = w * invstd;
    return g;
}

NX_HD float bn_dx_train(float dy, float x, double mean, BnGrad g) {
    return (float)((dy - g.mean_dy - (x - mean) * g.k) * g.scale);
}

#endif
