/* conv.c: 2-D convolution on the CPU: im2col + SGEMM, images shared between threads.
 *
 * For group g (Cg = C/groups input and Og = O/groups output channels,
 * Kg = Cg*KH*KW, L = OH*OW) and a chunk of nb images side by side, with
 * col = im2col(x) (Kg, nb*L) (kernels/im2col.c gives the definition):
 *
 *   forward:  Y (Og, nb*L) = W_g (Og, Kg) col             (+ b)
 *   dW:       dW_g (Og, Kg) += dY (Og, nb*L) col^T
 *   dX:       dcol (Kg, nb*L) = W_g^T dY,   dx += col2im(dcol)
 *   db:       db[o] += sum over n, oh, ow of dy[n][o]
 *
 * col is never stored. With xp the images zero-padded by `pad` on every
 * side (Hp = H + 2 pad, Wp = W + 2 pad), every entry of col is one read
 *
 *   col[r][q] = xp[base[r] + pos[q]],  base[(c*KH + kh)*KW + kw] = (c*Hp + kh)*Wp + kw,
 *                                      pos[(i*OH + oh)*OW + ow] = i*|image| + (oh*Wp + ow)*stride
 *
 * (no bounds tests: the padding is in xp). The GEMM (kernels/gemm.c) packs
 * its B operand one sliver at a time, KC rows by NR columns, into a buffer
 * that stays in L1; here that packing reads xp directly through the two
 * tables (pack_cols for the forward pass, pack_cols_t for dW), so im2col and
 * packing are one pass over an image that is in cache, instead of writing
 * and re-reading a column matrix nine times larger. In the same way the GEMM
 * hands each finished tile to a function: for the forward pass it is
 * written to y (N, O, OH, OW) with the bias (store_out), for dX it is added
 * into the padded dx (store_col2im), so dcol is never stored either. The
 * weights are packed once per call (W_g for the forward pass, W_g^T for dX)
 * and shared by every image and thread.
 *
 * Parallelism. A convolution's GEMMs are often small or skinny (LeNet's
 * conv1: Og = 20, Kg = 25, L = 576), so splitting one GEMM between threads
 * would cost more in synchronisation than it gains. Instead the threads take
 * chunks of images dynamically (a thread slowed down by other work on its
 * core hands its share over), each with its own buffers and, for dW, its
 * own accumulator, summed at the end; the GEMMs a thread calls run on that
 * thread alone (sgemm inside a parallel region). When the images are small
 * (VGG's 512-channel layers at 2x2), nb images go side by side so that each
 * GEMM has about TARGET_COLS columns. A batch too small to share out (fewer
 * images than threads) runs chunk by chunk with the threaded GEMM, and its
 * dX goes through an explicit column buffer and col2im_cpu (two threads
 * adding tiles into the same dx could collide).
 *
 * Depthwise convolutions (groups == C == O: Gaussian blurs) are direct loops:
 * a GEMM with one output row per group would waste the micro-kernel.
 */
#include "kernels/kernels.h"
#include "tensor/tensor.h" /* workspace_get */

#include <omp.h>
#include <string.h>

#define TARGET_COLS 256 /* GEMM columns per chunk, when the batch allows */
#define NR SGEMM_NR

typedef struct {
    int N, C, H, W, O, KH, KW, stride, pad, groups;
    int OH, OW, L;  /* output plane, L = OH*OW */
    int Cg, Og, Kg; /* per group: in channels, out channels, Cg*KH*KW */
} ConvShape;

static ConvShape conv_shape(int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups) {
    ConvShape s = {N, C, H, W, O, KH, KW, stride, pad, groups, 0, 0, 0, 0, 0, 0};
    NX_CHECK(groups >= 1 && C % groups == 0 && O % groups == 0, "conv2d: groups %d must divide C %d and O %d", groups,
             C, O);
    NX_CHECK(stride >= 1 && pad >= 0, "conv2d: stride %d, pad %d", stride, pad);
    s.OH = conv_out_size(H, KH, stride, pad);
    s.OW = conv_out_size(W, KW, stride, pad);
    NX_CHECK(s.OH >= 1 && s.OW >= 1, "conv2d: kernel %dx%d larger than padded input %dx%d", KH, KW, H + 2 * pad,
             W + 2 * pad);
    s.L = s.OH * s.OW;
    s.Cg = C / groups;
    s.Og = O / groups;
    s.Kg = s.Cg * KH * KW;
    return s;
}

/* ---- the plan: threads, images per chunk, workspace --------------------- */

typedef struct {
    int nt;           /* threads sharing the batch (1: chunk by chunk, threaded GEMM) */
    int nb;           /* images per chunk */
    int chunks;       /* ceil(N / nb), handed to threads dynamically */
    int Hp, Wp;       /* padded image */
    size_t img;       /* floats between images in xp: the padded copy's, or x's when pad == 0 */
    /* shared */
    size_t pw;        /* floats: the packed weights of every group */
    size_t base, pos; /* ints: the im2col tables, padded to a multiple of NR */
    /* per thread */
    size_t xp;        /* floats: padded images of a chunk (nb, Cg, Hp, Wp), pad > 0 only */
    size_t dxp;       /* floats: their gradient, pad > 0 only */
    size_t tmp;       /* floats: dY of a chunk gathered (Og, nb*L), nb > 1 only */
    size_t pdy;       /* floats: that dY packed as the A of the dW product */
    size_t col;       /* floats: dcol (Kg, nb*L) for dX when the GEMM is threaded */
    size_t dw;        /* floats: private dW accumulator (threads >= 1) */
    size_t per_thread;
} ConvPlan;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; } /* 64-byte alignment */

/* pw_rows x pw_cols: one group's packed weights, (Og, Kg) forward, (Kg, Og) for dX, 0 x 0 for none. */
static ConvPlan conv_plan(const ConvShape *s, bool backward, bool want_dx, bool want_dw, int pw_rows, int pw_cols) {
    ConvPlan p = {0};
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt > s->N) nt = s->N;
    if (nt < 1) nt = 1;
    /* Enough columns per GEMM, and at least two chunks per thread. */
    int nb = (TARGET_COLS + s->L - 1) / s->L;
    int per = (s->N + 2 * nt - 1) / (2 * nt);
    if (nt > 1 && nb > per) nb = per;
    if (nb > s->N) nb = s->N;
    if (nb < 1) nb = 1;
    p.nt = nt;
    p.nb = nb;
    p.chunks = (s->N + nb - 1) / nb;
    p.Hp = s->H + 2 * s->pad;
    p.Wp = s->W + 2 * s->pad;
    size_t padded = (size_t)nb * s->Cg * p.Hp * p.Wp, cols = (size_t)nb * s->L;
    p.img = s->pad ? (size_t)s->Cg * p.Hp * p.Wp : (size_t)s->C * s->H * s->W;
    p.pw = pw_rows ? round16(sgemm_packed_a_floats(pw_rows, pw_cols)) * s->groups : 0;
    p.base = round16((size_t)(s->Kg + NR - 1) / NR * NR);
    p.pos = round16((cols + NR - 1) / NR * NR);
    bool gemm_threaded = nt == 1 && !omp_in_parallel() && omp_get_max_threads() > 1;
    if (!backward || want_dw) p.xp = s->pad ? round16(padded) : 0;
    if (backward) {
        p.dxp = want_dx && s->pad && !gemm_threaded ? round16(padded) : 0;
        p.tmp = nb > 1 ? round16((size_t)s->Og * cols) : 0;
        p.pdy = want_dw ? round16(sgemm_packed_a_floats(s->Og, (int)cols)) : 0;
        p.col = want_dx && gemm_threaded ? round16((size_t)s->Kg * cols) : 0;
        p.dw = want_dw && nt > 1 ? round16((size_t)s->O * s->Kg) : 0;
    }
    p.per_thread = p.xp + p.dxp + p.tmp + p.pdy + p.col + p.dw;
    return p;
}

/* The im2col tables (see the top of the file); entries past the end are 0. */
static void fill_tables(const ConvShape *s, const ConvPlan *p, int *base, int *pos) {
    memset(base, 0, p->base * sizeof(int));
    memset(pos, 0, p->pos * sizeof(int));
    for (int r = 0; r < s->Kg; r++) {
        int c = r / (s->KH * s->KW), kh = r / s->KW % s->KH, kw = r % s->KW;
        base[r] = (c * p->Hp + kh) * p->Wp + kw;
    }
    for (int q = 0; q < p->nb * s->L; q++) {
        int i = q / s->L, oh = q % s->L / s->OW, ow = q % s->OW;
        pos[q] = (int)(i * p->img) + (oh * p->Wp + ow) * s->stride;
    }
}

/* xp (nb, Cg, Hp, Wp) = x (nb images C*H*W apart, Cg channels each) with a zero border */
static void pad_images(float *xp, const float *x, int nb, const ConvShape *s, const ConvPlan *p) {
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < s->Cg; c++) {
            const float *src = x + ((size_t)i * s->C + c) * s->H * s->W;
            float *dst = xp + ((size_t)i * s->Cg + c) * p->Hp * p->Wp;
            memset(dst, 0, sizeof(float) * (size_t)s->pad * p->Wp);
            for (int h = 0; h < s->H; h++) {
                float *d = dst + (size_t)(h + s->pad) * p->Wp;
                for (int u = 0; u < s->pad; u++) d[u] = 0, d[s->pad + s->W + u] = 0;
                memcpy(d + s->pad, src + (size_t)h * s->W, sizeof(float) * s->W);
            }
            memset(dst + (size_t)(s->pad + s->H) * p->Wp, 0, sizeof(float) * (size_t)s->pad * p->Wp);
        }
}

/* dx (nb images C*H*W apart, Cg channels each) += the inside of dxp (nb, Cg, Hp, Wp) */
static void unpad_add(float *dx, const float *dxp, int nb, const ConvShape *s, const ConvPlan *p) {
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < s->Cg; c++) {
            float *dst = dx + ((size_t)i * s->C + c) * s->H * s->W;
            const float *src = dxp + ((size_t)i * s->Cg + c) * p->Hp * p->Wp + (size_t)s->pad * p->Wp + s->pad;
            for (int h = 0; h < s->H; h++)
                for (int w = 0; w < s->W; w++) dst[(size_t)h * s->W + w] += src[(size_t)h * p->Wp + w];
        }
}

/* ---- im2col as a GEMM operand, col2im as its output ---------------------- */

typedef struct {
    const float *xp; /* padded images of the chunk (or x itself when pad == 0) */
    const int *base, *pos;
} ColSrc;

/* Forward: dst[k][cc] = col[p + k][j + cc] */
static void pack_cols(const void *ctx, float *dst, int p, int j, int kc, int nr) {
    const ColSrc *cs = ctx;
    const int *pos = cs->pos + j;
    if (nr == NR && pos[NR - 1] - pos[0] == NR - 1) { /* one contiguous run (stride 1, one output row) */
        for (int k = 0; k < kc; k++) memcpy(dst + (size_t)k * NR, cs->xp + cs->base[p + k] + pos[0], sizeof(float) * NR);
    } else if (nr == NR) { /* a gather */
        for (int k = 0; k < kc; k++) {
            const float *xb = cs->xp + cs->base[p + k];
            float *d = dst + (size_t)k * NR;
            for (int cc = 0; cc < NR; cc++) d[cc] = xb[pos[cc]];
        }
    } else { /* the last, ragged sliver */
        for (int k = 0; k < kc; k++) {
            const float *xb = cs->xp + cs->base[p + k];
            float *d = dst + (size_t)k * NR;
            for (int cc = 0; cc < nr; cc++) d[cc] = xb[pos[cc]];
            for (int cc = nr; cc < NR; cc++) d[cc] = 0;
        }
    }
}

/* dW: dst[k][cc] = col[j + cc][p + k] (col transposed: positions down, rows across), a gather per k */
static void pack_cols_t(const void *ctx, float *dst, int p, int j, int kc, int nr) {
    const ColSrc *cs = ctx;
    const int *base = cs->base + j; /* the table runs to a multiple of NR: entries past Kg read xp[pos] */
    for (int k = 0; k < kc; k++) {
        const float *xk = cs->xp + cs->pos[p + k];
        float *d = dst + (size_t)k * NR;
        for (int cc = 0; cc < NR; cc++) d[cc] = xk[base[cc]];
        for (int cc = nr; cc < NR; cc++) d[cc] = 0;
    }
}

/* Forward tiles: Y[o][q] (+ b[o] on the first K slice) into y (nb, O, L). */
typedef struct {
    const ConvShape *s;
    float *y;       /* first image of the chunk, first channel of the group */
    const float *b; /* the group's bias, or NULL */
} OutDst;

static void store_out(void *ctx, const float *tile, int i, int j, int mr, int nr, bool first) {
    OutDst *od = ctx;
    const ConvShape *s = od->s;
    for (int at = 0; at < nr;) { /* split the columns at image boundaries */
        int q = j + at, img = q / s->L, l = q % s->L, len = s->L - l < nr - at ? s->L - l : nr - at;
        for (int ii = 0; ii < mr; ii++) {
            int o = i + ii;
            float *yr = od->y + ((size_t)img * s->O + o) * s->L + l;
            const float *t = tile + ii * NR + at;
            if (first) {
                float bias = od->b ? od->b[o] : 0.0f;
                for (int u = 0; u < len; u++) yr[u] = t[u] + bias;
            } else {
                for (int u = 0; u < len; u++) yr[u] += t[u];
            }
        }
        at += len;
    }
}

/* dX tiles: dcol[r][q] added into dxp[base[r] + pos[q]] (col2im, one tile at a time). */
typedef struct {
    float *dxp; /* padded gradient of the chunk's images (or dx itself when pad == 0) */
    const int *base, *pos;
} ColDst;

static void store_col2im(void *ctx, const float *tile, int i, int j, int mr, int nr, bool first) {
    (void)first; /* every K slice adds */
    ColDst *cd = ctx;
    const int *pos = cd->pos + j;
    int start[NR + 1], n_runs = 0; /* runs of consecutive positions */
    for (int cc = 0; cc < nr; cc++)
        if (cc == 0 || pos[cc] != pos[cc - 1] + 1) start[n_runs++] = cc;
    start[n_runs] = nr;
    for (int ii = 0; ii < mr; ii++) {
        float *db = cd->dxp + cd->base[i + ii];
        const float *t = tile + ii * NR;
        for (int u = 0; u < n_runs; u++) {
            float *d = db + pos[start[u]];
            const float *tu = t + start[u];
            int len = start[u + 1] - start[u];
            for (int v = 0; v < len; v++) d[v] += tu[v];
        }
    }
}

/* ---- depthwise: direct loops ------------------------------------------- */

/* y[n][c] = b[c] + sum_{kh,kw} w[c][kh][kw] x[n][c][oh*s - p + kh][ow*s - p + kw] */
static void depthwise_forward(float *y, const float *x, const float *w, const float *b, const ConvShape *s) {
    int P = s->N * s->C, KK = s->KH * s->KW;
#pragma omp parallel for schedule(static) if ((int64_t)P * s->L * KK > 65536)
    for (int pl = 0; pl < P; pl++) {
        int c = pl % s->C;
        float *yp = y + (size_t)pl * s->L;
        const float *xp = x + (size_t)pl * s->H * s->W;
        float bias = b ? b[c] : 0.0f;
        for (int i = 0; i < s->L; i++) yp[i] = bias;
        for (int kh = 0; kh < s->KH; kh++) {
            int oh_lo, oh_hi;
            conv_valid_range(kh, s->H, s->OH, s->stride, s->pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < s->KW; kw++) {
                int ow_lo, ow_hi;
                conv_valid_range(kw, s->W, s->OW, s->stride, s->pad, &ow_lo, &ow_hi);
                float wv = w[(size_t)c * KK + kh * s->KW + kw];
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *yr = yp + (size_t)oh * s->OW + ow_lo;
                    const float *xr =
                        xp + (size_t)(oh * s->stride - s->pad + kh) * s->W + (ow_lo * s->stride - s->pad + kw);
                    int n = ow_hi - ow_lo;
                    for (int i = 0; i < n; i++) yr[i] += wv * xr[(size_t)i * s->stride];
                }
            }
        }
    }
}

static void depthwise_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                               const ConvShape *s) {
    int P = s->N * s->C, KK = s->KH * s->KW;
    if (dx) { /* dx[n][c][ih][iw] += w[c][kh][kw] dy[n][c][oh][ow] */
#pragma omp parallel for schedule(static) if ((int64_t)P * s->L * KK > 65536)
        for (int pl = 0; pl < P; pl++) {
            int c = pl % s->C;
            const float *dyp = dy + (size_t)pl * s->L;
            float *dxp = dx + (size_t)pl * s->H * s->W;
            for (int kh = 0; kh < s->KH; kh++) {
                int oh_lo, oh_hi;
                conv_valid_range(kh, s->H, s->OH, s->stride, s->pad, &oh_lo, &oh_hi);
                for (int kw = 0; kw < s->KW; kw++) {
                    int ow_lo, ow_hi;
                    conv_valid_range(kw, s->W, s->OW, s->stride, s->pad, &ow_lo, &ow_hi);
                    float wv = w[(size_t)c * KK + kh * s->KW + kw];
                    for (int oh = oh_lo; oh < oh_hi; oh++) {
                        const float *dyr = dyp + (size_t)oh * s->OW + ow_lo;
                        float *dxr =
                            dxp + (size_t)(oh * s->stride - s->pad + kh) * s->W + (ow_lo * s->stride - s->pad + kw);
                        int n = ow_hi - ow_lo;
                        for (int i = 0; i < n; i++) dxr[(size_t)i * s->stride] += wv * dyr[i];
                    }
                }
            }
        }
    }
    if (dw) { /* dw[c][kh][kw] += sum_{n,oh,ow} dy[n][c][oh][ow] x[n][c][ih][iw]; one weight per iteration */
#pragma omp parallel for schedule(static) if ((int64_t)P * s->L * KK > 65536)
        for (int e = 0; e < s->C * KK; e++) {
            int c = e / KK, kh = e % KK / s->KW, kw = e % s->KW;
            int oh_lo, oh_hi, ow_lo, ow_hi;
            conv_valid_range(kh, s->H, s->OH, s->stride, s->pad, &oh_lo, &oh_hi);
            conv_valid_range(kw, s->W, s->OW, s->stride, s->pad, &ow_lo, &ow_hi);
            double acc = 0;
            for (int n = 0; n < s->N; n++) {
                const float *dyp = dy + ((size_t)n * s->C + c) * s->L;
                const float *xp = x + ((size_t)n * s->C + c) * s->H * s->W;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *dyr = dyp + (size_t)oh * s->OW + ow_lo;
                    const float *xr =
                        xp + (size_t)(oh * s->stride - s->pad + kh) * s->W + (ow_lo * s->stride - s->pad + kw);
                    int n_ow = ow_hi - ow_lo;
                    float r = 0;
#pragma omp simd reduction(+ : r)
                    for (int i = 0; i < n_ow; i++) r += dyr[i] * xr[(size_t)i * s->stride];
                    acc += r;
                }
            }
            dw[e] += (float)acc;
        }
    }
}

/* ---- one chunk of nb images ---------------------------------------------- */

typedef struct {
    const ConvShape *s;
    const ConvPlan *p;
    const float *pw; /* packed W_g (forward) or W_g^T (dX), group g at pw + g*pw_group */
    size_t pw_group;
    const int *base, *pos;
} ConvCtx;

/* y[n0 .. n0+nb) = conv(x, w) + b */
static void forward_chunk(const ConvCtx *cx, float *y, const float *x, const float *b, int n0, int nb, float *buf) {
    const ConvShape *s = cx->s;
    size_t HW = (size_t)s->H * s->W;
    for (int g = 0; g < s->groups; g++) {
        const float *xg = x + ((size_t)n0 * s->C + (size_t)g * s->Cg) * HW;
        if (s->pad) pad_images(buf, xg, nb, s, cx->p);
        ColSrc src = {s->pad ? buf : xg, cx->base, cx->pos};
        OutDst dst = {s, y + ((size_t)n0 * s->O + (size_t)g * s->Og) * s->L, b ? b + (size_t)g * s->Og : NULL};
        sgemm_packed_cpu(s->Og, nb * s->L, s->Kg, 1.0f, cx->pw + cx->pw_group * g,
                         (SgemmB){.pack = pack_cols, .ctx = &src}, (SgemmC){.store = store_out, .ctx = &dst});
    }
}

/* dx[n0 .. n0+nb) += ..., dw_acc += ... (either may be NULL) */
static void backward_chunk(const ConvCtx *cx, float *dx, float *dw_acc, const float *dy, const float *x, int n0,
                           int nb, float *buf) {
    const ConvShape *s = cx->s;
    const ConvPlan *p = cx->p;
    int L = s->L, ld = nb * L;
    size_t HW = (size_t)s->H * s->W;
    float *xp = buf, *dxp = xp + p->xp, *tmp = dxp + p->dxp, *pdy = tmp + p->tmp, *col = pdy + p->pdy;
    for (int g = 0; g < s->groups; g++) {
        const float *dyg; /* dY (Og, nb*L), row stride lddy */
        int lddy;
        if (nb == 1) {
            dyg = dy + ((size_t)n0 * s->O + (size_t)g * s->Og) * L;
            lddy = L;
        } else {
            for (int i = 0; i < nb; i++)
                for (int o = 0; o < s->Og; o++)
                    memcpy(tmp + (size_t)o * ld + (size_t)i * L,
                           dy + ((size_t)(n0 + i) * s->O + (size_t)g * s->Og + o) * L, sizeof(float) * L);
            dyg = tmp;
            lddy = ld;
        }
        size_t at = ((size_t)n0 * s->C + (size_t)g * s->Cg) * HW; /* the chunk's group g in x and dx */
        if (dw_acc) { /* dW_g += dY col^T */
            if (s->pad) pad_images(xp, x + at, nb, s, p);
            ColSrc src = {s->pad ? xp : x + at, cx->base, cx->pos};
            sgemm_pack_a_cpu(pdy, false, s->Og, ld, dyg, lddy);
            sgemm_packed_cpu(s->Og, s->Kg, ld, 1.0f, pdy, (SgemmB){.pack = pack_cols_t, .ctx = &src},
                             (SgemmC){.C = dw_acc + (size_t)g * s->Og * s->Kg, .ldc = s->Kg, .beta = 1.0f});
        }
        if (!dx) continue;
        const float *wtg = cx->pw + cx->pw_group * g;
        if (p->col) { /* threaded GEMM: dcol stored, then col2im */
            sgemm_packed_cpu(s->Kg, ld, s->Og, 1.0f, wtg, (SgemmB){.B = dyg, .ldb = lddy},
                             (SgemmC){.C = col, .ldc = ld, .beta = 0.0f});
            for (int i = 0; i < nb; i++)
                col2im_cpu(dx + at + (size_t)i * s->C * HW, col + (size_t)i * L, s->Cg, s->H, s->W, s->KH, s->KW,
                           s->stride, s->pad, ld);
        } else { /* dcol = W_g^T dY, added into (padded) dx tile by tile */
            if (s->pad) memset(dxp, 0, sizeof(float) * (size_t)nb * s->Cg * p->Hp * p->Wp);
            ColDst dst = {s->pad ? dxp : dx + at, cx->base, cx->pos};
            sgemm_packed_cpu(s->Kg, ld, s->Og, 1.0f, wtg, (SgemmB){.B = dyg, .ldb = lddy},
                             (SgemmC){.store = store_col2im, .ctx = &dst, .serial_store = true});
            if (s->pad) unpad_add(dx + at, dxp, nb, s, p);
        }
    }
}

/* ---- the kernels --------------------------------------------------------- */

/* Workspace: shared packed weights and tables, then per-thread buffers. */
static float *conv_setup(ConvCtx *cx, const ConvShape *s, const ConvPlan *p, const float *w, bool transpose) {
    float *ws = workspace_get(NX_CPU, sizeof(float) * (p->pw + p->base + p->pos + p->per_thread * p->nt));
    float *pw = ws;
    int *base = (int *)(ws + p->pw), *pos = base + p->base;
    fill_tables(s, p, base, pos);
    size_t pw_group = p->pw / s->groups;
    for (int g = 0; g < s->groups && p->pw; g++) /* packed once, shared by every image and thread */
        sgemm_pack_a_cpu(pw + pw_group * g, transpose, transpose ? s->Kg : s->Og, transpose ? s->Og : s->Kg,
                         w + (size_t)g * s->Og * s->Kg, s->Kg);
    *cx = (ConvCtx){s, p, pw, pw_group, base, pos};
    return (float *)(pos + p->pos);
}

void conv2d_forward_cpu(float *y, const float *x, const float *w, const float *b, int N, int C, int H, int W, int O,
                        int KH, int KW, int stride, int pad, int groups) {
    ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0) return;
    if (groups == C && O == C) {
        depthwise_forward(y, x, w, b, &s);
        return;
    }
    ConvPlan p = conv_plan(&s, false, false, false, s.Og, s.Kg);
    ConvCtx cx;
    float *bufs = conv_setup(&cx, &s, &p, w, false);
#pragma omp parallel for schedule(dynamic, 1) num_threads(p.nt) if (p.nt > 1)
    for (int c = 0; c < p.chunks; c++) {
        int n0 = c * p.nb, nb = N - n0 < p.nb ? N - n0 : p.nb;
        forward_chunk(&cx, y, x, b, n0, nb, bufs + p.per_thread * omp_get_thread_num());
    }
}

void conv2d_backward_cpu(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                         int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups) {
    ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0) return;
    if (db) { /* db[o] += sum_{n, l} dy[n][o][l] */
#pragma omp parallel for schedule(static) if ((int64_t)N * O * s.L > 65536)
        for (int o = 0; o < O; o++) {
            double acc = 0;
            for (int n = 0; n < N; n++) {
                const float *d = dy + ((size_t)n * O + o) * s.L;
                float r = 0;
#pragma omp simd reduction(+ : r)
                for (int l = 0; l < s.L; l++) r += d[l];
                acc += r;
            }
            db[o] += (float)acc;
        }
    }
    if (!dx && !dw) return;
    if (groups == C && O == C) {
        depthwise_backward(dx, dw, dy, x, w, &s);
        return;
    }
    ConvPlan p = conv_plan(&s, true, dx != NULL, dw != NULL, dx ? s.Kg : 0, s.Og);
    ConvCtx cx;
    float *bufs = conv_setup(&cx, &s, &p, w, true);
    if (p.nt == 1) {
        for (int c = 0; c < p.chunks; c++) {
            int n0 = c * p.nb, nb = N - n0 < p.nb ? N - n0 : p.nb;
            backward_chunk(&cx, dx, dw, dy, x, n0, nb, bufs);
        }
        return;
    }
    size_t wn = (size_t)O * s.Kg;
#pragma omp parallel num_threads(p.nt)
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        float *buf = bufs + p.per_thread * tid;
        /* Thread 0 adds into dw itself, the others into private sums (the last buffer). */
        float *dw_acc = NULL;
        if (dw) {
            dw_acc = tid == 0 ? dw : buf + p.per_thread - p.dw;
            if (tid != 0) memset(dw_acc, 0, sizeof(float) * wn);
        }
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < p.chunks; c++) {
            int n0 = c * p.nb, nb = N - n0 < p.nb ? N - n0 : p.nb;
            backward_chunk(&cx, dx, dw_acc, dy, x, n0, nb, buf);
        }
        /* (the loop's implicit barrier: every private sum is complete) */
        if (dw) {
#pragma omp for schedule(static)
            for (size_t i = 0; i < wn; i++) {
                float acc = 0;
                for (int t = 1; t < nt; t++) acc += bufs[p.per_thread * (t + 1) - p.dw + i];
                dw[i] += acc;
            }
        }
    }
}
