/* conv.cu: 2-D convolution on the GPU: im2col / col2im kernels + cuBLAS
 * (kernels/conv.h; CPU version in kernels/conv.c, whose plan this follows;
 * the plain reference loops in kernels/ref/conv_ref.c).
 *
 * With Cg = C/groups, Og = O/groups, Kg = Cg*KH*KW, L = OH*OW, and a chunk
 * of nb images laid side by side (ld = nb*L columns):
 *
 *   forward:  col (C*KH*KW, ld) = im2col(x)           one kernel, all groups
 *             Y_g (Og, ld) = W_g (Og, Kg) col_g         one strided-batched GEMM
 *             y (nb, O, L) = Y + b                      a scatter kernel
 *   dW:       dW_g (Og, Kg) += dY_g (Og, ld) col_g^T    (col recomputed from x)
 *   dX:       dcol_g (Kg, ld) = W_g^T dY_g             dx += col2im(dcol)
 *   db:       db[o] += sum over n, l of dy[n][o][l]     one block per o, double
 *
 * The rows of group g in col are rows g*Kg .. (g+1)*Kg - 1 (row index
 * (c*KH + kh)*KW + kw), so the groups are one cublasSgemmStridedBatched call
 * with constant strides. One image (nb == 1) skips the staging: the GEMM
 * writes y (bias first, beta = 1) and reads dy in place. nb is as large as
 * the workspace cap allows (a GPU likes few large GEMMs); the columns and the
 * staging buffer are the caller's scratch (conv2d_*_ws_cuda bytes).
 *
 * col2im is a gather (each x element sums the col entries that im2col read
 * from it, in the CPU's (kh, kw) order), so no atomics. Depthwise
 * convolutions (groups == C == O: Gaussian blurs) are direct kernels, as on
 * the CPU: one thread per output (forward) or input (dx), one block per
 * weight for dw (a reduction over N*OH*OW in double).
 */
#include "kernels/cuda_common.cuh"

#ifndef CONV_WS_FLOATS /* (overridable to test the chunking with small sizes) */
#define CONV_WS_FLOATS ((int64_t)1 << 25) /* 128 MiB of columns + staging, unless one image needs more */
#endif

/* ConvShape and conv_shape: kernels/conv.h (shared with conv.c). */

/* ---- im2col / col2im over nb images ------------------------------------ */

/* col[r][i*L + l] = x_i[c][oh*stride - pad + kh][ow*stride - pad + kw] (0 in
 * the padding), r = (c*KH + kh)*KW + kw, l = oh*OW + ow, x_i = x + i*img. */
static __global__ void im2col_kernel(float *__restrict__ col, const float *__restrict__ x, int64_t img, int nb, int C,
                                     int H, int W, int KH, int KW, int stride, int pad, int OH, int OW, int64_t ld) {
    const int64_t L = (int64_t)OH * OW, cols = nb * L;
    NX_GRID_STRIDE(t, (int64_t)C * KH * KW * cols) {
        const int64_t r = t / cols, q = t - r * cols;
        const int64_t i = q / L, l = q - i * L;
        const int oh = (int)(l / OW), ow = (int)(l - (int64_t)oh * OW);
        const int c = (int)(r / (KH * KW)), kh = (int)(r / KW % KH), kw = (int)(r % KW);
        const int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
        col[r * ld + q] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[i * img + ((int64_t)c * H + ih) * W + iw] : 0.0f;
    }
}

static void im2col_batch(float *col, const float *x, int64_t img, int nb, int C, int H, int W, int KH, int KW,
                         int stride, int pad, int64_t ld) {
    const int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
    const int64_t total = (int64_t)C * KH * KW * nb * OH * OW;
    if (total <= 0) return;
    im2col_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(col, x, img, nb, C, H, W, KH, KW, stride, pad, OH, OW, ld);
    NX_LAUNCH_CHECK();
}

/* x_i[c][ih][iw] += sum over (kh, kw) (in that order) of the col entries read
 * from it: oh = (ih + pad - kh) / stride when exact and in range, ow likewise. */
static __global__ void col2im_kernel(float *__restrict__ x, const float *__restrict__ col, int64_t img, int nb, int C,
                                     int H, int W, int KH, int KW, int stride, int pad, int OH, int OW, int64_t ld) {
    const int64_t L = (int64_t)OH * OW, plane = (int64_t)H * W;
    NX_GRID_STRIDE(t, (int64_t)nb * C * plane) {
        const int64_t ic = t / plane; /* i * C + c */
        const int64_t i = ic / C;
        const int c = (int)(ic - i * C);
        const int64_t p = t - ic * plane;
        const int ih = (int)(p / W), iw = (int)(p - (int64_t)ih * W);
        float s = 0;
        for (int kh = 0; kh < KH; kh++) {
            const int a = ih + pad - kh;
            if (a < 0 || a % stride != 0) continue;
            const int oh = a / stride;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; kw++) {
                const int b = iw + pad - kw;
                if (b < 0 || b % stride != 0) continue;
                const int ow = b / stride;
                if (ow >= OW) continue;
                s += col[((int64_t)(c * KH + kh) * KW + kw) * ld + i * L + (int64_t)oh * OW + ow];
            }
        }
        x[i * img + (int64_t)c * plane + p] += s;
    }
}

static void col2im_batch(float *x, const float *col, int64_t img, int nb, int C, int H, int W, int KH, int KW,
                         int stride, int pad, int64_t ld) {
    const int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
    const int64_t total = (int64_t)nb * C * H * W;
    if (total <= 0 || OH <= 0 || OW <= 0) return;
    col2im_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(x, col, img, nb, C, H, W, KH, KW, stride, pad, OH, OW, ld);
    NX_LAUNCH_CHECK();
}

extern "C" void im2col_cuda(float *col, const float *x, int C, int H, int W, int KH, int KW, int stride, int pad,
                            int ldcol) {
    im2col_batch(col, x, 0, 1, C, H, W, KH, KW, stride, pad, ldcol);
}

extern "C" void col2im_cuda(float *x, const float *col, int C, int H, int W, int KH, int KW, int stride, int pad,
                            int ldcol) {
    col2im_batch(x, col, 0, 1, C, H, W, KH, KW, stride, pad, ldcol);
}

/* ---- staging between (nb, O, L) and (O, nb*L) --------------------------- */

/* y[(n0 + i)][o][l] = tmp[o][i*L + l] + b[o] */
static __global__ void scatter_bias_kernel(float *__restrict__ y, const float *__restrict__ tmp,
                                           const float *__restrict__ b, int nb, int O, int64_t L) {
    const int64_t ld = nb * L;
    NX_GRID_STRIDE(t, (int64_t)nb * O * L) {
        const int64_t io = t / L, l = t - io * L; /* io = i * O + o */
        const int64_t i = io / O;
        const int o = (int)(io - i * O);
        y[t] = tmp[(int64_t)o * ld + i * L + l] + (b ? b[o] : 0.0f);
    }
}

/* tmp[o][i*L + l] = dy[i][o][l] */
static __global__ void gather_dy_kernel(float *__restrict__ tmp, const float *__restrict__ dy, int nb, int O,
                                        int64_t L) {
    const int64_t ld = nb * L;
    NX_GRID_STRIDE(t, (int64_t)nb * O * L) {
        const int64_t io = t / L, l = t - io * L;
        const int64_t i = io / O;
        const int o = (int)(io - i * O);
        tmp[(int64_t)o * ld + i * L + l] = dy[t];
    }
}

/* y[o][l] = b[o] for one image (O, L) */
static __global__ void fill_bias_kernel(float *__restrict__ y, const float *__restrict__ b, int O, int64_t L) {
    NX_GRID_STRIDE(t, (int64_t)O * L) y[t] = b[t / L];
}

/* ---- depthwise: direct kernels ----------------------------------------- */

/* y[n][c][oh][ow] = b[c] + sum_{kh,kw} w[c][kh][kw] x[n][c][oh*s - p + kh][ow*s - p + kw] */
static __global__ void depthwise_forward_kernel(float *__restrict__ y, const float *__restrict__ x,
                                                const float *__restrict__ w, const float *__restrict__ b, ConvShape s) {
    NX_GRID_STRIDE(t, (int64_t)s.N * s.C * s.L) {
        const int64_t pl = t / s.L; /* n * C + c */
        const int c = (int)(pl % s.C);
        const int l = (int)(t - pl * s.L), oh = l / s.OW, ow = l - oh * s.OW;
        const float *xp = x + pl * s.H * s.W;
        const float *wc = w + (int64_t)c * s.KH * s.KW;
        float acc = b ? b[c] : 0.0f;
        for (int kh = 0; kh < s.KH; kh++) {
            const int ih = oh * s.stride - s.pad + kh;
            if (ih < 0 || ih >= s.H) continue;
            for (int kw = 0; kw < s.KW; kw++) {
                const int iw = ow * s.stride - s.pad + kw;
                if (iw < 0 || iw >= s.W) continue;
                acc += wc[kh * s.KW + kw] * xp[ih * s.W + iw];
            }
        }
        y[t] = acc;
    }
}

/* dx[n][c][ih][iw] += sum over the (kh, kw) whose output (oh, ow) reads it of w[c][kh][kw] dy[n][c][oh][ow] */
static __global__ void depthwise_backward_dx_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                                    const float *__restrict__ w, ConvShape s) {
    const int64_t plane = (int64_t)s.H * s.W;
    NX_GRID_STRIDE(t, (int64_t)s.N * s.C * plane) {
        const int64_t pl = t / plane;
        const int c = (int)(pl % s.C);
        const int p = (int)(t - pl * plane), ih = p / s.W, iw = p - ih * s.W;
        const float *dyp = dy + pl * s.L;
        const float *wc = w + (int64_t)c * s.KH * s.KW;
        float acc = 0;
        for (int kh = 0; kh < s.KH; kh++) {
            const int a = ih + s.pad - kh;
            if (a < 0 || a % s.stride != 0 || a / s.stride >= s.OH) continue;
            const int oh = a / s.stride;
            for (int kw = 0; kw < s.KW; kw++) {
                const int bq = iw + s.pad - kw;
                if (bq < 0 || bq % s.stride != 0 || bq / s.stride >= s.OW) continue;
                acc += wc[kh * s.KW + kw] * dyp[oh * s.OW + bq / s.stride];
            }
        }
        dx[t] += acc;
    }
}

/* Block e = one weight (c, kh, kw): dw[e] += sum over n, oh, ow of dy[n][c][oh][ow] x[n][c][ih][iw], in double. */
static __global__ void depthwise_backward_dw_kernel(float *__restrict__ dw, const float *__restrict__ dy,
                                                    const float *__restrict__ x, ConvShape s) {
    const int KK = s.KH * s.KW;
    const int e = blockIdx.x, c = e / KK, kh = e % KK / s.KW, kw = e % s.KW;
    const int64_t per = (int64_t)s.N * s.L;
    double acc = 0;
    for (int64_t j = threadIdx.x; j < per; j += blockDim.x) {
        const int64_t n = j / s.L;
        const int l = (int)(j - n * s.L), oh = l / s.OW, ow = l - oh * s.OW;
        const int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
        if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
        const int64_t pl = n * s.C + c;
        acc += dy[pl * s.L + l] * x[(pl * s.H + ih) * s.W + iw];
    }
    acc = nx_block_sum(acc);
    if (threadIdx.x == 0) dw[e] += (float)acc;
}

#define REDUCE_THREADS 256

/* Block o: db[o] += sum over n, l of dy[n][o][l], in double (conv.c). */
static __global__ void bias_grad_kernel(float *__restrict__ db, const float *__restrict__ dy, int N, int O, int64_t L) {
    const int o = blockIdx.x;
    double acc = 0;
    for (int64_t j = threadIdx.x; j < (int64_t)N * L; j += blockDim.x) {
        const int64_t n = j / L, l = j - n * L;
        acc += dy[(n * O + o) * L + l];
    }
    acc = nx_block_sum(acc);
    if (threadIdx.x == 0) db[o] += (float)acc;
}

/* ---- the kernels -------------------------------------------------------- */

/* Images per chunk: as many as fit the cap (at least one). */
static int conv_chunk(const ConvShape *s) {
    const int64_t per_image = ((int64_t)s->C * s->KH * s->KW + s->O) * s->L;
    int64_t nb = CONV_WS_FLOATS / (per_image > 0 ? per_image : 1);
    if (nb < 1) nb = 1;
    if (nb > s->N) nb = s->N;
    return (int)nb;
}

/* Scratch of the im2col + GEMM path: columns (C*KH*KW, nb*L) and a staging
 * buffer (O, nb*L) for one chunk of nb images; none for depthwise. */
static size_t conv_ws_bytes(const ConvShape *s) {
    if (s->N == 0 || (s->groups == s->C && s->O == s->C)) return 0;
    return sizeof(float) * (size_t)(((int64_t)s->C * s->KH * s->KW + s->O) * conv_chunk(s) * s->L);
}

extern "C" size_t conv2d_forward_ws_cuda(int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad,
                                         int groups) {
    const ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    return conv_ws_bytes(&s);
}

extern "C" size_t conv2d_backward_ws_cuda(bool want_dx, bool want_dw, int N, int C, int H, int W, int O, int KH, int KW,
                                          int stride, int pad, int groups) {
    const ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    return want_dx || want_dw ? conv_ws_bytes(&s) : 0;
}

extern "C" void conv2d_forward_cuda(float *y, const float *x, const float *w, const float *b, int N, int C, int H,
                                    int W, int O, int KH, int KW, int stride, int pad, int groups, void *ws_) {
    const ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0) return;
    if (groups == C && O == C) {
        depthwise_forward_kernel<<<nx_grid((int64_t)N * C * s.L, NX_BLOCK), NX_BLOCK>>>(y, x, w, b, s);
        NX_LAUNCH_CHECK();
        return;
    }
    const int nb_max = conv_chunk(&s);
    const int64_t L = s.L, img = (int64_t)C * H * W, col_rows = (int64_t)C * KH * KW;
    NX_CHECK(ws_, "conv2d_forward_cuda: no workspace (conv2d_forward_ws_cuda bytes)");
    float *col = (float *)ws_, *tmp = col + col_rows * nb_max * L; /* the layout of conv_ws_bytes */
    for (int n0 = 0; n0 < N; n0 += nb_max) {
        const int nb = N - n0 < nb_max ? N - n0 : nb_max;
        const int ld = (int)(nb * L);
        im2col_batch(col, x + n0 * img, img, nb, C, H, W, KH, KW, stride, pad, ld);
        if (nb == 1) { /* straight into y[n0], bias first */
            float *yn = y + (int64_t)n0 * O * L;
            if (b) {
                fill_bias_kernel<<<nx_grid((int64_t)O * L, NX_BLOCK), NX_BLOCK>>>(yn, b, O, L);
                NX_LAUNCH_CHECK();
            }
            nx_sgemm_strided_batched(false, false, s.Og, ld, s.Kg, 1.0f, w, s.Kg, (int64_t)s.Og * s.Kg, col, ld,
                                     (int64_t)s.Kg * ld, b ? 1.0f : 0.0f, yn, ld, (int64_t)s.Og * ld, groups);
        } else { /* Y (O, nb*L), then scattered to y (nb, O, L) with the bias */
            nx_sgemm_strided_batched(false, false, s.Og, ld, s.Kg, 1.0f, w, s.Kg, (int64_t)s.Og * s.Kg, col, ld,
                                     (int64_t)s.Kg * ld, 0.0f, tmp, ld, (int64_t)s.Og * ld, groups);
            scatter_bias_kernel<<<nx_grid((int64_t)nb * O * L, NX_BLOCK), NX_BLOCK>>>(y + (int64_t)n0 * O * L, tmp, b,
                                                                                      nb, O, L);
            NX_LAUNCH_CHECK();
        }
    }
}

extern "C" void conv2d_backward_cuda(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                     int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad,
                                     int groups, void *ws_) {
    const ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0) return;
    if (db) {
        bias_grad_kernel<<<O, REDUCE_THREADS>>>(db, dy, N, O, s.L);
        NX_LAUNCH_CHECK();
    }
    if (!dx && !dw) return;
    if (groups == C && O == C) {
        if (dx) {
            const int64_t total = (int64_t)N * C * H * W;
            depthwise_backward_dx_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, w, s);
            NX_LAUNCH_CHECK();
        }
        if (dw) {
            depthwise_backward_dw_kernel<<<C * KH * KW, REDUCE_THREADS>>>(dw, dy, x, s);
            NX_LAUNCH_CHECK();
        }
        return;
    }
    const int nb_max = conv_chunk(&s);
    const int64_t L = s.L, img = (int64_t)C * H * W, col_rows = (int64_t)C * KH * KW;
    NX_CHECK(ws_, "conv2d_backward_cuda: no workspace (conv2d_backward_ws_cuda bytes)");
    float *col = (float *)ws_, *tmp = col + col_rows * nb_max * L; /* the layout of conv_ws_bytes */
    for (int n0 = 0; n0 < N; n0 += nb_max) {
        const int nb = N - n0 < nb_max ? N - n0 : nb_max;
        const int ld = (int)(nb * L);
        const float *dyg = dy + (int64_t)n0 * O * L; /* dY (O, ld): in place for one image, else staged */
        if (nb > 1) {
            gather_dy_kernel<<<nx_grid((int64_t)nb * O * L, NX_BLOCK), NX_BLOCK>>>(tmp, dyg, nb, O, L);
            NX_LAUNCH_CHECK();
            dyg = tmp;
        }
        if (dw) { /* dW_g (Og, Kg) += dY_g (Og, ld) col_g^T */
            im2col_batch(col, x + n0 * img, img, nb, C, H, W, KH, KW, stride, pad, ld);
            nx_sgemm_strided_batched(false, true, s.Og, s.Kg, ld, 1.0f, dyg, ld, (int64_t)s.Og * ld, col, ld,
                                     (int64_t)s.Kg * ld, 1.0f, dw, s.Kg, (int64_t)s.Og * s.Kg, groups);
        }
        if (dx) { /* dcol_g (Kg, ld) = W_g^T (Kg, Og) dY_g (Og, ld), then folded back */
            nx_sgemm_strided_batched(true, false, s.Kg, ld, s.Og, 1.0f, w, s.Kg, (int64_t)s.Og * s.Kg, dyg, ld,
                                     (int64_t)s.Og * ld, 0.0f, col, ld, (int64_t)s.Kg * ld, groups);
            col2im_batch(dx + n0 * img, col, img, nb, C, H, W, KH, KW, stride, pad, ld);
        }
    }
}
