/* nice.c: CPU loops of neighbor_l1 and of the hard-concrete noise (math in
 * autograd/op_neighbor_l1.c and nice/hard_concrete.c; declared in
 * kernels/nice.h, CUDA twins in kernels/nice.cu, the random numbers from
 * kernels/philox.h). */
#include "kernels/nice.h"
#include "kernels/philox.h"

#include <math.h>

static const int NB_DM[4] = {-1, 0, -1, -1}, NB_DK[4] = {0, -1, -1, 1};

void neighbor_l1_forward_cpu(float *out, const float *x, int N, int C, int H, int W, void *ws) {
    (void)ws; /* no scratch on the CPU */
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int c = 0; c < C; c++) {
            const float *p = x + ((int64_t)n * C + c) * H * W;
            for (int m = 0; m < H; m++)
                for (int k = 0; k < W; k++)
                    for (int d = 0; d < 4; d++) {
                        int mm = m + NB_DM[d], kk = k + NB_DK[d];
                        if (mm < 0 || kk < 0 || kk >= W) continue;
                        s += fabsf(p[m * W + k] - p[mm * W + kk]);
                    }
        }
        out[n] = (float)s;
    }
}

static float sgn(float v) { return (float)((v > 0) - (v < 0)); }

void neighbor_l1_backward_cpu(float *dx, const float *dout, const float *x, int N, int C, int H, int W) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            int64_t base = ((int64_t)n * C + c) * H * W;
            const float *p = x + base;
            float *g = dx + base;
            for (int m = 0; m < H; m++)
                for (int k = 0; k < W; k++)
                    for (int d = 0; d < 4; d++) {
                        int mm = m + NB_DM[d], kk = k + NB_DK[d];
                        if (mm < 0 || kk < 0 || kk >= W) continue;
                        float s = dout[n] * sgn(p[m * W + k] - p[mm * W + kk]);
                        g[m * W + k] += s;
                        g[mm * W + kk] -= s;
                    }
        }
}

void logistic_noise_cpu(float *out, int64_t n, uint64_t seed, uint64_t offset, float eps) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float u = nx_philox_uniform(seed, offset + (uint64_t)i);
        u = fminf(fmaxf(u, eps), 1.0f - eps);
        out[i] = logf(u) - logf(1.0f - u);
    }
}
