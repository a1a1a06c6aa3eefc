/* concat.c: CPU loops of channel concatenation (math in autograd/op_concat.c;
 * declared in kernels/concat.h, CUDA twin kernels/concat.cu). */
#include "kernels/concat.h"

#include <string.h>

void concat_forward_cpu(float *y, const float *x, int n, int c_total, int c_off, int c_in, int64_t inner) {
    const int64_t block = (int64_t)c_in * inner; /* contiguous floats of one sample of x */
#pragma omp parallel for if ((int64_t)n * block > 65536) schedule(static)
    for (int i = 0; i < n; i++)
        memcpy(y + ((int64_t)i * c_total + c_off) * inner, x + (int64_t)i * block, (size_t)block * sizeof(float));
}

void concat_backward_cpu(float *dx, const float *dy, int n, int c_total, int c_off, int c_in, int64_t inner) {
    const int64_t block = (int64_t)c_in * inner;
#pragma omp parallel for collapse(2) if ((int64_t)n * block > 65536) schedule(static)
    for (int i = 0; i < n; i++)
        for (int64_t k = 0; k < block; k++)
            dx[(int64_t)i * block + k] += dy[((int64_t)i * c_total + c_off) * inner + k];
}
