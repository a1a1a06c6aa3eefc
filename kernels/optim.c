/* optim.c: CPU loops of the SGD and Adam/AdamW updates (kernels/optim.h;
 * CUDA twins in kernels/optim.cu; the per-element update, and where it
 * rounds like PyTorch, in kernels/optim_math.h, shared by both).
 * The coefficients are firstprivate: read through the parallel region's
 * shared pointer, they kept GCC from vectorising the loops (and sqrtf needs
 * -fno-math-errno, see the Makefile).
 */
#include "kernels/optim.h"
#include "kernels/optim_math.h"

void sgd_step_cpu(float *p, float *buf, const float *grad, int64_t n, double lr, double momentum, double dampening,
                  double weight_decay, bool nesterov, bool first) {
    const SgdCoef c = sgd_coef(lr, momentum, dampening, weight_decay, nesterov, first);
    float unused = 0;
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static) firstprivate(c)
    for (int64_t i = 0; i < n; i++) sgd_update(p + i, buf ? buf + i : &unused, grad[i], c);
}

void adam_step_cpu(float *p, float *m, float *v, const float *grad, int64_t n, double lr, double beta1, double beta2,
                   double eps, double weight_decay, bool decoupled, int64_t step) {
    const AdamCoef c = adam_coef(lr, beta1, beta2, eps, weight_decay, decoupled, step);
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static) firstprivate(c)
    for (int64_t i = 0; i < n; i++) adam_update(p + i, m + i, v + i, grad[i], c);
}
