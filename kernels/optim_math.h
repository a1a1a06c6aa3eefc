/* optim_math.h: the per-element SGD and Adam/AdamW updates, once for the CPU
 * loops (kernels/optim.c) and the CUDA twins (kernels/optim.cu).
 *
 * The scalars arrive as double (PyTorch keeps hyperparameters as Python
 * floats) and are rounded to float exactly where PyTorch 1.13's
 * single-tensor path rounds them: each `alpha=` / `value=` of an in-place
 * op, and the bias corrections, computed in double, then used as float
 * scalars (sgd_coef, adam_coef, on the host). Each float operation is
 * rounded as in ATen's CPU kernels, which fuse some of them (checked
 * against Debian's torch 1.13, AVX2 kernels, bit for bit):
 *   a.add(x, alpha=s)          fmaf(s, x, a)
 *   a.addcmul_(x, y, value=s)  fmaf(s*x, y, a)
 *   a.addcdiv_(x, y, value=s)  a + s*x/y       (not fused)
 *   a.mul_(s), x / s           one rounding each
 * The NX_F* operations (kernels/hd.h) keep exactly these roundings on the
 * GPU, so the twins agree to the bit.
 */
#ifndef NX_KERNELS_OPTIM_MATH_H
#define NX_KERNELS_OPTIM_MATH_H

#include "kernels/hd.h"

#include <math.h>

typedef struct {
    float wd, mom, keep, neg_lr; /* weight decay, momentum, 1 - dampening, -lr */
    bool nesterov, first;
} SgdCoef;

NX_HD SgdCoef sgd_coef(double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool first) {
    SgdCoef c;
    c.wd = (float)weight_decay, c.mom = (float)momentum;
    c.keep = (float)(1.0 - dampening), c.neg_lr = (float)-lr;
    c.nesterov = nesterov, c.first = first;
    return c;
}

/* One parameter: g = grad + wd*p; with momentum: buf = g (first) or
 * momentum*buf + (1 - dampening)*g, g = nesterov ? g + momentum*buf : buf;
 * then p -= lr*g. buf is not touched when momentum == 0. */
NX_HD void sgd_update(float *p, float *buf, float g, SgdCoef c) {
    if (c.wd != 0) g = NX_FMA(c.wd, *p, g); /* d_p = d_p.add(param, alpha=wd) */
    if (c.mom != 0) {
        float b = c.first ? g : NX_FMA(c.keep, g, NX_FMUL(*buf, c.mom)); /* buf.mul_(m).add_(d_p, alpha=1-damp) */
        *buf = b;
        g = c.nesterov ? NX_FMA(c.mom, b, g) : b; /* d_p.add(buf, alpha=m), or buf */
    }
    *p = NX_FMA(c.neg_lr, g, *p); /* param.add_(d_p, alpha=-lr) */
}

typedef struct {
    float neg_step_size, bc2_sqrt, eps; /* -lr / (1 - b1^step), sqrt(1 - b2^step), eps */
    float b1, b2, one_m_b1, one_m_b2, wd, decay; /* decay = 1 - lr*wd (AdamW) */
    bool decoupled;
} AdamCoef;

NX_HD AdamCoef adam_coef(double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                         int64_t step) {
    const double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    AdamCoef c;
    c.neg_step_size = (float)(-(lr / bc1)), c.bc2_sqrt = (float)sqrt(bc2), c.eps = (float)eps;
    c.b1 = (float)beta1, c.b2 = (float)beta2, c.one_m_b1 = (float)(1.0 - beta1), c.one_m_b2 = (float)(1.0 - beta2);
    c.wd = (float)weight_decay, c.decay = (float)(1.0 - lr * weight_decay);
    c.decoupled = decoupled;
    return c;
}

/* One parameter: Adam (g += wd*p) or AdamW (p *= 1 - lr*wd), then
 * m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
 * p += -lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps). */
NX_HD void adam_update(float *p, float *m, float *v, float g, AdamCoef c) {
    float pi = *p;
    if (c.decoupled) pi = NX_FMUL(pi, c.decay);              /* AdamW: param.mul_(1 - lr*wd) */
    else if (c.wd != 0) g = NX_FMA(c.wd, pi, g);             /* Adam:  grad = grad.add(param, alpha=wd) */
    float mi = NX_FMA(c.one_m_b1, g, NX_FMUL(*m, c.b1));      /* exp_avg.mul_(b1).add_(g, alpha=1-b1) */
    float vi = NX_FMA(NX_FMUL(c.one_m_b2, g), g, NX_FMUL(*v, c.b2)); /* exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2) */
    float denom = NX_FADD(NX_FDIV(NX_FSQRT(vi), c.bc2_sqrt), c.eps); /* (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps) */
    *m = mi, *v = vi;
    *p = NX_FADD(pi, NX_FDIV(NX_FMUL(c.neg_step_size, mi), denom)); /* param.addcdiv_(exp_avg, denom, -lr/bc1) */
}

#endif
