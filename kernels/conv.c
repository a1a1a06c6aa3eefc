/* conv.c: 2-D convolution on the CPU: im2col + SGEMM, images shared between threads.
 *
 * Read kernels/ref/conv_ref.c first: it computes the same three sums
 * (forward, backward data, backward weight) as plain nested loops, one
 * output element at a time, and is what this file is tested against. This
 * one computes them as matrix products instead, so that the inner loop is
 * the GEMM's register-blocked micro-kernel: the sums are re-associated
 * (blocks of K, float accumulators, a per-thread dW summed at the end), so
 * the results agree with the reference to float rounding, not bit for bit.
 * Scratch (packed weights, tables, per-thread buffers, the GEMM's B panels)
 * is the caller's: conv2d_<forward|backward>_ws_cpu bytes.
 *
 * For group g (Cg = C/groups input and Og = O/groups output channels,
 * Kg = Cg*KH*KW, L = OH*OW) and a chunk of nb images side by side, with
 * col = im2col(x) (Kg, nb*L) (im2col_cpu at the end of this file gives the definition):
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
 * tables (pack_cols), so im2col and packing are one pass over an image that
 * is in cache, instead of writing and re-reading a column matrix nine times
 * larger. In the same way the GEMM hands each finished tile to a function:
 * for the forward pass it is written to y (N, O, OH, OW) with the bias
 * (store_out), for dX it is added into the padded dx (store_col2im), so dcol
 * is never stored either. The weights are packed once per call and shared
 * by every image and thread.
 *
 * Four refinements:
 *  - dW reads col transposed (positions down the K of the product). From
 *    NCHW that is a transposition per element; instead each chunk is copied
 *    once channels-last (xpt), where col's rows in (kh, kw, c) order are
 *    runs of channels: pack_cols_t copies 32 at a time. dW comes out with
 *    its columns in that order, and is put back in the final sum.
 *  - dX of a stride-1 layer with "same" padding, many channels and large
 *    images is itself a convolution (the transposed one, dx_as_conv): a
 *    GEMM with a long K whose tiles are whole output rows, instead of a
 *    short-K GEMM whose every tile is scattered back by col2im.
 *  - depthwise convolutions (groups == C == O: Gaussian blurs) are direct
 *    loops: a GEMM with one output row per group would waste the
 *    micro-kernel.
 *  - 3x3, stride-1, pad-1 layers with C, O >= 16 (VGG, ResNet) go, pass by
 *    pass, by Winograd F(2x2, 3x3) when conv_winograd_applies says so
 *    (kernels/conv_winograd.c: 2.25x fewer multiplies, the same GEMM;
 *    NX_CONV_WINOGRAD=0 keeps everything here, =<mask> forces it).
 *  - the forward pass and dW of a one-channel 5-wide layer (LeNet's conv1)
 *    are direct loops too (forward_k5, backward_dw_k5): its patches are too
 *    small to pack for a GEMM.
 *
 * Parallelism. A convolution's GEMMs are often small or skinny (LeNet's
 * conv1: Og = 20, Kg = 25, L = 576), so splitting one GEMM between threads
 * would cost more than it gains. Instead the threads take chunks of images
 * dynamically (a thread that the OS sets aside for a while, other programs
 * sharing the cores, hands its share over), each with its own buffers and,
 * for dW, its own accumulator, summed at the end; the GEMMs a thread calls
 * run on that thread alone (sgemm inside a parallel region). When the
 * images are small (VGG's 512-channel layers at 2x2), nb images go side by
 * side so that each GEMM has about TARGET_COLS columns. A batch too small to
 * share out (fewer images than threads) runs chunk by chunk with the
 * threaded GEMM, and its dX by col2im goes through an explicit column buffer
 * and col2im_cpu (two threads adding tiles into the same dx could collide).
 */
#include "kernels/conv.h"
#include "kernels/conv_winograd.h"
#include "kernels/gemm.h"

#include <omp.h>
#include <string.h>

/* 512-bit vectors for the gathers of pack_cols / pack_cols_t (see kernels/gemm.c) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

#define TARGET_COLS 256 /* GEMM columns per chunk, when the batch allows */
#define NX_CONV_MAX_THREADS 256
#define NR SGEMM_NR

/* ConvShape and conv_shape: kernels/conv.h (shared with conv.cu). */

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
    size_t baset, post; /* ints: the same for the channels-last copy (dW) */
    size_t pb;        /* floats: the GEMM's B panels, one per thread of the chunks (nt > 1) or of the threaded GEMM */
    /* per thread */
    size_t xp;        /* floats: padded images of a chunk (nb, Cg, Hp, Wp), pad > 0 only (forward) */
    size_t xpt;       /* floats: the same channels last (nb, Hp, Wp, Cg) (dW) */
    size_t dxp;       /* floats: their gradient, pad > 0 only */
    size_t tmp;       /* floats: dY of a chunk gathered (Og, nb*L), nb > 1 only */
    size_t pdy;       /* floats: that dY packed as the A of the dW product */
    size_t col;       /* floats: dcol (Kg, nb*L) for dX when the GEMM is threaded */
    size_t dw;        /* floats: private dW accumulator, columns in (kh, kw, c) order */
    size_t per_thread;
} ConvPlan;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; } /* 64-byte alignment */

/* pw_rows x pw_cols: one group's packed weights, (Og, Kg) forward, (Kg, Og) for dX, 0 x 0 for none. */
static ConvPlan conv_plan(const ConvShape *s, bool backward, bool want_dx, bool want_dw, int pw_rows, int pw_cols) {
    ConvPlan p = {0};
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt > s->N) nt = s->N;
    if (nt > NX_CONV_MAX_THREADS) nt = NX_CONV_MAX_THREADS;
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
    p.pb = sgemm_pack_b_floats(nt > 1 ? nt : (omp_in_parallel() ? 1 : omp_get_max_threads()));
    if (!backward) p.xp = s->pad ? round16(padded) : 0;
    if (backward) {
        p.baset = want_dw ? p.base : 0;
        p.post = want_dw ? p.pos : 0;
        p.xpt = want_dw ? round16(padded) : 0;
        p.dxp = want_dx && s->pad && !gemm_threaded ? round16(padded) : 0;
        p.tmp = nb > 1 ? round16((size_t)s->Og * cols) : 0;
        p.pdy = want_dw ? round16(sgemm_packed_a_floats(s->Og, (int)cols)) : 0;
        p.col = want_dx && gemm_threaded ? round16((size_t)s->Kg * cols) : 0;
        p.dw = want_dw ? round16((size_t)s->O * s->Kg) : 0;
    }
    p.per_thread = p.xp + p.xpt + p.dxp + p.tmp + p.pdy + p.col + p.dw;
    return p;
}

/* The im2col tables (see the top of the file); entries past the end are 0.
 * baset/post (when not NULL) index the channels-last copy xpt (nb, Hp, Wp, Cg),
 * with the rows of col in (kh, kw, c) order: r' = (kh*KW + kw)*Cg + c. */
static void fill_tables(const ConvShape *s, const ConvPlan *p, int *base, int *pos, int *baset, int *post) {
    NX_CHECK((double)p->nb * s->Cg * p->Hp * p->Wp < 2147483647.0 && (double)p->nb * p->img < 2147483647.0,
             "conv2d: %d images of %zu floats: too large for int offsets", p->nb, p->img);
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
    if (!baset) return;
    memset(baset, 0, p->base * sizeof(int));
    memset(post, 0, p->pos * sizeof(int));
    for (int r = 0; r < s->Kg; r++) {
        int c = r % s->Cg, kh = r / s->Cg / s->KW, kw = r / s->Cg % s->KW;
        baset[r] = (kh * p->Wp + kw) * s->Cg + c;
    }
    for (int q = 0; q < p->nb * s->L; q++) {
        int i = q / s->L, oh = q % s->L / s->OW, ow = q % s->OW;
        post[q] = i * s->Cg * p->Hp * p->Wp + (oh * p->Wp + ow) * s->stride * s->Cg;
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

/* xpt (nb, Hp, Wp, Cg) = x (nb images C*H*W apart, Cg channels each), channels last, zero border */
static void pad_images_nhwc(float *xpt, const float *x, int nb, const ConvShape *s, const ConvPlan *p) {
    size_t row = (size_t)p->Wp * s->Cg;
    for (int i = 0; i < nb; i++) {
        float *dst = xpt + (size_t)i * p->Hp * row;
        memset(dst, 0, sizeof(float) * (size_t)s->pad * row);
        for (int h = 0; h < s->H; h++) {
            float *d = dst + (size_t)(h + s->pad) * row;
            memset(d, 0, sizeof(float) * (size_t)s->pad * s->Cg);
            memset(d + (size_t)(s->pad + s->W) * s->Cg, 0, sizeof(float) * (size_t)s->pad * s->Cg);
            const float *src = x + ((size_t)i * s->C * s->H + h) * s->W; /* channel c of this row at src[c*H*W] */
            for (int w = 0; w < s->W; w++)
                for (int c = 0; c < s->Cg; c++) d[(size_t)(w + s->pad) * s->Cg + c] = src[(size_t)c * s->H * s->W + w];
        }
        memset(dst + (size_t)(s->pad + s->H) * row, 0, sizeof(float) * (size_t)s->pad * row);
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
    int stride;
} ColSrc;

/* Runs of pos[0 .. n) that step by `step` (the stride: the positions of one
 * output row): start[0] = 0 < start[1] < ... < start[runs] = n. */
static int offset_runs(const int *pos, int n, int step, int *start) {
    int runs = 0;
    for (int cc = 0; cc < n; cc++)
        if (cc == 0 || pos[cc] != pos[cc - 1] + step) start[runs++] = cc;
    start[runs] = n;
    return runs;
}

/* Forward: dst[k][cc] = col[p + k][j + cc]. The sliver's positions are a few
 * runs, one per output row: copies (strided when stride > 1); when the
 * output rows are short, a gather. The copies are inline, 8 floats at a
 * time: GCC would otherwise call memmove for each run, which costs more than
 * the copy for LeNet's rows of 8 and 24. */
static void pack_cols(const void *ctx, float *restrict dst, int p, int j, int kc, int nr) {
    const ColSrc *cs = ctx;
    const float *restrict xp = cs->xp;
    const int *restrict pos = cs->pos + j;
    int st = cs->stride, start[NR + 1], runs = offset_runs(pos, nr, st, start);
    if (runs == 1 && nr == NR && st == 1) { /* one run of 32 */
        for (int k = 0; k < kc; k++) memcpy(dst + (size_t)k * NR, xp + cs->base[p + k] + pos[0], sizeof(float) * NR);
    } else if (runs <= 4) {
        for (int k = 0; k < kc; k++) {
            const float *xb = xp + cs->base[p + k];
            float *restrict d = dst + (size_t)k * NR;
            for (int u = 0; u < runs; u++) {
                const float *restrict src = xb + pos[start[u]];
                int len = start[u + 1] - start[u];
                if (st == 1) { /* 8 floats at a time (one 256-bit copy), then the rest */
                    int v = 0;
                    for (; v + 8 <= len; v += 8)
                        for (int t = 0; t < 8; t++) d[start[u] + v + t] = src[v + t];
                    for (; v < len; v++) d[start[u] + v] = src[v];
                } else {
                    for (int v = 0; v < len; v++) d[start[u] + v] = src[v * st];
                }
            }
        }
    } else if (nr == NR) { /* a gather (int indices: GCC vectorises it) */
        for (int k = 0; k < kc; k++) {
            int off = cs->base[p + k];
            for (int cc = 0; cc < NR; cc++) dst[k * NR + cc] = xp[off + pos[cc]];
        }
    } else { /* the last sliver: no reading past the chunk's last image */
        for (int k = 0; k < kc; k++) {
            int off = cs->base[p + k];
            for (int cc = 0; cc < nr; cc++) dst[k * NR + cc] = xp[off + pos[cc]];
        }
    }
    if (nr < NR)
        for (int k = 0; k < kc; k++)
            for (int cc = nr; cc < NR; cc++) dst[k * NR + cc] = 0;
}

/* dW: dst[k][cc] = col'[j + cc][p + k], col' = col with its rows in (kh, kw, c) order, read from
 * the channels-last copy: positions down, rows across, and for a given
 * position a sliver's rows are mostly one run of channels. */
static void pack_cols_t(const void *ctx, float *restrict dst, int p, int j, int kc, int nr) {
    const ColSrc *cs = ctx;
    const float *restrict xp = cs->xp;
    const int *restrict base = cs->base + j; /* the table runs to a multiple of NR: entries past Kg read xp[pos] */
    if (nr == NR && base[NR - 1] - base[0] == NR - 1) { /* one run of 32 channels */
        for (int k = 0; k < kc; k++) memcpy(dst + (size_t)k * NR, xp + cs->pos[p + k] + base[0], sizeof(float) * NR);
        return;
    }
    for (int k = 0; k < kc; k++) {
        int off = cs->pos[p + k];
        for (int cc = 0; cc < NR; cc++) dst[k * NR + cc] = xp[off + base[cc]];
        for (int cc = nr; cc < NR; cc++) dst[k * NR + cc] = 0;
    }
}

/* Forward tiles: Y[o][q] into y (nb, O, L): on the first K slice y = Y + b[o]
 * (or y += Y when adding into an existing y), later slices add. */
typedef struct {
    const ConvShape *s;
    float *y;       /* first image of the chunk, first channel of the group */
    const float *b; /* the group's bias, or NULL */
    bool add;       /* y += conv instead of y = conv + b */
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
            if (first && !od->add) {
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
    int stride;
} ColDst;

static void store_col2im(void *ctx, const float *tile, int i, int j, int mr, int nr, bool first) {
    (void)first; /* every K slice adds */
    ColDst *cd = ctx;
    const int *pos = cd->pos + j;
    int st = cd->stride, start[NR + 1], runs = offset_runs(pos, nr, st, start);
    for (int ii = 0; ii < mr; ii++) {
        float *db = cd->dxp + cd->base[i + ii];
        const float *t = tile + ii * NR;
        if (runs > 8) { /* short output rows: scattered */
            for (int cc = 0; cc < nr; cc++) db[pos[cc]] += t[cc];
            continue;
        }
        for (int u = 0; u < runs; u++) {
            float *d = db + pos[start[u]];
            const float *tu = t + start[u];
            int len = start[u + 1] - start[u];
            if (st == 1)
                for (int v = 0; v < len; v++) d[v] += tu[v];
            else
                for (int v = 0; v < len; v++) d[v * st] += tu[v];
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
    const int *base, *pos, *baset, *post;
    float *pb; /* the GEMM's B panels (ConvPlan.pb) */
} ConvCtx;

/* y[n0 .. n0+nb) = conv(x, w) + b, or += conv(x, w) when add */
static void forward_chunk(const ConvCtx *cx, float *y, const float *x, const float *b, bool add, int n0, int nb,
                          float *buf, float *pb) {
    const ConvShape *s = cx->s;
    size_t HW = (size_t)s->H * s->W;
    for (int g = 0; g < s->groups; g++) {
        const float *xg = x + ((size_t)n0 * s->C + (size_t)g * s->Cg) * HW;
        if (s->pad) pad_images(buf, xg, nb, s, cx->p);
        ColSrc src = {s->pad ? buf : xg, cx->base, cx->pos, s->stride};
        OutDst dst = {s, y + ((size_t)n0 * s->O + (size_t)g * s->Og) * s->L, b ? b + (size_t)g * s->Og : NULL, add};
        sgemm_packed_cpu(s->Og, nb * s->L, s->Kg, 1.0f, cx->pw + cx->pw_group * g,
                         (SgemmB){.pack = pack_cols, .ctx = &src}, (SgemmC){.store = store_out, .ctx = &dst}, pb);
    }
}

/* dx[n0 .. n0+nb) += ..., dw_acc = dw_beta * dw_acc + ... (either may be NULL) */
static void backward_chunk(const ConvCtx *cx, float *dx, float *dw_acc, float dw_beta, const float *dy,
                           const float *x, int n0, int nb, float *buf, float *pb) {
    const ConvShape *s = cx->s;
    const ConvPlan *p = cx->p;
    int L = s->L, ld = nb * L;
    size_t HW = (size_t)s->H * s->W;
    float *xpt = buf + p->xp, *dxp = xpt + p->xpt, *tmp = dxp + p->dxp, *pdy = tmp + p->tmp, *col = pdy + p->pdy;
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
        if (dw_acc) { /* dW'_g += dY col'^T, columns in (kh, kw, c) order */
            pad_images_nhwc(xpt, x + at, nb, s, p);
            ColSrc src = {xpt, cx->baset, cx->post, 1};
            sgemm_pack_a_cpu(pdy, false, s->Og, ld, dyg, lddy);
            sgemm_packed_cpu(s->Og, s->Kg, ld, 1.0f, pdy, (SgemmB){.pack = pack_cols_t, .ctx = &src},
                             (SgemmC){.C = dw_acc + (size_t)g * s->Og * s->Kg, .ldc = s->Kg, .beta = dw_beta}, pb);
        }
        if (!dx) continue;
        const float *wtg = cx->pw + cx->pw_group * g;
        if (p->col) { /* threaded GEMM: dcol stored, then col2im */
            sgemm_packed_cpu(s->Kg, ld, s->Og, 1.0f, wtg, (SgemmB){.B = dyg, .ldb = lddy},
                             (SgemmC){.C = col, .ldc = ld, .beta = 0.0f}, pb);
            for (int i = 0; i < nb; i++)
                col2im_cpu(dx + at + (size_t)i * s->C * HW, col + (size_t)i * L, s->Cg, s->H, s->W, s->KH, s->KW,
                           s->stride, s->pad, ld);
        } else { /* dcol = W_g^T dY, added into (padded) dx tile by tile */
            if (s->pad) memset(dxp, 0, sizeof(float) * (size_t)nb * s->Cg * p->Hp * p->Wp);
            ColDst dst = {s->pad ? dxp : dx + at, cx->base, cx->pos, s->stride};
            sgemm_packed_cpu(s->Kg, ld, s->Og, 1.0f, wtg, (SgemmB){.B = dyg, .ldb = lddy},
                             (SgemmC){.store = store_col2im, .ctx = &dst, .serial_store = true}, pb);
            if (s->pad) unpad_add(dx + at, dxp, nb, s, p);
        }
    }
}

/* db[o] += sum over n, l of dy[n][o][l]: the threads of the enclosing
 * parallel region share the channels (no barrier at the end); alone outside one. */
static void bias_grad(float *db, const float *dy, const ConvShape *s) {
#pragma omp for schedule(static) nowait
    for (int o = 0; o < s->O; o++) {
        double acc = 0;
        for (int n = 0; n < s->N; n++) {
            const float *d = dy + ((size_t)n * s->O + o) * s->L;
            float r = 0;
#pragma omp simd reduction(+ : r)
            for (int l = 0; l < s->L; l++) r += d[l];
            acc += r;
        }
        db[o] += (float)acc;
    }
}

/* ---- the kernels --------------------------------------------------------- */

/* Workspace: shared packed weights, tables and GEMM panels, then per-thread buffers. */
static size_t conv_ws_floats(const ConvPlan *p) {
    return p->pw + 2 * (p->base + p->pos) + p->pb + p->per_thread * p->nt;
}

static float *conv_setup(ConvCtx *cx, const ConvShape *s, const ConvPlan *p, const float *w, bool transpose,
                         float *ws) {
    float *pw = ws;
    int *base = (int *)(ws + p->pw), *pos = base + p->base, *baset = pos + p->pos, *post = baset + p->baset;
    fill_tables(s, p, base, pos, p->baset ? baset : NULL, post);
    size_t pw_group = p->pw / s->groups;
    for (int g = 0; g < s->groups && p->pw; g++) /* packed once, shared by every image and thread */
        sgemm_pack_a_cpu(pw + pw_group * g, transpose, transpose ? s->Kg : s->Og, transpose ? s->Og : s->Kg,
                         w + (size_t)g * s->Og * s->Kg, s->Kg);
    float *pb = (float *)(post + p->post);
    *cx = (ConvCtx){s, p, pw, pw_group, base, pos, baset, post, pb};
    return pb + p->pb;
}

/* y = conv(x, w) + b (or y += conv(x, w) when add), ws: conv_ws_floats(p) floats */
static void forward_pass(const ConvShape *s, const ConvPlan *p, float *y, const float *x, const float *w,
                         const float *b, bool add, float *ws) {
    ConvCtx cx;
    float *bufs = conv_setup(&cx, s, p, w, false, ws);
#pragma omp parallel for schedule(dynamic, 1) num_threads(p->nt) if (p->nt > 1)
    for (int c = 0; c < p->chunks; c++) {
        int n0 = c * p->nb, nb = s->N - n0 < p->nb ? s->N - n0 : p->nb;
        int tid = omp_get_thread_num();
        forward_chunk(&cx, y, x, b, add, n0, nb, bufs + p->per_thread * tid,
                      cx.pb + (p->nt > 1 ? SGEMM_PACK_B_FLOATS * tid : 0));
    }
}

static bool is_depthwise(const ConvShape *s) { return s->groups == s->C && s->O == s->C; }

size_t conv2d_forward_ws_cpu(int N, int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups) {
    ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0 || is_depthwise(&s)) return 0;
    if (conv_winograd_applies(&s, CONV_WINOGRAD_FWD)) return sizeof(float) * conv_winograd_forward_ws_floats(&s);
    ConvPlan p = conv_plan(&s, false, false, false, s.Og, s.Kg);
    return sizeof(float) * conv_ws_floats(&p);
}

/* dW of a one-channel 5-wide convolution (LeNet's conv1: C = 1, k5, stride 1,
 * no padding) by direct loops. The GEMM route would pack a 25-float patch
 * per output position (a gather) for a product only 20 x 25 large; instead,
 * for two output channels o, o+1 and 16 output columns at a time,
 *   acc[b][kw] (16 lanes) += dy[n][o+b][oh][ow..ow+16) * x[n][oh+kh][ow+kw..ow+kw+16)
 * over all images and output rows, in registers (10 accumulators, 7 loads
 * per 10 fused multiply-adds), then each lane sum is added into
 * dw[o+b][kh][kw]. A task is a pair of channels (no two tasks write the
 * same dw), its sums run in a fixed order: the result does not depend on
 * the threads. AVX-512 only; elsewhere the GEMM route runs. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define DW5_MAX_CHUNKS 4 /* OW <= 64 */
#define DW5_MAX_KH 8

static bool direct_k5(const ConvShape *s) {
    return s->C == 1 && s->groups == 1 && s->stride == 1 && s->pad == 0 && s->KW == 5 && s->KH <= DW5_MAX_KH &&
           s->OW <= 16 * DW5_MAX_CHUNKS;
}

/* dw[o .. o+nob) += the sums above; nob is 1 or 2 (a literal at each call). */
static inline __attribute__((always_inline)) void dw_k5_pair(float *dw, const float *dy, const float *x,
                                                              const ConvShape *s, int o, int nob) {
    enum { KW = 5 };
    int chunks = (s->OW + 15) / 16, KH = s->KH;
    __m512 accm[DW5_MAX_CHUNKS][DW5_MAX_KH][2][KW];
    for (int c = 0; c < chunks; c++)
        for (int kh = 0; kh < KH; kh++)
            for (int b = 0; b < 2; b++)
                for (int kw = 0; kw < KW; kw++) accm[c][kh][b][kw] = _mm512_setzero_ps();
    for (int n = 0; n < s->N; n++) {
        const float *xn = x + (size_t)n * s->H * s->W;
        const float *dy0 = dy + ((size_t)n * s->O + o) * s->L, *dy1 = dy0 + s->L;
        for (int c = 0; c < chunks; c++) {
            int c0 = 16 * c, len = s->OW - c0 < 16 ? s->OW - c0 : 16;
            __mmask16 m = (__mmask16)((1u << len) - 1);
            for (int kh = 0; kh < KH; kh++) {
                __m512 a0[KW], a1[KW];
                for (int kw = 0; kw < KW; kw++) a0[kw] = accm[c][kh][0][kw], a1[kw] = accm[c][kh][1][kw];
                for (int oh = 0; oh < s->OH; oh++) {
                    const float *xr = xn + (size_t)(oh + kh) * s->W + c0;
                    __m512 d0 = _mm512_maskz_loadu_ps(m, dy0 + (size_t)oh * s->OW + c0);
                    __m512 d1 = nob == 2 ? _mm512_maskz_loadu_ps(m, dy1 + (size_t)oh * s->OW + c0) : d0;
                    for (int kw = 0; kw < KW; kw++) {
                        __m512 xv = _mm512_maskz_loadu_ps(m, xr + kw);
                        a0[kw] = _mm512_fmadd_ps(d0, xv, a0[kw]);
                        if (nob == 2) a1[kw] = _mm512_fmadd_ps(d1, xv, a1[kw]);
                    }
                }
                for (int kw = 0; kw < KW; kw++) accm[c][kh][0][kw] = a0[kw], accm[c][kh][1][kw] = a1[kw];
            }
        }
    }
    for (int b = 0; b < nob; b++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                float sum = 0;
                for (int c = 0; c < chunks; c++) sum += _mm512_reduce_add_ps(accm[c][kh][b][kw]);
                dw[((size_t)(o + b) * KH + kh) * KW + kw] += sum;
            }
}

/* y of the same layers by direct loops too: for 10 output channels and 16
 * output columns of one row at a time, acc[b] += w[o+b][kh][kw] *
 * x[n][oh+kh][ow+kw..ow+kw+16) over (kh, kw) in order, then y = acc + b[o].
 * One image per iteration of the parallel loop; every output is one sum in a
 * fixed order. */
static inline __attribute__((always_inline)) void fwd_k5_block(float *y, const float *xn, const float *wt,
                                                                const float *b, const ConvShape *s, int n, int o0,
                                                                int nob) {
    enum { KW = 5, OB = 10 };
    for (int oh = 0; oh < s->OH; oh++)
        for (int c0 = 0; c0 < s->OW; c0 += 16) {
            int len = s->OW - c0 < 16 ? s->OW - c0 : 16;
            __mmask16 m = (__mmask16)((1u << len) - 1);
            __m512 acc[OB];
            for (int q = 0; q < OB; q++) acc[q] = _mm512_setzero_ps();
            for (int kh = 0; kh < s->KH; kh++) {
                const float *xr = xn + (size_t)(oh + kh) * s->W + c0;
                for (int kw = 0; kw < KW; kw++) {
                    __m512 xv = _mm512_maskz_loadu_ps(m, xr + kw);
                    const float *wk = wt + (size_t)(kh * KW + kw) * s->O + o0;
                    for (int q = 0; q < nob; q++) acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(wk[q]), xv, acc[q]);
                }
            }
            for (int q = 0; q < nob; q++) {
                __m512 v = b ? _mm512_add_ps(acc[q], _mm512_set1_ps(b[o0 + q])) : acc[q];
                _mm512_mask_storeu_ps(y + (((size_t)n * s->O + o0 + q) * s->OH + oh) * s->OW + c0, m, v);
            }
        }
}

#define FWD5_MAX_O 64

static void forward_k5(float *y, const float *x, const float *w, const float *b, const ConvShape *s) {
    float wt[DW5_MAX_KH * 5 * FWD5_MAX_O]; /* wt[(kh*5 + kw)*O + o] = w[o][0][kh][kw]: one row per tap */
    for (int o = 0; o < s->O; o++)
        for (int k = 0; k < s->KH * 5; k++) wt[(size_t)k * s->O + o] = w[(size_t)o * s->KH * 5 + k];
#pragma omp parallel for schedule(static) if (s->N > 1 && !omp_in_parallel())
    for (int n = 0; n < s->N; n++) {
        const float *xn = x + (size_t)n * s->H * s->W;
        int o0 = 0;
        for (; o0 + 10 <= s->O; o0 += 10) fwd_k5_block(y, xn, wt, b, s, n, o0, 10);
        if (o0 < s->O) fwd_k5_block(y, xn, wt, b, s, n, o0, s->O - o0);
    }
}

static void backward_dw_k5(float *dw, const float *dy, const float *x, const ConvShape *s) {
    int pairs = (s->O + 1) / 2;
#pragma omp parallel for schedule(dynamic, 1) if (pairs > 1 && !omp_in_parallel())
    for (int t = 0; t < pairs; t++) {
        if (2 * t + 1 < s->O) dw_k5_pair(dw, dy, x, s, 2 * t, 2);
        else dw_k5_pair(dw, dy, x, s, 2 * t, 1);
    }
}
#else
static bool direct_k5(const ConvShape *s) {
    (void)s;
    return false;
}
#define FWD5_MAX_O 0
static void forward_k5(float *y, const float *x, const float *w, const float *b, const ConvShape *s) {
    (void)y, (void)x, (void)w, (void)b, (void)s;
}
static void backward_dw_k5(float *dw, const float *dy, const float *x, const ConvShape *s) {
    (void)dw, (void)dy, (void)x, (void)s;
}
#endif

void conv2d_forward_cpu(float *y, const float *x, const float *w, const float *b, int N, int C, int H, int W, int O,
                        int KH, int KW, int stride, int pad, int groups, void *ws) {
    ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0) return;
    if (is_depthwise(&s)) {
        depthwise_forward(y, x, w, b, &s);
        return;
    }
    if (direct_k5(&s) && s.O <= FWD5_MAX_O) {
        forward_k5(y, x, w, b, &s);
        return;
    }
    NX_CHECK(ws, "conv2d_forward_cpu: no workspace (conv2d_forward_ws_cpu bytes)");
    if (conv_winograd_applies(&s, CONV_WINOGRAD_FWD)) {
        conv_winograd_forward(y, x, w, b, &s, ws);
        return;
    }
    ConvPlan p = conv_plan(&s, false, false, false, s.Og, s.Kg);
    forward_pass(&s, &p, y, x, w, b, false, ws);
}

/* dX of a stride-1 convolution is itself a convolution (the transposed one):
 *   dx += conv(dy, W', pad' = K - 1 - pad),  W'[g*Cg + c][o][kh][kw] = W[g*Og + o][c][K-1-kh][K-1-kw]
 * an im2col + GEMM like the forward pass, with a long K (Og*KH*KW) and
 * whole output rows to add into dx, instead of a GEMM over a short K (Og)
 * whose every tile is scattered back by col2im. */
/* Worth it when the new GEMM is tall (Cg rows, Cg >= 32, over which the
 * im2col of dy is spread), dy padded by K - 1 - pad is no larger than x
 * ("same" padding), and the images are large (col2im's cost grows with the
 * image, the one-off cost of W' with the weights: ResNet's 56x56 layer
 * gains, its 7x7 layer loses). LeNet's conv2 (Cg = 20, k5, no padding)
 * does better by col2im. */
static bool dx_as_conv(const ConvShape *s) {
    return s->stride == 1 && s->KH == s->KW && s->pad <= s->KH - 1 && 2 * s->pad >= s->KH - 1 && s->Cg >= 32 &&
           s->L >= 512;
}

/* The transposed convolution's shape and plan; floats of scratch: the plan's and W'. */
static size_t dx_as_conv_plan(const ConvShape *s, ConvShape *t, ConvPlan *p) {
    *t = conv_shape(s->N, s->O, s->OH, s->OW, s->C, s->KH, s->KW, 1, s->KH - 1 - s->pad, s->groups);
    NX_CHECK(t->OH == s->H && t->OW == s->W, "conv2d: transposed shape %dx%d, expected %dx%d", t->OH, t->OW, s->H,
             s->W);
    *p = conv_plan(t, false, false, false, t->Og, t->Kg);
    return conv_ws_floats(p) + (size_t)s->C * s->Og * s->KH * s->KW;
}

static void backward_dx_as_conv(const ConvShape *s, float *dx, const float *dy, const float *w, float *ws) {
    ConvShape t;
    ConvPlan p;
    dx_as_conv_plan(s, &t, &p);
    int KK = s->KH * s->KW;
    float *wt = ws + conv_ws_floats(&p); /* W' (C, Og, KH, KW), after what forward_pass uses */
    for (int g = 0; g < s->groups; g++)
        for (int c = 0; c < s->Cg; c++)
            for (int o = 0; o < s->Og; o++)
                for (int k = 0; k < KK; k++)
                    wt[(((size_t)g * s->Cg + c) * s->Og + o) * KK + k] =
                        w[(((size_t)g * s->Og + o) * s->Cg + c) * KK + (KK - 1 - k)];
    forward_pass(&t, &p, dx, dy, wt, NULL, true, ws);
}

/* Floats of scratch of the backward pass: dX as a transposed convolution
 * (when it is one), then the im2col + GEMM pass for what remains; the two
 * run one after the other and share the workspace. */
static size_t backward_ws_floats(const ConvShape *s, bool want_dx, bool want_dw) {
    if (s->N == 0 || is_depthwise(s)) return 0;
    size_t a = 0, b = 0;
    bool wdx = want_dx && conv_winograd_applies(s, CONV_WINOGRAD_DX);
    bool wdw = want_dw && conv_winograd_applies(s, CONV_WINOGRAD_DW);
    if (wdx || wdw) {
        a = conv_winograd_backward_ws_floats(s, wdx, wdw);
        want_dx = want_dx && !wdx;
        want_dw = want_dw && !wdw;
    }
    if (want_dx && dx_as_conv(s)) {
        ConvShape t;
        ConvPlan p;
        size_t c = dx_as_conv_plan(s, &t, &p);
        if (c > a) a = c;
        want_dx = false;
    }
    if (want_dx || want_dw) {
        ConvPlan p = conv_plan(s, true, want_dx, want_dw, want_dx ? s->Kg : 0, s->Og);
        b = conv_ws_floats(&p);
    }
    return a > b ? a : b;
}

size_t conv2d_backward_ws_cpu(bool want_dx, bool want_dw, int N, int C, int H, int W, int O, int KH, int KW, int stride,
                              int pad, int groups) {
    ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    return sizeof(float) * backward_ws_floats(&s, want_dx, want_dw);
}

void conv2d_backward_cpu(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                         int C, int H, int W, int O, int KH, int KW, int stride, int pad, int groups, void *ws) {
    ConvShape s = conv_shape(N, C, H, W, O, KH, KW, stride, pad, groups);
    if (N == 0) return;
    bool db_big = (int64_t)N * O * s.L > 65536;
    NX_CHECK(ws || backward_ws_floats(&s, dx != NULL, dw != NULL) == 0,
             "conv2d_backward_cpu: no workspace (conv2d_backward_ws_cpu bytes)");
    if (is_depthwise(&s)) {
        if (db) {
#pragma omp parallel if (db_big)
            bias_grad(db, dy, &s);
        }
        if (dx || dw) depthwise_backward(dx, dw, dy, x, w, &s);
        return;
    }
    bool wdx = dx && conv_winograd_applies(&s, CONV_WINOGRAD_DX), wdw = dw && conv_winograd_applies(&s, CONV_WINOGRAD_DW);
    if (wdx || wdw) {
        conv_winograd_backward(wdx ? dx : NULL, wdw ? dw : NULL, dy, x, w, &s, ws);
        if (wdx) dx = NULL; /* done */
        if (wdw) dw = NULL;
    }
    if (dx && dx_as_conv(&s)) {
        backward_dx_as_conv(&s, dx, dy, w, ws);
        dx = NULL; /* done */
    }
    if (dw && direct_k5(&s)) {
        backward_dw_k5(dw, dy, x, &s);
        dw = NULL; /* done */
    }
    if (!dx && !dw) {
        if (db) {
#pragma omp parallel if (db_big)
            bias_grad(db, dy, &s);
        }
        return;
    }
    ConvPlan p = conv_plan(&s, true, dx != NULL, dw != NULL, dx ? s.Kg : 0, s.Og);
    ConvCtx cx;
    float *bufs = conv_setup(&cx, &s, &p, w, true, ws);
    int KK = KH * KW;
    unsigned char used[NX_CONV_MAX_THREADS] = {0}; /* which threads' dW' hold a sum */
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
    {
        int tid = omp_get_thread_num();
        float *buf = bufs + p.per_thread * tid;
        float *dw_acc = dw ? buf + p.per_thread - p.dw : NULL; /* this thread's dW', (kh, kw, c) order */
        if (db) bias_grad(db, dy, &s); /* in the same parallel region: one synchronisation fewer */
#pragma omp for schedule(static, 1) /* fixed image-to-thread map: the dW sums repeat exactly */
        for (int c = 0; c < p.chunks; c++) {
            int n0 = c * p.nb, nb = N - n0 < p.nb ? N - n0 : p.nb;
            backward_chunk(&cx, dx, dw_acc, used[tid] ? 1.0f : 0.0f, dy, x, n0, nb, buf,
                           cx.pb + (p.nt > 1 ? SGEMM_PACK_B_FLOATS * tid : 0)); /* the first one sets */
            used[tid] = 1;
        }
        /* (the loop's implicit barrier: every thread's dW' is complete) */
        if (dw) {
            int nt = omp_get_num_threads();
#pragma omp for schedule(dynamic, 8)
            for (int o = 0; o < O; o++) /* dw[o][(c*KH + kh)*KW + kw] += sum over threads of dW'[o][(kh*KW + kw)*Cg + c] */
                for (int kk = 0; kk < KK; kk++)
                    for (int c = 0; c < s.Cg; c++) {
                        size_t rt = (size_t)o * s.Kg + (size_t)kk * s.Cg + c;
                        float acc = 0;
                        for (int t = 0; t < nt; t++)
                            if (used[t]) acc += bufs[p.per_thread * (t + 1) - p.dw + rt];
                        dw[(size_t)o * s.Kg + (size_t)c * KK + kk] += acc;
                    }
        }
    }
}

/* ---- im2col, col2im -------------------------------------------------------
unfold an image into the columns a convolution multiplies by its
 * weights, and the adjoint (col2im) that folds column gradients back.
 *
 *   col[(c*KH + kh)*KW + kw][oh*OW + ow] = x[c][ih][iw],
 *       ih = oh*stride - pad + kh,  iw = ow*stride - pad + kw   (0 outside x)
 *
 * For one row (c, kh, kw) and one output row oh, the valid ow form one
 * range [lo, hi): ow*stride - pad + kw in [0, W). Outside it the column is
 * zero padding; inside it, with stride 1, the copy is contiguous.
 */

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
