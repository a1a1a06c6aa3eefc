/* optim.cu: CUDA twins of the SGD and Adam/AdamW updates
 * (kernels/optim.h; CPU loops in kernels/optim.c).
 *
 * The host rounds the double hyperparameters to float exactly as the CPU
 * loop does (same expressions, same libm), and each thread repeats the CPU's
 * float operations with explicit IEEE intrinsics: __fmaf_rn where the CPU
 * calls fmaf, __fmul_rn / __fdiv_rn / __fadd_rn / __fsqrt_rn for the plain
 * operations, so nvcc cannot contract a multiply and an add into an fma the
 * CPU does not do. The two devices therefore produce the same bits.
 */
#include "kernels/cuda_common.cuh"

#include <math.h>

static __global__ void sgd_step_kernel(float *__restrict__ p, float *__restrict__ buf, const float *__restrict__ grad,
                                       int64_t n, float neg_lr, float mom, float keep, float wd, bool nesterov,
                                       bool first) {
    NX_GRID_STRIDE(i, n) {
        float g = grad[i];
        if (wd != 0) g = __fmaf_rn(wd, p[i], g); /* d_p.add(param, alpha=wd) */
        if (mom != 0) {
            const float b = first ? g : __fmaf_rn(keep, g, __fmul_rn(buf[i], mom)); /* buf.mul_(m).add_(d_p, 1-damp) */
            buf[i] = b;
            g = nesterov ? __fmaf_rn(mom, b, g) : b; /* d_p.add(buf, alpha=m), or buf */
        }
        p[i] = __fmaf_rn(neg_lr, g, p[i]); /* param.add_(d_p, alpha=-lr) */
    }
}

extern "C" void sgd_step_cuda(float *p, float *buf, const float *grad, int64_t n, double lr, double momentum,
                              double dampening, double weight_decay, bool nesterov, bool first) {
    if (n <= 0) return;
    const float wd = (float)weight_decay, mom = (float)momentum;
    const float keep = (float)(1.0 - dampening), neg_lr = (float)-lr;
    sgd_step_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(p, buf, grad, n, neg_lr, mom, keep, wd, nesterov, first);
    NX_LAUNCH_CHECK();
}

static __global__ void adam_step_kernel(float *__restrict__ p, float *__restrict__ m, float *__restrict__ v,
                                        const float *__restrict__ grad, int64_t n, float neg_step_size, float bc2_sqrt,
                                        float epsf, float b1, float b2, float one_m_b1, float one_m_b2, float wd,
                                        float decay, bool decoupled) {
    NX_GRID_STRIDE(i, n) {
        float g = grad[i], pi = p[i];
        if (decoupled)
            pi = __fmul_rn(pi, decay); /* AdamW: param.mul_(1 - lr*wd) */
        else if (wd != 0)
            g = __fmaf_rn(wd, pi, g);                                 /* Adam:  grad.add(param, alpha=wd) */
        const float mi = __fmaf_rn(one_m_b1, g, __fmul_rn(m[i], b1)); /* exp_avg.mul_(b1).add_(g, 1-b1) */
        const float vi = __fmaf_rn(__fmul_rn(one_m_b2, g), g, __fmul_rn(v[i], b2)); /* addcmul_(g, g, 1-b2) */
        const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), epsf);   /* sqrt(v)/bc2_sqrt + eps */
        m[i] = mi;
        v[i] = vi;
        p[i] = __fadd_rn(pi, __fdiv_rn(__fmul_rn(neg_step_size, mi), denom)); /* addcdiv_(m, denom, -lr/bc1) */
    }
}

extern "C" void adam_step_cuda(float *p, float *m, float *v, const float *grad, int64_t n, double lr, double beta1,
                               double beta2, double eps, double weight_decay, bool decoupled, int64_t step) {
    if (n <= 0) return;
    const double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    const float neg_step_size = (float)(-(lr / bc1)), bc2_sqrt = (float)sqrt(bc2), epsf = (float)eps;
    const float b1 = (float)beta1, b2 = (float)beta2, one_m_b1 = (float)(1.0 - beta1), one_m_b2 = (float)(1.0 - beta2);
    const float wd = (float)weight_decay, decay = (float)(1.0 - lr * weight_decay);
    adam_step_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(p, m, v, grad, n, neg_step_size, bc2_sqrt, epsf, b1, b2,
                                                         one_m_b1, one_m_b2, wd, decay, decoupled);
    NX_LAUNCH_CHECK();
}
