/* conv_ref.c: 2-D convolution as the plainest loops (conv_ref.h). */
#include "kernels/ref/conv_ref.h"

static int out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

void conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, int N, int C, int H, int W, int O,
                        int KH, int KW, int stride, int pad, int groups) {
    int Cg = C / groups, Og = O / groups, OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    int g = o / Og;
                    double acc = b ? b[o] : 0;
                    for (int c = 0; c < Cg; c++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue; /* zero padding */
                                acc += (double)w[(((size_t)o * Cg + c) * KH + kh) * KW + kw] *
                                       x[(((size_t)n * C + g * Cg + c) * H + ih) * W + iw];
                            }
                    y[(((size_t)n * O + o) * OH + oh) * OW + ow] = (float)acc;
                }
}

void conv2d_backward_data_ref(float *dx, const float *dy, const float *w, int N, int C, int H, int W, int O, int KH,
                              int KW, int stride, int pad, int groups) {
    int Cg = C / groups, Og = O / groups, OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int n = 0; n < N; n++)
        for (int ci = 0; ci < C; ci++)
            for (int ih = 0; ih < H; ih++)
                for (int iw = 0; iw < W; iw++) {
                    int g = ci / Cg, c = ci % Cg;
                    double acc = 0; /* every (o, kh, kw) whose output (oh, ow) read x[n][ci][ih][iw] */
                    for (int o = g * Og; o < (g + 1) * Og; o++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int th = ih + pad - kh, tw = iw + pad - kw; /* = oh*stride, ow*stride */
                                if (th < 0 || tw < 0 || th % stride || tw % stride) continue;
                                int oh = th / stride, ow = tw / stride;
                                if (oh >= OH || ow >= OW) continue;
                                acc += (double)dy[(((size_t)n * O + o) * OH + oh) * OW + ow] *
                                       w[(((size_t)o * Cg + c) * KH + kh) * KW + kw];
                            }
                    dx[(((size_t)n * C + ci) * H + ih) * W + iw] += (float)acc;
                }
}

void conv2d_backward_weight_ref(float *dw, float *db, const float *dy, const float *x, int N, int C, int H, int W,
                                int O, int KH, int KW, int stride, int pad, int groups) {
    int Cg = C / groups, Og = O / groups, OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int o = 0; o < O; o++) {
        int g = o / Og;
        for (int c = 0; c < Cg; c++)
            for (int kh = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++) {
                    double acc = 0;
                    for (int n = 0; n < N; n++)
                        for (int oh = 0; oh < OH; oh++)
                            for (int ow = 0; ow < OW; ow++) {
                                int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (double)dy[(((size_t)n * O + o) * OH + oh) * OW + ow] *
                                       x[(((size_t)n * C + g * Cg + c) * H + ih) * W + iw];
                            }
                    dw[(((size_t)o * Cg + c) * KH + kh) * KW + kw] += (float)acc;
                }
        if (db) {
            double acc = 0;
            for (int n = 0; n < N; n++)
                for (int l = 0; l < OH * OW; l++) acc += dy[((size_t)n * O + o) * OH * OW + l];
            db[o] += (float)acc;
        }
    }
}
