/* conv_winograd.c: 3x3, stride-1, pad-1 convolutions by Winograd F(2x2, 3x3).
 *
 * The same three sums as kernels/ref/conv_ref.c (forward, dX, dW; groups 1,
 * OH = H, OW = W), with 16 multiplies per 2x2 output tile and channel pair
 * instead of 36. In 1-D, F(2, 3) computes two outputs of a 3-tap filter g
 * from four inputs d as y = A^T [(G g) .* (B^T d)] with
 *
 *         | 1  0 -1  0 |          | 1    0    0   |
 *   B^T = | 0  1  1  0 |      G = | 1/2  1/2  1/2 |      A^T = | 1  1  1  0 |
 *         | 0 -1  1  0 |          | 1/2 -1/2  1/2 |            | 0  1 -1 -1 |
 *         | 0  1  0 -1 |          | 0    0    1   |
 *
 * and the 2-D version nests it along both axes. Output tile (th, tw) covers
 * y rows 2th, 2th+1 and columns 2tw, 2tw+1 and reads the 4x4 input tile d
 * at rows 2th-1 .. 2th+2, columns 2tw-1 .. 2tw+2 (zero outside the image:
 * the padding). With TH = ceil(H/2), TW = ceil(W/2) tiles per image and the
 * T = N*TH*TW tiles of the batch numbered t = (n*TH + th)*TW + tw:
 *
 *   U[xi][o][c] = (G w[o][c] G^T)[xi]          (xi = 4i + j: 16 of them, (O, C) each)
 *   V[xi][c][t] = (B^T d[c][t] B)[xi]           ((C, T) each)
 *   M_xi (O, T) = U_xi (O, C) V_xi (C, T)       16 independent GEMMs
 *   y[o][tile t] = A^T M[.][o][t] A (+ b[o])    (4x4 -> 2x2; outputs past H or W, when H or W is odd, dropped)
 *
 * dX is the same convolution applied to dy with the weights turned 180
 * degrees and the channel roles swapped, W'[c][o][kh][kw] = w[o][c][2-kh][2-kw]
 * (pad 1 again), added into dx. dW is the adjoint of the forward pass with
 * respect to U, then of U = G w G^T: with the 2x2 output-gradient tile g of
 * tile t (0 past H or W) and the 4x4 M'[.][o][t] = A g A^T, where
 *
 *       | 1  0 |
 *   A = | 1  1 |
 *       | 1 -1 |
 *       | 0 -1 |
 *
 *   dU_xi (O, C) = sum over t of M'_xi (O, T) V_xi (C, T)^T      16 GEMMs, K = tiles
 *   dw[o][c] += G^T dU[.][o][c] G                                 (4x4 -> 3x3)
 *
 * Layout. Each GEMM wants its operand's rows contiguous, so the transforms
 * scatter: one tile's 16 values go to 16 matrices, at the same (row, column)
 * of each; tiles of all images sit side by side as columns (tile t of the
 * batch is column t), so that small images (VGG's 4x4 layers have 4 tiles
 * each) still make wide GEMMs. The transforms walk a tile row at a time
 * (the 4 input rows of a run of tiles, combined by B^T along whole rows,
 * split into even and odd columns, then by B: unit strides throughout).
 * The 16 planes of V, M and U are each padded by a cache line: planes a
 * multiple of 4 KiB apart would put the 16 streams a transform writes on
 * the same cache sets.
 *
 * Parallelism, as in kernels/conv.c: the batch's tiles are cut into chunks
 * of tc (V and M of a chunk, 16 tc (C + O) floats, stay near one core), and
 * each chunk is one thread's: input transform, its 16 GEMMs (each on that
 * thread, kernels/gemm.c's packed product), output transform. The forward
 * pass and dX hand the chunks out dynamically (every output element is
 * written by the one chunk that holds its tile: the result does not depend
 * on which thread ran it). The weights are transformed once per call
 * straight into the GEMM's packed layout, 12 rows (one sliver) at a time,
 * shared out dynamically too and waited for with a counter rather than a
 * barrier (a thread that wakes late is not waited for). dW gives thread i
 * the chunks i, i + nt, ... (a fixed map), each thread adds its chunks'
 * products into its own dU in chunk order, and dU is summed over the
 * threads in thread order at the end: the same sums for the same thread
 * count, run after run.
 *
 * Rounding. The matrices hold 0, +-1, +-1/2; the transforms are two adds
 * (B^T), up to two adds and an exact halving (G) or two adds (A^T, A) per
 * axis. With u = 2^-24 and, per output element, the magnitude
 *   Mag = sum over c of A^T [ (|G| |w[o][c]| |G|^T) .* (|B^T| |d[c]| |B|) ] A
 *       <= 4 sum over c of (sum of the 9 |w[o][c]|) (sum of the 16 |d[c]| of the tile)
 * (every product |w_a| |d_b| appears with a weight of at most 2 per axis),
 * the forward result is within (C + 11) u Mag of the exact sum (first order;
 * the GEMM's blocked sum over C contributes the C), dX likewise with O, and
 * dW within (T + 11) u Mag' with the tiles T in place of the channels. The
 * direct sum's bound is 9C u sum |w||x|: the same order for inputs without
 * large cancellation, which is what the tests (tolerance 1e-4 of sum
 * |w||x|) and the gradient checks see. (F(4x4, 3x3) would save more
 * multiplies, but its matrices hold 1/4, 1/6, 1/24 and its bound is about
 * ten times larger.)
 */
#include "kernels/conv_winograd.h"
#include "kernels/gemm.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

/* Chunk sizes: V + M of a chunk at most this many floats, and at least this
 * many chunks per thread (forward and dX; dW, whose GEMMs sum over the
 * chunk's tiles, wants longer ones). */
#define WINO_CHUNK_FLOATS (1 << 18) /* 1 MiB: in L2 */
#define WINO_CHUNKS_PER_THREAD 8
#define WINO_DW_CHUNK_FLOATS (1 << 20)
#define WINO_DW_CHUNKS_PER_THREAD 2
#define WINO_MAX_THREADS 256

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Where Winograd was the faster (bench/bench_ops --clock cpu, 2 threads,
 * Sapphire Rapids; the numbers: bench/results/conv-winograd.md):
 *  - forward: all the VGG11 and ResNet18 3x3 layers but ResNet's 64 -> 64
 *    at 56x56 (K = 64 GEMMs, and the transforms' traffic per multiply at
 *    its highest): C + O >= 192;
 *  - dX: 128 channels or more on both sides, images of 4x4 or more (VGG's
 *    2x2 layers, one tile per image, and the 64-channel layers lose);
 *  - dW: never yet: slower than im2col's dW (kernels/conv.c, channels-last
 *    copy, one long-K GEMM) on every shape measured, by 10-40%; chunks of
 *    up to half the batch (longer K, fewer passes over dU) did not change
 *    that, and why is not settled. NX_CONV_WINOGRAD=4 (or 7) turns it on. */
static bool wino_default(const ConvShape *s, int pass) {
    switch (pass) {
    case CONV_WINOGRAD_FWD: return s->C + s->O >= 192;
    case CONV_WINOGRAD_DX: return s->C >= 128 && s->O >= 128 && s->H >= 4 && s->W >= 4;
    default: return false;
    }
}

bool conv_winograd_applies(const ConvShape *s, int pass) {
    if (!(s->KH == 3 && s->KW == 3 && s->stride == 1 && s->pad == 1 && s->groups == 1 && s->C >= 16 &&
          s->O >= 16 && s->N >= 1))
        return false;
    const char *e = getenv("NX_CONV_WINOGRAD");
    if (e && *e) {
        char *end;
        long mask = strtol(e, &end, 10);
        if (*end == 0 && mask >= 0 && mask <= 7) return (mask & pass) != 0;
        static int warned; /* a bad value: said once, then the default dispatch */
        if (!warned) fprintf(stderr, "nicex: NX_CONV_WINOGRAD='%s': expected 0 to 7 (ignored)\n", e), warned = 1;
    }
    return wino_default(s, pass);
}

/* ---- the plan ------------------------------------------------------------ */

typedef struct {
    int nt;         /* threads */
    int TH, TW, TT; /* tiles per image along each axis, per image */
    int T;          /* tiles of the batch */
    int tc;         /* tiles per chunk */
    int chunks;
    size_t row;     /* floats of one thread's row buffers */
} WinoPlan;

/* Ci, Co: the channels of the transformed input and output (V and M) */
static WinoPlan wino_plan(const ConvShape *s, int Ci, int Co, bool for_dw) {
    WinoPlan p;
    p.nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (p.nt < 1) p.nt = 1;
    if (p.nt > WINO_MAX_THREADS) p.nt = WINO_MAX_THREADS;
    p.TH = (s->H + 1) / 2;
    p.TW = (s->W + 1) / 2;
    p.TT = p.TH * p.TW;
    double T = (double)s->N * p.TT;
    NX_CHECK(T < 1073741824.0, "conv2d winograd: %g tiles", T);
    p.T = (int)T;
    int tc = (for_dw ? WINO_DW_CHUNK_FLOATS : WINO_CHUNK_FLOATS) / (16 * (Ci + Co)) / 32 * 32;
    int mc = (for_dw ? WINO_DW_CHUNKS_PER_THREAD : WINO_CHUNKS_PER_THREAD) * p.nt;
    int bal = ((p.T + mc - 1) / mc + 31) / 32 * 32;
    if (tc > bal) tc = bal;
    if (tc < 32) tc = 32;
    if (tc > p.T) tc = p.T;
    p.tc = tc;
    p.chunks = (p.T + tc - 1) / tc;
    p.row = round16(8 * ((size_t)2 * p.TW + 4));
    return p;
}

/* One xi plane of a (rows, tc) matrix: padded by a cache line, so that the 16
 * planes a transform writes at once do not fall on the same cache sets. */
static size_t plane_floats(int rows, const WinoPlan *p) { return round16((size_t)rows * p->tc) + 16; }

/* The tiles [t0, t0 + cnt) of a chunk as runs along one tile row: image n,
 * tile row th, tiles tw0 .. tw0 + len - 1, at column q of the chunk. */
#define FOR_TILE_RUNS(p, t0, cnt, ...)                                                                              \
    for (int t_ = (t0); t_ < (t0) + (cnt);) {                                                                       \
        int n = t_ / (p)->TT, th = t_ % (p)->TT / (p)->TW, tw0 = t_ % (p)->TW;                                    \
        int len = (p)->TW - tw0 < (t0) + (cnt) - t_ ? (p)->TW - tw0 : (t0) + (cnt) - t_, q = t_ - (t0);            \
        __VA_ARGS__                                                                                                  \
        t_ += len;                                                                                                   \
    }

/* ---- transforms ---------------------------------------------------------- */

/* V[xi][c][q + k] = (B^T d B)[xi] for the tiles tw0 + k, k < len, of tile row
 * th of img (H, W) (one channel); V's planes are `plane` apart. The four
 * input rows are copied with their zero border, combined by B^T (split into
 * even and odd columns on the way, so that the column step reads unit
 * strides), then combined by B. rb: 8 (len + 2) + 2 (2 len + 2) floats. */
static void input_run(float *restrict V, size_t plane, const float *img, int H, int W, int th, int tw0, int len,
                      float *restrict rb) {
    int c0 = 2 * tw0 - 1, width = 2 * len + 2; /* image columns c0 .. c0 + width - 1 */
    int lo = c0 < 0 ? -c0 : 0, hi = W - c0 < width ? W - c0 : width;
    int half = len + 1;
    float *r = rb;                   /* 4 rows of width */
    float *e = rb + 4 * (size_t)width; /* 4 rows of B^T d, even columns, then 4 odd */
    float *od = e + 4 * (size_t)half;
    for (int i = 0; i < 4; i++) {
        float *ri = r + (size_t)i * width;
        int h = 2 * th - 1 + i;
        if (h < 0 || h >= H || hi <= lo) {
            memset(ri, 0, sizeof(float) * width);
            continue;
        }
        for (int u = 0; u < lo; u++) ri[u] = 0.0f;
        memcpy(ri + lo, img + (size_t)h * W + c0 + lo, sizeof(float) * (hi - lo));
        for (int u = hi; u < width; u++) ri[u] = 0.0f;
    }
    const float *r0 = r, *r1 = r + width, *r2 = r + 2 * width, *r3 = r + 3 * width;
    for (int k = 0; k < half; k++) { /* rows: B^T d */
        float x0 = r0[2 * k], x1 = r1[2 * k], x2 = r2[2 * k], x3 = r3[2 * k];
        e[k] = x0 - x2;
        e[half + k] = x1 + x2;
        e[2 * half + k] = x2 - x1;
        e[3 * half + k] = x1 - x3;
        float y0 = r0[2 * k + 1], y1 = r1[2 * k + 1], y2 = r2[2 * k + 1], y3 = r3[2 * k + 1];
        od[k] = y0 - y2;
        od[half + k] = y1 + y2;
        od[2 * half + k] = y2 - y1;
        od[3 * half + k] = y1 - y3;
    }
    for (int i = 0; i < 4; i++) { /* columns: (B^T d) B */
        const float *ei = e + (size_t)i * half, *oi = od + (size_t)i * half;
        float *v0 = V + (size_t)(4 * i) * plane, *v1 = v0 + plane, *v2 = v1 + plane, *v3 = v2 + plane;
        for (int k = 0; k < len; k++) {
            float x0 = ei[k], x1 = oi[k], x2 = ei[k + 1], x3 = oi[k + 1];
            v0[k] = x0 - x2;
            v1[k] = x1 + x2;
            v2[k] = x2 - x1;
            v3[k] = x1 - x3;
        }
    }
}

/* V[xi][c][t - t0] for every channel c of in (N, Ci, H, W), tiles [t0, t0 + cnt) */
static void input_transform(float *V, size_t plane, int ld, const float *in, int Ci, const ConvShape *s,
                            const WinoPlan *p, int t0, int cnt, float *rb) {
    size_t HW = (size_t)s->H * s->W;
    FOR_TILE_RUNS(p, t0, cnt, {
        for (int c = 0; c < Ci; c++)
            input_run(V + (size_t)c * ld + q, plane, in + ((size_t)n * Ci + c) * HW, s->H, s->W, th, tw0, len, rb);
    })
}

/* out[n][o] tiles [t0, t0 + cnt) = A^T M[.][o][t - t0] A (+ bias), or added when add */
static void output_transform(float *out, const float *M, size_t plane, int ld, int Co, const float *bias, bool add,
                             const ConvShape *s, const WinoPlan *p, int t0, int cnt, float *rb) {
    size_t HW = (size_t)s->H * s->W;
    int H = s->H, W = s->W;
    FOR_TILE_RUNS(p, t0, cnt, {
        int w0 = 2 * tw0, wn = 2 * len < W - w0 ? 2 * len : W - w0;
        for (int o = 0; o < Co; o++) {
            const float *m = M + (size_t)o * ld + q;
            float *y0 = rb, *y1 = rb + 2 * len;
            for (int k = 0; k < len; k++) {
                float t0r[4], t1r[4];
                for (int j = 0; j < 4; j++) { /* A^T m */
                    float m0 = m[(size_t)j * plane + k], m1 = m[(size_t)(4 + j) * plane + k];
                    float m2 = m[(size_t)(8 + j) * plane + k], m3 = m[(size_t)(12 + j) * plane + k];
                    t0r[j] = m0 + m1 + m2;
                    t1r[j] = m1 - m2 - m3;
                }
                y0[2 * k] = t0r[0] + t0r[1] + t0r[2]; /* (A^T m) A */
                y0[2 * k + 1] = t0r[1] - t0r[2] - t0r[3];
                y1[2 * k] = t1r[0] + t1r[1] + t1r[2];
                y1[2 * k + 1] = t1r[1] - t1r[2] - t1r[3];
            }
            float bo = bias ? bias[o] : 0.0f;
            float *img = out + ((size_t)n * Co + o) * HW;
            for (int i = 0; i < 2 && 2 * th + i < H; i++) {
                float *dst = img + (size_t)(2 * th + i) * W + w0;
                const float *yr = i ? y1 : y0;
                if (add)
                    for (int u = 0; u < wn; u++) dst[u] += bo + yr[u];
                else
                    for (int u = 0; u < wn; u++) dst[u] = bo + yr[u];
            }
        }
    })
}

/* M'_xi (Co, cnt) = (A g A^T)[xi], g the 2x2 tile of dy (N, Co, H, W) (0 past
 * H or W), written as the packed A of the dW product (the layout of
 * weight_pack_sliver below, K = the chunk's cnt tiles; planes `plane` apart). */
static void grad_transform(float *Mp, size_t plane, const float *dy, int Co, const ConvShape *s, const WinoPlan *p,
                           int t0, int cnt, float *rb) {
    const int MR = SGEMM_MR, KC = SGEMM_KC;
    size_t HW = (size_t)s->H * s->W;
    int H = s->H, W = s->W, mp = (Co + MR - 1) / MR * MR;
    if (mp > Co) /* the rows past Co of the last sliver: zero */
        for (int t = 0; t < cnt; t++) {
            int pc = t / KC * KC, kc = cnt - pc < KC ? cnt - pc : KC;
            for (int o = Co; o < mp; o++)
                for (int xi = 0; xi < 16; xi++)
                    Mp[xi * plane + (size_t)pc * mp + (size_t)(o / MR) * kc * MR + (size_t)(t - pc) * MR + o % MR] = 0;
        }
    FOR_TILE_RUNS(p, t0, cnt, {
        int w0 = 2 * tw0, width = 2 * len, wn = width < W - w0 ? width : W - w0;
        for (int o = 0; o < Co; o++) {
            const float *img = dy + ((size_t)n * Co + o) * HW;
            float *g0 = rb, *g1 = rb + width;
            for (int i = 0; i < 2; i++) {
                float *g = i ? g1 : g0;
                int h = 2 * th + i;
                int valid = h < H ? wn : 0;
                if (valid) memcpy(g, img + (size_t)h * W + w0, sizeof(float) * valid);
                for (int u = valid; u < width; u++) g[u] = 0.0f;
            }
            for (int k = 0; k < len; k++) {
                int t = q + k, pc = t / KC * KC, kc = cnt - pc < KC ? cnt - pc : KC;
                float *m = Mp + (size_t)pc * mp + (size_t)(o / MR) * kc * MR + (size_t)(t - pc) * MR + o % MR;
                float a0 = g0[2 * k], b0 = g0[2 * k + 1], a1 = g1[2 * k], b1 = g1[2 * k + 1];
                float u[4][2] = {{a0, b0}, {a0 + a1, b0 + b1}, {a0 - a1, b0 - b1}, {-a1, -b1}}; /* A g */
                for (int i = 0; i < 4; i++) { /* (A g) A^T */
                    m[(size_t)(4 * i) * plane] = u[i][0];
                    m[(size_t)(4 * i + 1) * plane] = u[i][0] + u[i][1];
                    m[(size_t)(4 * i + 2) * plane] = u[i][0] - u[i][1];
                    m[(size_t)(4 * i + 3) * plane] = -u[i][1];
                }
            }
        }
    })
}

/* The 16 packed U_xi (Co, Ci), MR-row sliver ir of each: u = G g G^T with
 * g = w[r][k] (w (Co, Ci, 3, 3)) for row r, column k of U_xi, or when flip
 * g = w[k][r] turned 180 degrees (w (Ci, Co, 3, 3): the weights of dX).
 * Written straight into the layout of sgemm_pack_a_cpu (kernels/gemm.c:
 * K in slices of SGEMM_KC; slice pc holds the MR-row slivers one after
 * another, each (kc, MR) with row r of the sliver at k*MR + r, rows past Co
 * zero), so that the weights are read once and no unpacked copy is kept. */
static void weight_pack_sliver(float *restrict pu, size_t pu_one, const float *restrict w, int Co, int Ci, bool flip,
                               int ir) {
    const int MR = SGEMM_MR, KC = SGEMM_KC;
    int mp = (Co + MR - 1) / MR * MR, r0 = ir * MR, mr = Co - r0 < MR ? Co - r0 : MR;
    for (int k = 0; k < Ci; k++) {
        int pc = k / KC * KC, kc = Ci - pc < KC ? Ci - pc : KC;
        float *dst = pu + (size_t)pc * mp + (size_t)ir * kc * MR + (size_t)(k - pc) * MR;
        float g[9][SGEMM_MR], t[12][SGEMM_MR], u[16][SGEMM_MR]; /* the sliver's 12 rows side by side */
        for (int rr = 0; rr < MR; rr++) {
            int r = r0 + rr;
            const float *src = flip ? w + ((size_t)k * Co + r) * 9 : w + ((size_t)r * Ci + k) * 9;
            for (int a = 0; a < 9; a++) g[a][rr] = rr < mr ? src[flip ? 8 - a : a] : 0.0f;
        }
        for (int j = 0; j < 3; j++) /* t = G g (4x3) */
            for (int rr = 0; rr < MR; rr++) {
                float g0 = g[j][rr], g1 = g[3 + j][rr], g2 = g[6 + j][rr];
                t[j][rr] = g0;
                t[3 + j][rr] = 0.5f * (g0 + g1 + g2);
                t[6 + j][rr] = 0.5f * (g0 - g1 + g2);
                t[9 + j][rr] = g2;
            }
        for (int i = 0; i < 4; i++) /* u = t G^T (4x4) */
            for (int rr = 0; rr < MR; rr++) {
                float t0 = t[3 * i][rr], t1 = t[3 * i + 1][rr], t2 = t[3 * i + 2][rr];
                u[4 * i][rr] = t0;
                u[4 * i + 1][rr] = 0.5f * (t0 + t1 + t2);
                u[4 * i + 2][rr] = 0.5f * (t0 - t1 + t2);
                u[4 * i + 3][rr] = t2;
            }
        for (int xi = 0; xi < 16; xi++) memcpy(dst + xi * pu_one, u[xi], sizeof u[xi]);
    }
}

/* ---- the convolution out (N, Co, H, W) = conv(in (N, Ci, H, W), w) (+ b), or added ---- */

/* Workspace (floats): the packed U_xi (shared); then per thread V and M of a
 * chunk, its row buffers and a GEMM B panel. */
typedef struct {
    size_t pu, vplane, mplane, per_thread, region;
} WinoConvWs;

static WinoConvWs conv_ws(const WinoPlan *p, int Ci, int Co) {
    WinoConvWs w;
    w.pu = 16 * (round16(sgemm_packed_a_floats(Co, Ci)) + 16); /* + a cache line: see plane_floats */
    w.vplane = plane_floats(Ci, p);
    w.mplane = plane_floats(Co, p);
    w.per_thread = 16 * (w.vplane + w.mplane) + p->row + SGEMM_PACK_B_FLOATS;
    w.region = w.per_thread * p->nt;
    return w;
}

/* flip: w is (Ci, Co, 3, 3), and the product uses it turned and transposed (dX) */
static void wino_conv(float *out, const float *in, const float *w, bool flip, const float *bias, bool add, int Ci,
                      int Co, const ConvShape *s, float *ws) {
    WinoPlan p = wino_plan(s, Ci, Co, false);
    WinoConvWs z = conv_ws(&p, Ci, Co);
    size_t pu_one = z.pu / 16;
    float *pu = ws, *region = pu + z.pu;
    int slivers = (Co + SGEMM_MR - 1) / SGEMM_MR, packed = 0;
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
    {
        /* U packed, once per call. No barrier after it: a thread that starts
         * late (woken after the others) is not waited for, only the slivers. */
#pragma omp for schedule(dynamic, 1) nowait
        for (int ir = 0; ir < slivers; ir++) {
            weight_pack_sliver(pu, pu_one, w, Co, Ci, flip, ir);
#pragma omp atomic update seq_cst
            packed++;
        }
        for (;;) {
            int done;
#pragma omp atomic read seq_cst
            done = packed;
            if (done == slivers) break;
        }
        float *V = region + z.per_thread * omp_get_thread_num(), *M = V + 16 * z.vplane, *rb = M + 16 * z.mplane;
        float *pb = rb + p.row;
        /* chunks taken as threads finish: every output element is written by one chunk */
#pragma omp for schedule(dynamic, 1)
        for (int ch = 0; ch < p.chunks; ch++) {
            int t0 = ch * p.tc, cnt = p.T - t0 < p.tc ? p.T - t0 : p.tc;
            input_transform(V, z.vplane, p.tc, in, Ci, s, &p, t0, cnt, rb);
            for (int xi = 0; xi < 16; xi++)
                sgemm_packed_cpu(Co, cnt, Ci, 1.0f, pu + pu_one * xi, (SgemmB){.B = V + z.vplane * xi, .ldb = p.tc},
                                 (SgemmC){.C = M + z.mplane * xi, .ldc = p.tc, .beta = 0.0f}, pb);
            output_transform(out, M, z.mplane, p.tc, Co, bias, add, s, &p, t0, cnt, rb);
        }
    }
}

static size_t conv_ws_floats(const ConvShape *s, int Ci, int Co) {
    WinoPlan p = wino_plan(s, Ci, Co, false);
    WinoConvWs w = conv_ws(&p, Ci, Co);
    return w.pu + w.region;
}

size_t conv_winograd_forward_ws_floats(const ConvShape *s) { return conv_ws_floats(s, s->C, s->O); }

void conv_winograd_forward(float *y, const float *x, const float *w, const float *b, const ConvShape *s, float *ws) {
    wino_conv(y, x, w, false, b, false, s->C, s->O, s, ws);
}

/* ---- dW ------------------------------------------------------------------- */

/* Per thread: V (16 planes of (C, tc)), M' (16 packed (O, tc)), the row
 * buffers, a B panel, and the thread's dU (16, O, C). */
typedef struct {
    size_t vplane, mplane, du, per_thread;
} WinoDwWs;

static WinoDwWs dw_ws(const ConvShape *s, const WinoPlan *p) {
    WinoDwWs w;
    w.vplane = plane_floats(s->C, p);
    w.mplane = round16(sgemm_packed_a_floats(s->O, p->tc)) + 16;
    w.du = 16 * (round16((size_t)s->O * s->C) + 16);
    w.per_thread = 16 * (w.vplane + w.mplane) + p->row + SGEMM_PACK_B_FLOATS + w.du;
    return w;
}

static void wino_dw(float *dw, const float *dy, const float *x, const ConvShape *s, float *ws) {
    WinoPlan p = wino_plan(s, s->C, s->O, true);
    WinoDwWs z = dw_ws(s, &p);
    int C = s->C, O = s->O;
    size_t duplane = z.du / 16;
    unsigned char used[WINO_MAX_THREADS] = {0};
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
    {
        int tid = omp_get_thread_num();
        float *V = ws + z.per_thread * tid, *Mp = V + 16 * z.vplane, *rb = Mp + 16 * z.mplane;
        float *pb = rb + p.row, *dU = pb + SGEMM_PACK_B_FLOATS;
        /* a fixed chunk-to-thread map: each thread's dU sums the same chunks in the same order every time */
#pragma omp for schedule(static, 1)
        for (int ch = 0; ch < p.chunks; ch++) {
            int t0 = ch * p.tc, cnt = p.T - t0 < p.tc ? p.T - t0 : p.tc;
            input_transform(V, z.vplane, p.tc, x, C, s, &p, t0, cnt, rb);
            grad_transform(Mp, z.mplane, dy, O, s, &p, t0, cnt, rb);
            for (int xi = 0; xi < 16; xi++) /* dU_xi (O, C) (+)= M'_xi (O, cnt) V_xi (C, cnt)^T */
                sgemm_packed_cpu(O, C, cnt, 1.0f, Mp + z.mplane * xi, (SgemmB){.B = V + z.vplane * xi, .ldb = p.tc, .trans_b = true},
                                 (SgemmC){.C = dU + duplane * xi, .ldc = C, .beta = used[tid] ? 1.0f : 0.0f}, pb);
            used[tid] = 1;
        }
        /* (the loop's barrier: every dU complete) dw[o][c] += G^T (sum over threads of dU[.][o][c]) G */
        int nt = omp_get_num_threads();
#pragma omp for schedule(static)
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++) {
                float u[16], t[12];
                size_t at = (size_t)o * C + c;
                for (int xi = 0; xi < 16; xi++) {
                    float acc = 0.0f;
                    for (int t2 = 0; t2 < nt; t2++)
                        if (used[t2]) acc += ws[z.per_thread * t2 + (z.per_thread - z.du) + duplane * xi + at];
                    u[xi] = acc;
                }
                for (int j = 0; j < 4; j++) { /* t = G^T u (3x4) */
                    float u0 = u[j], u1 = u[4 + j], u2 = u[8 + j], u3 = u[12 + j];
                    t[j] = u0 + 0.5f * (u1 + u2);
                    t[4 + j] = 0.5f * (u1 - u2);
                    t[8 + j] = 0.5f * (u1 + u2) + u3;
                }
                float *d = dw + at * 9;
                for (int i = 0; i < 3; i++) { /* (G^T u) G (3x3) */
                    float t0 = t[4 * i], t1 = t[4 * i + 1], t2 = t[4 * i + 2], t3 = t[4 * i + 3];
                    d[3 * i] += t0 + 0.5f * (t1 + t2);
                    d[3 * i + 1] += 0.5f * (t1 - t2);
                    d[3 * i + 2] += 0.5f * (t1 + t2) + t3;
                }
            }
    }
}

/* ---- the backward pass: dX, then dW, sharing the workspace ---------------- */

size_t conv_winograd_backward_ws_floats(const ConvShape *s, bool want_dx, bool want_dw) {
    size_t a = want_dx ? conv_ws_floats(s, s->O, s->C) : 0, b = 0;
    if (want_dw) {
        WinoPlan p = wino_plan(s, s->C, s->O, true);
        b = dw_ws(s, &p).per_thread * p.nt;
    }
    return a > b ? a : b;
}

void conv_winograd_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                            const ConvShape *s, float *ws) {
    if (dx) wino_conv(dx, dy, w, true, NULL, true, s->O, s->C, s, ws);
    if (dw) wino_dw(dw, dy, x, s, ws);
}
