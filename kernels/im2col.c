/* im2col.c: unfold an image into the columns a convolution multiplies by its
 * weights, and the adjoint (col2im) that folds column gradients back.
 *
 *   col[(c*KH + kh)*KW + kw][oh*OW + ow] = x[c][ih][iw],
 *       ih = oh*stride - pad + kh,  iw = ow*stride - pad + kw   (0 outside x)
 *
 * For one row (c, kh, kw) and one output row oh, the valid ow form one
 * range [lo, hi): ow*stride - pad + kw in [0, W). Outside it the column is
 * zero padding; inside it, with stride 1, the copy is contiguous.
 */
#include "kernels/kernels.h"

#include <omp.h>
#include <string.h>

void im2col_cpu(float *col, const float *x, int C, int H, int W, int KH, int KW, int stride, int pad, int ldcol) {
    int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
    int rows = C * KH * KW;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (int64_t)rows * OH * OW > (1 << 18))
    for (int r = 0; r < rows; r++) {
        int c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;
        const float *xc = x + (size_t)c * H * W;
        float *dst = col + (size_t)r * ldcol;
        int ow_lo, ow_hi, oh_lo, oh_hi;
        conv_valid_range(kw, W, OW, stride, pad, &ow_lo, &ow_hi);
        conv_valid_range(kh, H, OH, stride, pad, &oh_lo, &oh_hi);
        memset(dst, 0, sizeof(float) * (size_t)oh_lo * OW);
        for (int oh = oh_lo; oh < oh_hi; oh++) {
            float *d = dst + (size_t)oh * OW;
            /* src[i] = x[c][ih][iw] at ow = ow_lo + i */
            const float *src = xc + (size_t)(oh * stride - pad + kh) * W + (ow_lo * stride - pad + kw);
            int n = ow_hi - ow_lo;
            for (int ow = 0; ow < ow_lo; ow++) d[ow] = 0;
            if (stride == 1)
                for (int i = 0; i < n; i++) d[ow_lo + i] = src[i];
            else
                for (int i = 0; i < n; i++) d[ow_lo + i] = src[(size_t)i * stride];
            for (int ow = ow_hi; ow < OW; ow++) d[ow] = 0;
        }
        memset(dst + (size_t)oh_hi * OW, 0, sizeof(float) * (size_t)(OH - oh_hi) * OW);
    }
}

void col2im_cpu(float *x, const float *col, int C, int H, int W, int KH, int KW, int stride, int pad, int ldcol) {
    int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
    /* One channel per iteration: the KH*KW rows of a channel all add into
     * the same plane, so channels are independent. */
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (int64_t)C * KH * KW * OH * OW > (1 << 18))
    for (int c = 0; c < C; c++) {
        float *xc = x + (size_t)c * H * W;
        for (int kh = 0; kh < KH; kh++) {
            int oh_lo, oh_hi;
            conv_valid_range(kh, H, OH, stride, pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                int ow_lo, ow_hi;
                conv_valid_range(kw, W, OW, stride, pad, &ow_lo, &ow_hi);
                const float *src = col + (size_t)((c * KH + kh) * KW + kw) * ldcol;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *s = src + (size_t)oh * OW + ow_lo;
                    /* d[i] = x[c][ih][iw] at ow = ow_lo + i */
                    float *d = xc + (size_t)(oh * stride - pad + kh) * W + (ow_lo * stride - pad + kw);
                    int n = ow_hi - ow_lo;
                    if (stride == 1)
                        for (int i = 0; i < n; i++) d[i] += s[i];
                    else
                        for (int i = 0; i < n; i++) d[(size_t)i * stride] += s[i];
                }
            }
        }
    }
}
