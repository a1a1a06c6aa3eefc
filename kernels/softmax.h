/* softmax.h: softmax, log-softmax and the classification losses
 * (math in autograd/op_softmax.c, op_log_softmax.c, op_cross_entropy.c,
 * op_nll.c).
 *
 * softmax and log_softmax see their input as (outer, D, inner) and normalise
 * along D: element (o, d, i) sits at x[(o * D + d) * inner + i]. Every row
 * subtracts its max before exp, so any finite input is safe.
 *
 * The losses take class targets as int32 (N) and report out-of-range
 * targets through `bad` (2 ints on the kernel's device): bad[0] is the
 * smallest n with targets[n] outside [0, C) and bad[1] that target, or
 * bad[0] = -1 when all are in range. When a target is bad, the loss value is
 * unspecified; the op reads `bad` back and stops with an error.
 */
#ifndef NX_KERNELS_SOFTMAX_H
#define NX_KERNELS_SOFTMAX_H

#include "kernels/hd.h"

/* y[o, :, i] = exp(x[o, :, i] - m) / sum_d exp(x[o, d, i] - m), m the row max */
void softmax_forward_cpu(float *y /* (outer, D, inner) */, const float *x /* (outer, D, inner) */, int outer, int D,
                         int inner);
void softmax_forward_cuda(float *y, const float *x, int outer, int D, int inner);
/* dx += y * (dy - sum_d(dy * y)) per row */
void softmax_backward_cpu(float *dx /* (outer, D, inner) */, const float *dy /* (outer, D, inner) */,
                          const float *y /* (outer, D, inner) */, int outer, int D, int inner);
void softmax_backward_cuda(float *dx, const float *dy, const float *y, int outer, int D, int inner);

/* y[o, :, i] = x[o, :, i] - m - log(sum_d exp(x[o, d, i] - m)) */
void log_softmax_forward_cpu(float *y /* (outer, D, inner) */, const float *x /* (outer, D, inner) */, int outer,
                             int D, int inner);
void log_softmax_forward_cuda(float *y, const float *x, int outer, int D, int inner);
/* dx += dy - exp(y) * sum_d(dy) per row */
void log_softmax_backward_cpu(float *dx /* (outer, D, inner) */, const float *dy /* (outer, D, inner) */,
                              const float *y /* (outer, D, inner) */, int outer, int D, int inner);
void log_softmax_backward_cuda(float *dx, const float *dy, const float *y, int outer, int D, int inner);

/* stats[n] = {m_n, s_n}: m_n = max_c logits[n, c], s_n = log sum_c exp(logits[n, c] - m_n);
 * loss = mean_n (s_n - (logits[n, t_n] - m_n)). ws: cross_entropy_forward_ws_<cpu|cuda>(N, C)
 * bytes (the CUDA twin's per-sample terms, summed in order). */
void cross_entropy_forward_cpu(float *loss /* (1) */, float *stats /* (N, 2) */, int32_t *bad /* (2) */,
                               const float *logits /* (N, C) */, const int32_t *targets /* (N) */, int N, int C,
                               void *ws);
void cross_entropy_forward_cuda(float *loss, float *stats, int32_t *bad, const float *logits, const int32_t *targets,
                                int N, int C, void *ws);
static inline size_t cross_entropy_forward_ws_cpu(int N, int C) {
    (void)N, (void)C;
    return 0;
}
static inline size_t cross_entropy_forward_ws_cuda(int N, int C) {
    (void)C;
    return N > 0 ? (size_t)N * sizeof(double) : 0;
}
/* dlogits[n, c] += (exp((logits[n, c] - m_n) - s_n) - [c == t_n]) * dloss / N */
void cross_entropy_backward_cpu(float *dlogits /* (N, C) */, const float *dloss /* (1) */,
                                const float *logits /* (N, C) */, const float *stats /* (N, 2) */,
                                const int32_t *targets /* (N) */, int N, int C);
void cross_entropy_backward_cuda(float *dlogits, const float *dloss, const float *logits,
                                              const float *stats, const int32_t *targets, int N, int C);

/* loss = -mean_n logp[n, t_n] */
void nll_forward_cpu(float *loss /* (1) */, int32_t *bad /* (2) */, const float *logp /* (N, C) */,
                     const int32_t *targets /* (N) */, int N, int C);
void nll_forward_cuda(float *loss, int32_t *bad, const float *logp, const int32_t *targets, int N,
                                   int C);
/* dlogp[n, t_n] += -dloss / N */
void nll_backward_cpu(float *dlogp /* (N, C) */, const float *dloss /* (1) */, const int32_t *targets /* (N) */,
                      int N, int C);
void nll_backward_cuda(float *dlogp, const float *dloss, const int32_t *targets, int N, int C);

#endif
