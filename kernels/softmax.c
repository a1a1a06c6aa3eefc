/* softmax.c: CPU loops of softmax, log-softmax, cross-entropy and NLL
 * (math in autograd/op_softmax.c, op_log_softmax.c, op_cross_entropy.c,
 * op_nll.c; layout and the `bad` convention in kernels/softmax.h).
 *
 * One row is the D elements x[base + d * inner], d = 0..D-1, with
 * base = o * D * inner + i. Rows are independent, so the row loop is the
 * parallel one. Sums are accumulated in double: this is the reference the
 * CUDA twins are compared against.
 */
#include <math.h>

#include "kernels/softmax.h"

#define ROW_PAR_MIN 32768 /* elements below which the loops stay serial */

/* Max of one row (strided by inner). */
static float row_max(const float *x, int D, int inner) {
    float m = -INFINITY;
    for (int d = 0; d < D; d++)
        if (x[(int64_t)d * inner] > m) m = x[(int64_t)d * inner];
    return m;
}

/* log sum_d exp(x_d - m) for the row max m. The caller forms
 * log-probabilities as (x_d - m) - log_sum, never x_d - (m + log_sum), which
 * would round m + log_sum to fp32 and lose the small ones. A row whose max is
 * +-inf gives NaN (inf - inf), as PyTorch's log_softmax and cross_entropy. */
static double row_log_sum(const float *x, float m, int D, int inner) {
    double s = 0;
    for (int d = 0; d < D; d++) s += exp((double)x[(int64_t)d * inner] - m);
    return log(s);
}

void softmax_forward_cpu(float *y, const float *x, int outer, int D, int inner) {
    int64_t rows = (int64_t)outer * inner;
#pragma omp parallel for if (rows * D > ROW_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = (r / inner) * D * inner + r % inner;
        const float *xr = x + base;
        float *yr = y + base;
        float m = row_max(xr, D, inner);
        double s = 0;
        for (int d = 0; d < D; d++) {
            yr[(int64_t)d * inner] = expf(xr[(int64_t)d * inner] - m);
            s += yr[(int64_t)d * inner];
        }
        for (int d = 0; d < D; d++) yr[(int64_t)d * inner] = (float)(yr[(int64_t)d * inner] / s);
    }
}

void softmax_backward_cpu(float *dx, const float *dy, const float *y, int outer, int D, int inner) {
    int64_t rows = (int64_t)outer * inner;
#pragma omp parallel for if (rows * D > ROW_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = (r / inner) * D * inner + r % inner;
        double dot = 0; /* sum_d dy_d * y_d */
        for (int d = 0; d < D; d++) dot += (double)dy[base + (int64_t)d * inner] * y[base + (int64_t)d * inner];
        for (int d = 0; d < D; d++) {
            int64_t k = base + (int64_t)d * inner;
            dx[k] += (float)(y[k] * (dy[k] - dot));
        }
    }
}

void log_softmax_forward_cpu(float *y, const float *x, int outer, int D, int inner) {
    int64_t rows = (int64_t)outer * inner;
#pragma omp parallel for if (rows * D > ROW_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = (r / inner) * D * inner + r % inner;
        float m = row_max(x + base, D, inner);
        double log_sum = row_log_sum(x + base, m, D, inner);
        for (int d = 0; d < D; d++)
            y[base + (int64_t)d * inner] = (float)(((double)x[base + (int64_t)d * inner] - m) - log_sum);
    }
}

void log_softmax_backward_cpu(float *dx, const float *dy, const float *y, int outer, int D, int inner) {
    int64_t rows = (int64_t)outer * inner;
#pragma omp parallel for if (rows * D > ROW_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = (r / inner) * D * inner + r % inner;
        double s = 0; /* sum_d dy_d */
        for (int d = 0; d < D; d++) s += dy[base + (int64_t)d * inner];
        for (int d = 0; d < D; d++) {
            int64_t k = base + (int64_t)d * inner;
            dx[k] += (float)(dy[k] - exp((double)y[k]) * s);
        }
    }
}

/* bad = {first n with targets[n] outside [0, C), its value} or {-1, 0}. */
static bool find_bad_target(int32_t *bad, const int32_t *targets, int N, int C) {
    bad[0] = -1, bad[1] = 0;
    for (int n = 0; n < N; n++)
        if (targets[n] < 0 || targets[n] >= C) {
            bad[0] = n, bad[1] = targets[n];
            return true;
        }
    return false;
}

void cross_entropy_forward_cpu(float *loss, float *stats, int32_t *bad, const float *logits, const int32_t *targets,
                               int N, int C, void *ws) {
    (void)ws; /* no scratch on the CPU */
    if (find_bad_target(bad, targets, N, C)) return;
    double total = 0;
#pragma omp parallel for reduction(+ : total) if ((int64_t)N * C > ROW_PAR_MIN) schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xr = logits + (int64_t)n * C;
        float m = row_max(xr, C, 1);
        double log_sum = row_log_sum(xr, m, C, 1);
        stats[2 * n] = m, stats[2 * n + 1] = (float)log_sum;
        total += log_sum - ((double)xr[targets[n]] - m);
    }
    loss[0] = (float)(total / N); /* N == 0: NaN, as PyTorch's mean of nothing */
}

void cross_entropy_backward_cpu(float *dlogits, const float *dloss, const float *logits, const float *stats,
                                const int32_t *targets, int N, int C) {
    double g = (double)dloss[0] / N;
#pragma omp parallel for if ((int64_t)N * C > ROW_PAR_MIN) schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xr = logits + (int64_t)n * C;
        float *dr = dlogits + (int64_t)n * C;
        double m = stats[2 * n], log_sum = stats[2 * n + 1];
        for (int c = 0; c < C; c++) dr[c] += (float)((exp(((double)xr[c] - m) - log_sum) - (c == targets[n])) * g);
    }
}

void nll_forward_cpu(float *loss, int32_t *bad, const float *logp, const int32_t *targets, int N, int C) {
    if (find_bad_target(bad, targets, N, C)) return;
    double total = 0;
    for (int n = 0; n < N; n++) total -= logp[(int64_t)n * C + targets[n]];
    loss[0] = (float)(total / N); /* N == 0: NaN, as PyTorch's mean of nothing */
}

void nll_backward_cpu(float *dlogp, const float *dloss, const int32_t *targets, int N, int C) {
    float g = (float)(-(double)dloss[0] / N);
    for (int n = 0; n < N; n++) dlogp[(int64_t)n * C + targets[n]] += g;
}
