/* unary.c: CPU loops of the unary elementwise ops sigmoid, tanh, abs, pow,
 * log, exp, clamp and scale (math and PyTorch semantics in
 * autograd/op_<name>.c). Every loop is flat over n elements. */
#include "kernels/kernels.h"

#include <math.h>

#define PAR_N 65536 /* below this many elements a loop runs on one thread */

/* ---- sigmoid -------------------------------------------------------------- */

void sigmoid_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (v >= 0) {
            y[i] = 1.0f / (1.0f + expf(-v)); /* exp(-v) <= 1: no overflow */
        } else {
            float e = expf(v); /* < 1, underflows gracefully to 0 */
            y[i] = e / (1.0f + e);
        }
    }
}

void sigmoid_backward_cpu(float *dx, const float *dy, const float *y, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i]) * y[i];
}

/* ---- tanh ----------------------------------------------------------------- */

void tanh_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

void tanh_backward_cpu(float *dx, const float *dy, const float *y, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

/* ---- abs ------------------------------------------------------------------ */

void abs_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]);
}

void abs_backward_cpu(float *dx, const float *dy, const float *x, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float s = x[i] > 0 ? 1.0f : (x[i] < 0 ? -1.0f : 0.0f); /* sign, 0 at 0 */
        dx[i] += dy[i] * s;
    }
}

/* ---- pow ------------------------------------------------------------------ */

/* x^p with torch's CPU special cases, so forward and backward (which takes
 * x^(p-1) the same way) round like torch.pow. */
static inline float pow_scalar(float x, float p) {
    if (p == 2.0f) return x * x;
    if (p == 3.0f) return x * x * x;
    if (p == -2.0f) return 1.0f / (x * x);
    if (p == 0.5f) return sqrtf(x);
    if (p == -0.5f) return 1.0f / sqrtf(x);
    if (p == -1.0f) return 1.0f / x;
    return powf(x, p);
}

void pow_forward_cpu(float *y, const float *x, float p, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = pow_scalar(x[i], p);
}

void pow_backward_cpu(float *dx, const float *dy, const float *x, float p, int64_t n) {
    if (p == 0.0f) return; /* torch: the gradient of x^0 is exactly zero, even at x = 0 */
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (p * pow_scalar(x[i], p - 1.0f));
}

/* ---- log, exp ------------------------------------------------------------- */

void log_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = logf(x[i]);
}

void log_backward_cpu(float *dx, const float *dy, const float *x, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] / x[i];
}

void exp_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

void exp_backward_cpu(float *dx, const float *dy, const float *y, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i];
}

/* ---- clamp ---------------------------------------------------------------- */

void clamp_forward_cpu(float *y, const float *x, float lo, float hi, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        v = v < lo ? lo : v; /* a NaN fails both tests and stays NaN */
        v = v > hi ? hi : v;
        y[i] = v;
    }
}

void clamp_backward_cpu(float *dx, const float *dy, const float *x, float lo, float hi, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
}

/* ---- scale ---------------------------------------------------------------- */

void scale_forward_cpu(float *y, const float *x, float a, float b, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}

void scale_backward_cpu(float *dx, const float *dy, float a, int64_t n) {
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += a * dy[i];
}
