/* pool.c: CPU loops of max, average and global average pooling (math in
 * autograd/op_maxpool2d.c, op_avgpool2d.c, op_global_avgpool.c; declared in
 * kernels/pool.h, CUDA twins in kernels/pool.cu, the window arithmetic both
 * share in kernels/pool_math.h). Each of the
 * P = N*C planes is independent, so the loops run in parallel over planes
 * and the backward scatters never race. */
#include "kernels/pool.h"
#include "kernels/pool_math.h"

void maxpool2d_forward_cpu(float *y, int32_t *idx, const float *x, int P, int H, int W, int OH, int OW, int k,
                           int stride, int pad) {
#pragma omp parallel for schedule(static) if ((int64_t)P * OH * OW * k * k > 65536)
    for (int p = 0; p < P; p++) {
        const float *xp = x + (int64_t)p * H * W;
        float *yp = y + (int64_t)p * OH * OW;
        int32_t *ip = idx ? idx + (int64_t)p * OH * OW : NULL;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                int32_t arg;
                float best = pool_window_max(xp, W, pool_window(oh, ow, H, W, k, stride, pad), &arg);
                yp[oh * OW + ow] = best;
                if (ip) ip[oh * OW + ow] = arg;
            }
        }
    }
}

void maxpool2d_backward_cpu(float *dx, const float *dy, const int32_t *idx, int P, int HW, int OHW) {
#pragma omp parallel for schedule(static) if ((int64_t)P * OHW > 65536)
    for (int p = 0; p < P; p++) {
        float *dxp = dx + (int64_t)p * HW;
        const float *dyp = dy + (int64_t)p * OHW;
        const int32_t *ip = idx + (int64_t)p * OHW;
        for (int o = 0; o < OHW; o++) dxp[ip[o]] += dyp[o];
    }
}

void avgpool2d_forward_cpu(float *y, const float *x, int P, int H, int W, int OH, int OW, int k, int stride,
                           int pad) {
#pragma omp parallel for schedule(static) if ((int64_t)P * OH * OW * k * k > 65536)
    for (int p = 0; p < P; p++) {
        const float *xp = x + (int64_t)p * H * W;
        float *yp = y + (int64_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                float s = pool_window_sum(xp, W, pool_window(oh, ow, H, W, k, stride, pad));
                yp[oh * OW + ow] = s / (float)avg_divisor(oh, ow, H, W, k, stride, pad);
            }
        }
    }
}

void avgpool2d_backward_cpu(float *dx, const float *dy, int P, int H, int W, int OH, int OW, int k, int stride,
                            int pad) {
#pragma omp parallel for schedule(static) if ((int64_t)P * OH * OW * k * k > 65536)
    for (int p = 0; p < P; p++) {
        float *dxp = dx + (int64_t)p * H * W;
        const float *dyp = dy + (int64_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                PoolWindow win = pool_window(oh, ow, H, W, k, stride, pad);
                const int h0 = win.h0, h1 = win.h1, w0 = win.w0, w1 = win.w1;
                float g = dyp[oh * OW + ow] / (float)avg_divisor(oh, ow, H, W, k, stride, pad);
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) dxp[ih * W + iw] += g;
            }
        }
    }
}

void global_avgpool_forward_cpu(float *y, const float *x, int64_t P, int64_t HW) {
#pragma omp parallel for schedule(static) if (P * HW > 65536)
    for (int64_t p = 0; p < P; p++) {
        const float *xp = x + p * HW;
        double s = 0;
        for (int64_t i = 0; i < HW; i++) s += xp[i];
        y[p] = (float)(s / (double)HW);
    }
}

void global_avgpool_backward_cpu(float *dx, const float *dy, int64_t P, int64_t HW) {
#pragma omp parallel for schedule(static) if (P * HW > 65536)
    for (int64_t p = 0; p < P; p++) {
        float g = dy[p] / (float)HW;
        float *dxp = dx + p * HW;
        for (int64_t i = 0; i < HW; i++) dxp[i] += g;
    }
}
