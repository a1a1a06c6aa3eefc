/* pool.c: CPU loops of max, average and global average pooling (math in
 * autograd/op_maxpool2d.c, op_avgpool2d.c, op_global_avgpool.c; declared in
 * kernels/pool.h, CUDA twins in kernels/pool.cu, the window arithmetic both
 * share in kernels/pool_math.h). Each of the
 * P = N*C planes is independent, so the loops run in parallel over planes
 * and the backward scatters never race.
 *
 * Max pooling with k = stride = 2 and no padding (LeNet's and VGG's pools)
 * has a fast path: its windows tile the plane, so a row of outputs reads two
 * input rows once, and the window's four cells are compared in the generic
 * order ((0,0), (0,1), (1,0), (1,1)) with the generic test (v > best or v is
 * NaN), as straight-line code the compiler vectorises across outputs: the
 * same values and argmaxes as pool_window_max, ties and NaNs included. Its
 * backward visits each window's four cells once and adds dy to the argmax
 * cell only (the others are left as they are, so -0 stays -0). Every other
 * window (ResNet's 3x3 stride-2 pool) takes maxpool_plane: the same
 * comparisons branch-free on the outputs whose windows are whole, the generic
 * loop on the border.
 */
#include "kernels/pool.h"
#include "kernels/pool_math.h"

#include <string.h>

/* The fast path's window: k = stride = 2, pad = 0. */
static bool pool_2x2(int k, int stride, int pad) { return k == 2 && stride == 2 && pad == 0; }

/* One plane: yp (OH, OW), ip (OH, OW) or NULL, of xp (H, W), k = stride = 2, pad = 0.
 * With AVX-512, 16 outputs of a row at a time, the short rows (LeNet's 12 and 4
 * outputs) by masked loads and stores; otherwise plain C. The comparisons are
 * the same either way. */
#if defined(__AVX512F__)
#include <immintrin.h>

static void maxpool2x2_plane(float *restrict yp, int32_t *restrict ip, const float *restrict xp, int W, int OH,
                             int OW) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i one = _mm512_set1_epi32(1), down = _mm512_set1_epi32(W), diag = _mm512_set1_epi32(W + 1);
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = xp + (int64_t)2 * oh * W, *r1 = r0 + W;
        for (int ow = 0; ow < OW; ow += 16) {
            int n = OW - ow < 16 ? OW - ow : 16; /* outputs in this vector: 2n floats of each row */
            __mmask16 lo = n >= 8 ? 0xffff : (__mmask16)((1u << 2 * n) - 1);
            __mmask16 hi = n <= 8 ? 0 : (__mmask16)((1u << 2 * (n - 8)) - 1), out = (__mmask16)((1u << n) - 1);
            __m512 a0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * ow), a1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * ow + 16);
            __m512 b0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * ow), b1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * ow + 16);
            __m512 v1 = _mm512_permutex2var_ps(a0, odd, a1), v2 = _mm512_permutex2var_ps(b0, even, b1);
            __m512 v3 = _mm512_permutex2var_ps(b0, odd, b1);
            __m512 best = _mm512_permutex2var_ps(a0, even, a1); /* v0 */
            __m512i c = _mm512_add_epi32(_mm512_set1_epi32(2 * oh * W + 2 * ow), even), a = c;
            __mmask16 m = _mm512_cmp_ps_mask(v1, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
            best = _mm512_mask_mov_ps(best, m, v1), a = _mm512_mask_add_epi32(a, m, c, one);
            m = _mm512_cmp_ps_mask(v2, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v2, v2, _CMP_UNORD_Q);
            best = _mm512_mask_mov_ps(best, m, v2), a = _mm512_mask_add_epi32(a, m, c, down);
            m = _mm512_cmp_ps_mask(v3, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v3, v3, _CMP_UNORD_Q);
            best = _mm512_mask_mov_ps(best, m, v3), a = _mm512_mask_add_epi32(a, m, c, diag);
            _mm512_mask_storeu_ps(yp + (int64_t)oh * OW + ow, out, best);
            if (ip) _mm512_mask_storeu_epi32(ip + (int64_t)oh * OW + ow, out, a);
        }
    }
}
#else
static void maxpool2x2_plane(float *restrict yp, int32_t *restrict ip, const float *restrict xp, int W, int OH,
                             int OW) {
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = xp + (int64_t)2 * oh * W, *r1 = r0 + W;
        for (int ow = 0; ow < OW; ow++) {
            float v0 = r0[2 * ow], v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
            int32_t c = 2 * oh * W + 2 * ow, a = c;
            float best = v0; /* = the generic start: -inf, then v0 replaces it unless v0 is -inf itself */
            int m = (v1 > best) | (v1 != v1);
            best = m ? v1 : best, a = m ? c + 1 : a;
            m = (v2 > best) | (v2 != v2);
            best = m ? v2 : best, a = m ? c + W : a;
            m = (v3 > best) | (v3 != v3);
            best = m ? v3 : best, a = m ? c + W + 1 : a;
            yp[(int64_t)oh * OW + ow] = best;
            if (ip) ip[(int64_t)oh * OW + ow] = a;
        }
    }
}
#endif

/* Any other window: the outputs whose windows lie inside the plane (all but
 * a border one output wide at most, with pad <= k/2) compare the window's
 * cells in the generic order with the generic test, written branch-free so
 * that the compiler vectorises across the outputs of a row; k and stride
 * are compile-time constants for ResNet's 3x3 stride-2 pool (and a plain
 * loop otherwise). The border outputs go through pool_window_max itself. */
static inline __attribute__((always_inline)) void maxpool_inner_row(float *restrict yr /* (OW) */,
                                                                    int32_t *restrict ir /* (OW) or NULL */,
                                                                    const float *restrict xp /* (H, W) */, int W,
                                                                    int h0, int ow0, int ow1, int k, int stride,
                                                                    int pad) {
#define NX_POOL_CELL_LOOP(STORE_IDX)                                                                                    \
    for (int ow = ow0; ow < ow1; ow++) {                                                                               \
        int w0 = ow * stride - pad;                                                                                    \
        float best = -INFINITY;                                                                                        \
        int32_t a = h0 * W + w0;                                                                                       \
        for (int kh = 0; kh < k; kh++)                                                                                 \
            for (int kw = 0; kw < k; kw++) {                                                                           \
                int32_t c = (h0 + kh) * W + w0 + kw;                                                                   \
                float v = xp[c];                                                                                       \
                int m = (v > best) | (v != v);                                                                         \
                best = m ? v : best, a = m ? c : a;                                                                    \
            }                                                                                                          \
        yr[ow] = best;                                                                                                 \
        STORE_IDX;                                                                                                     \
    }
    if (ir) {
        NX_POOL_CELL_LOOP(ir[ow] = a)
    } else {
        NX_POOL_CELL_LOOP((void)a)
    }
#undef NX_POOL_CELL_LOOP
}

static void maxpool_plane(float *yp /* (OH, OW) */, int32_t *ip /* (OH, OW) or NULL */, const float *xp /* (H, W) */,
                          int H, int W, int OH, int OW, int k, int stride, int pad) {
    /* outputs whose windows are whole: oh*stride - pad >= 0 and oh*stride - pad + k <= H (likewise ow) */
    int lo_h = (pad + stride - 1) / stride, hi_h = H - k + pad < 0 ? 0 : (H - k + pad) / stride + 1;
    int lo_w = (pad + stride - 1) / stride, hi_w = W - k + pad < 0 ? 0 : (W - k + pad) / stride + 1;
    if (hi_h > OH) hi_h = OH;
    if (hi_w > OW) hi_w = OW;
    if (lo_w > hi_w) lo_w = hi_w;
    for (int oh = 0; oh < OH; oh++) {
        float *yr = yp + (int64_t)oh * OW;
        int32_t *ir = ip ? ip + (int64_t)oh * OW : NULL;
        bool inner = oh >= lo_h && oh < hi_h;
        for (int ow = 0; ow < OW; ow++) {
            if (inner && ow == lo_w) {
                if (k == 3 && stride == 2 && pad == 1)
                    maxpool_inner_row(yr, ir, xp, W, oh * 2 - 1, lo_w, hi_w, 3, 2, 1);
                else maxpool_inner_row(yr, ir, xp, W, oh * stride - pad, lo_w, hi_w, k, stride, pad);
                ow = hi_w - 1;
                if (ow < lo_w) ow = lo_w - 1; /* an empty inner range */
                continue;
            }
            int32_t arg;
            yr[ow] = pool_window_max(xp, W, pool_window(oh, ow, H, W, k, stride, pad), &arg);
            if (ir) ir[ow] = arg;
        }
    }
}

void maxpool2d_forward_cpu(float *y, int32_t *idx, const float *x, int P, int H, int W, int OH, int OW, int k,
                           int stride, int pad) {
    if (pool_2x2(k, stride, pad)) {
#pragma omp parallel for schedule(static) if ((int64_t)P * OH * OW > 32768)
        for (int p = 0; p < P; p++) {
            const float *xp = x + (int64_t)p * H * W;
            float *yp = y + (int64_t)p * OH * OW;
            maxpool2x2_plane(yp, idx ? idx + (int64_t)p * OH * OW : NULL, xp, W, OH, OW);
        }
        return;
    }
#pragma omp parallel for schedule(static) if ((int64_t)P * OH * OW * k * k > 65536)
    for (int p = 0; p < P; p++)
        maxpool_plane(y + (int64_t)p * OH * OW, idx ? idx + (int64_t)p * OH * OW : NULL, x + (int64_t)p * H * W, H, W,
                      OH, OW, k, stride, pad);
}

/* Not accumulating, each plane is zeroed just before its scatter (in cache, on its thread). */
void maxpool2d_backward_cpu(float *dx, const float *dy, const int32_t *idx, int P, int HW, int OHW,
                            bool accumulate) {
#pragma omp parallel for schedule(static) if ((int64_t)P * (OHW + (accumulate ? 0 : HW)) > 65536)
    for (int p = 0; p < P; p++) {
        float *dxp = dx + (int64_t)p * HW;
        const float *dyp = dy + (int64_t)p * OHW;
        const int32_t *ip = idx + (int64_t)p * OHW;
        if (!accumulate) memset(dxp, 0, sizeof(float) * (size_t)HW);
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
