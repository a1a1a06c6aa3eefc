/* optim.c: CPU loops of the SGD and Adam/AdamW updates (kernels/optim.h;
 * CUDA twins in kernels/optim.cu).
 *
 * The scalars arrive as double (PyTorch keeps hyperparameters as Python
 * floats) and are rounded to float exactly where PyTorch 1.13's single-tensor
 * path rounds them: each `alpha=` / `value=` of an in-place op, and the bias
 * corrections, computed in double, then used as float scalars. Each float
 * operation is rounded as in ATen's CPU kernels, which fuse some of them
 * (checked against Debian's torch 1.13, AVX2 kernels, bit for bit):
 *   a.add(x, alpha=s)          fmaf(s, x, a)
 *   a.addcmul_(x, y, value=s)  fmaf(s*x, y, a)
 *   a.addcdiv_(x, y, value=s)  a + s*x/y       (not fused)
 *   a.mul_(s), x / s           one rounding each
 */
#include "kernels/optim.h"

#include <math.h>

void sgd_step_cpu(float *p, float *buf, const float *grad, int64_t n, double lr, double momentum, double dampening,
                  double weight_decay, bool nesterov, bool first) {
    const float wd = (float)weight_decay, mom = (float)momentum;
    const float keep = (float)(1.0 - dampening), neg_lr = (float)-lr;
#pragma omp parallel for simd if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0) g = fmaf(wd, p[i], g);                  /* d_p = d_p.add(param, alpha=wd) */
        if (mom != 0) {
            float b = first ? g : fmaf(keep, g, buf[i] * mom); /* buf.mul_(m).add_(d_p, alpha=1-damp) */
            buf[i] = b;
            g = nesterov ? fmaf(mom, b, g) : b;              /* d_p.add(buf, alpha=m), or buf */
        }
        p[i] = fmaf(neg_lr, g, p[i]);                        /* param.add_(d_p, alpha=-lr) */
    }
}

void adam_step_cpu(float *p, float *m, float *v, const float *grad, int64_t n, double lr, double beta1, double beta2,
                   double eps, double weight_decay, bool decoupled, int64_t step) {
    const double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    const float neg_step_size = (float)(-(lr / bc1)), bc2_sqrt = (float)sqrt(bc2), epsf = (float)eps;
    const float b1 = (float)beta1, b2 = (float)beta2, one_m_b1 = (float)(1.0 - beta1), one_m_b2 = (float)(1.0 - beta2);
    const float wd = (float)weight_decay, decay = (float)(1.0 - lr * weight_decay);
#pragma omp parallel for simd if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i], pi = p[i];
        if (decoupled) pi = pi * decay;                      /* AdamW: param.mul_(1 - lr*wd) */
        else if (wd != 0) g = fmaf(wd, pi, g);               /* Adam:  grad = grad.add(param, alpha=wd) */
        float mi = fmaf(one_m_b1, g, m[i] * b1);             /* exp_avg.mul_(b1).add_(g, alpha=1-b1) */
        float vi = fmaf(one_m_b2 * g, g, v[i] * b2);         /* exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2) */
        float denom = sqrtf(vi) / bc2_sqrt + epsf;           /* (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps) */
        m[i] = mi, v[i] = vi;
        p[i] = pi + neg_step_size * mi / denom;              /* param.addcdiv_(exp_avg, denom, value=-lr/bc1) */
    }
}
