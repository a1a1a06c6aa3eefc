/* dropout.c: CPU loops of dropout (math in autograd/op_dropout.c; declared
 * in kernels/dropout.h, CUDA twin in kernels/dropout.cu, the keep test both
 * share in kernels/dropout_math.h and kernels/philox.h).
 *
 * The mask is a pure function of (seed, offset): element i is kept iff
 * u_i = philox_uniform(seed, offset + i) > p, so the backward regenerates it
 * instead of storing it, and the CUDA twin (curand_uniform on Philox4_32_10)
 * draws the same numbers. The loop walks whole Philox blocks: one
 * nx_philox_block call yields the 4 consecutive words of block b, i.e. stream
 * numbers 4b .. 4b+3 (kernels/philox.h).
 */
#include "kernels/dropout.h"
#include "kernels/dropout_math.h"

/* out[i] (+)= keep_i ? in[i] * scale : 0 over the blocks covering [offset, offset + n). */
static void dropout_apply(float *out, const float *in, int64_t n, float p, uint64_t seed, uint64_t offset,
                          bool accumulate) {
    if (n <= 0) return;
    const float scale = 1.0f / (1.0f - p);
    const int64_t b0 = (int64_t)(offset >> 2), b1 = (int64_t)((offset + (uint64_t)n - 1) >> 2);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = b0; b <= b1; b++) {
        const NxPhilox4 r = nx_philox_block(seed, (uint64_t)b);
        for (int j = 0; j < 4; j++) {
            int64_t i = 4 * b + j - (int64_t)offset; /* element index of stream number 4b + j */
            if (i < 0 || i >= n) continue;
            float v = dropout_value(r.w[j], in[i], p, scale);
            if (accumulate) out[i] += v;
            else out[i] = v;
        }
    }
}

void dropout_forward_cpu(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t offset) {
    if (p == 0) {
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = x[i];
        return;
    }
    dropout_apply(y, x, n, p, seed, offset, false);
}

void dropout_backward_cpu(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t offset) {
    if (p == 0) {
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
        return;
    }
    dropout_apply(dx, dy, n, p, seed, offset, true);
}
