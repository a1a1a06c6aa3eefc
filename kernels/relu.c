/* relu.c: CPU loops of ReLU (math in autograd/op_relu.c). */
#include "kernels/kernels.h"

void relu_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for simd if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward_cpu(float *dx, const float *dy, const float *x, int64_t n) {
#pragma omp parallel for simd if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
}
