/* optim.cu: CUDA twins of the SGD and Adam/AdamW updates
 * (kernels/optim.h; CPU loops in kernels/optim.c).
 *
 * The host rounds the double hyperparameters to float with the CPU's own
 * functions (sgd_coef, adam_coef), and each thread runs the CPU's
 * per-element update (sgd_update, adam_update: kernels/optim_math.h), whose
 * NX_F* operations are explicit IEEE intrinsics here (__fmaf_rn where the
 * CPU calls fmaf, __fmul_rn / __fdiv_rn / __fadd_rn / __fsqrt_rn for the
 * plain operations), so nvcc cannot contract a multiply and an add into an
 * fma the CPU does not do. The two devices therefore produce the same bits.
 */
#include "kernels/cuda_common.cuh"
#include "kernels/optim_math.h"

static __global__ void sgd_step_kernel(float *__restrict__ p, float *__restrict__ buf, const float *__restrict__ grad,
                                       int64_t n, SgdCoef c) {
    float unused = 0;
    NX_GRID_STRIDE(i, n) sgd_update(p + i, buf ? buf + i : &unused, grad[i], c);
}

extern "C" void sgd_step_cuda(float *p, float *buf, const float *grad, int64_t n, double lr, double momentum,
                              double dampening, double weight_decay, bool nesterov, bool first) {
    if (n <= 0) return;
    const SgdCoef c = sgd_coef(lr, momentum, dampening, weight_decay, nesterov, first);
    sgd_step_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(p, buf, grad, n, c);
    NX_LAUNCH_CHECK();
}

static __global__ void adam_step_kernel(float *__restrict__ p, float *__restrict__ m, float *__restrict__ v,
                                        const float *__restrict__ grad, int64_t n, AdamCoef c) {
    NX_GRID_STRIDE(i, n) adam_update(p + i, m + i, v + i, grad[i], c);
}

extern "C" void adam_step_cuda(float *p, float *m, float *v, const float *grad, int64_t n, double lr, double beta1,
                               double beta2, double eps, double weight_decay, bool decoupled, int64_t step) {
    if (n <= 0) return;
    const AdamCoef c = adam_coef(lr, beta1, beta2, eps, weight_decay, decoupled, step);
    adam_step_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(p, m, v, grad, n, c);
    NX_LAUNCH_CHECK();
}
