/* optim.h: optimizer updates over a contiguous run of parameters (CPU loops
 * kernels/optim.c, CUDA twins kernels/optim.cu).
 *
 * One call updates n consecutive floats of a ParamStore's blocks (params,
 * grads, state slots all share offsets), so a run of parameters that share a
 * group and a step count is one kernel call. Scalars are double, as PyTorch's
 * Python-float hyperparameters (0.999f would shift Adam's bias correction by
 * 1e-5 relative); the kernels round them to float where PyTorch does
 * (kernels/optim_math.h, shared by both twins). The math is PyTorch 1.13's
 * single-tensor path (torch/optim/sgd.py, adam.py, adamw.py); optim/optim.h
 * repeats it in words.
 */
#ifndef NX_KERNELS_OPTIM_H
#define NX_KERNELS_OPTIM_H

#include "kernels/hd.h"

/* SGD. g = grad + wd*p; with momentum != 0: buf = g when first, else
 * momentum*buf + (1 - dampening)*g; g = nesterov ? g + momentum*buf : buf.
 * Then p -= lr*g. buf may be NULL when momentum == 0. */
void sgd_step_cpu(float *p /* (n) */, float *buf /* (n) or NULL */, const float *grad /* (n) */, int64_t n, double lr,
                  double momentum, double dampening, double weight_decay, bool nesterov, bool first);
void sgd_step_cuda(float *p, float *buf, const float *grad, int64_t n, double lr, double momentum,
                                double dampening, double weight_decay, bool nesterov, bool first);

/* Adam (decoupled = false: g = grad + wd*p) and AdamW (decoupled = true:
 * p *= 1 - lr*wd first). step is the 1-based step count after this update.
 * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps). */
void adam_step_cpu(float *p /* (n) */, float *m /* (n) */, float *v /* (n) */, const float *grad /* (n) */, int64_t n,
                   double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled, int64_t step);
void adam_step_cuda(float *p, float *m, float *v, const float *grad, int64_t n, double lr, double beta1,
                                 double beta2, double eps, double weight_decay, bool decoupled, int64_t step);

#endif
