/* gemm.c: blocked, packed SGEMM on the CPU (row-major), after Goto and BLIS.
 *
 *     C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C
 *
 * The loops, outermost first (each block sized for one level of cache):
 *
 *   ic: rows of C in blocks as large as PACK_A_MAX allows (usually all of M):
 *       that block of op(A) is packed once, all of K, MR rows per sliver
 *   jc: columns of C in panels of NC       B panel (KC, NC) packed: lives in L2
 *   pc: the K dimension in slices of KC
 *   ir: MR rows at a time                  A sliver (KC, MR): lives in L1
 *   jr: NR columns at a time               B sliver (KC, NR): streamed from L2
 *     micro-kernel: the MR x NR tile of C, summed over KC
 *
 * Packing A once per call (not once per column panel) matters for the
 * convolution's products, whose B is often much wider than one panel; a
 * caller that multiplies the same A many times (the convolution's weights,
 * once per image) packs it itself with sgemm_pack_a_cpu and calls
 * sgemm_packed_cpu.
 *
 * Packing copies op(A) and op(B) into the exact order the micro-kernel reads
 * them (A: MR values of one column after another; B: NR values of one row
 * after another), so transposes, leading dimensions and ragged edges are
 * handled once, in the packing, and the micro-kernel only ever sees
 * contiguous, zero-padded MR x KC and KC x NR slivers. A transposed B
 * (op(B) = B^T, the linear layer's weights) is the one costly case: each
 * packed row gathers one float from each of NR rows of B. It is done 16 x
 * 16 at a time: by a register transpose (AVX-512 intrinsics, 16 loads and
 * 16 stores for 256 floats), or in plain C where there is no AVX-512, in
 * 16-row blocks of the sliver that stay in L1; a prefetch of each source
 * row's next line stands in for the hardware prefetcher, which cannot
 * follow 32 streams. (For LeNet's fc1, 100 x 500 x 800, the scalar
 * column-by-column copy was 31% of the product.)
 *
 * The micro-kernel is plain C with fixed trip counts: a (MR, NR) = (12, 32)
 * accumulator array updated by acc[i][j] = fmaf(a[i], b[j], acc[i][j])
 * (fmaf, because -std=c11 forbids GCC to fuse a * b + c by itself). At -O3 GCC unrolls
 * the i loop, vectorises the j loop into two 16-float AVX-512 registers and
 * keeps all 24 accumulators in registers: per k, 2 vector loads of B,
 * 12 broadcasts of A and 24 fused multiply-adds. On a machine without
 * AVX-512 the same code becomes AVX2 (or SSE) with spilled accumulators: still
 * correct, just slower. The A sliver (12 KiB) stays in L1 for all the B
 * slivers of the panel; each B sliver (32 KiB) streams from L2, and without
 * help the FMAs wait on its loads (perf put 10% of the kernel's samples on
 * the FMA after the second load of B), so the kernel prefetches B PF_B rows
 * ahead, and C's tile at the start (it is needed only at the end). In a
 * test loop on packed slivers the kernel reaches ~85-100% of one core's FMA
 * peak (~160 GFLOP/s here); intrinsics or unrolling k by 4 gained < 3%, and
 * KC of 384 or 512 nothing measurable, so neither is used.
 *
 * Threads: called from outside a parallel region, the product is cut into
 * blocks of C (column panels, and row blocks when the panels are too few),
 * at least two per thread, which the threads take dynamically; each packs
 * its own B panel, and they share the packed A. There is no barrier inside
 * the product, so a thread that the OS sets aside for a while (other
 * programs share the cores) holds up only its own block. Called from inside
 * a parallel region (the convolution runs one image per thread) it runs on
 * the calling thread alone.
 *
 * Memory: the caller passes the packing buffers in (ws, sgemm_ws_cpu bytes:
 * the packed block of A, then one (KC, NC) B panel per thread), so the GEMM
 * allocates nothing and keeps nothing between calls; the op takes it from
 * the CPU workspace (tensor/arena.c), which reports its size.
 */
#include "kernels/gemm.h"
#include "tensor/common.h"

#include <math.h>
#include <omp.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* Ask GCC to use full 512-bit vectors where the target has them
 * (-march=native on AVX-512 machines otherwise prefers 256-bit). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

#define MR SGEMM_MR
#define NR SGEMM_NR
#define KC SGEMM_KC
#define NC SGEMM_NC
#define PF_B 8 /* rows of B the micro-kernel prefetches ahead (4..16 measure alike) */

/* ---- the micro-kernel -------------------------------------------------- */

/* c (rows, cols) with row stride ldc = alpha * sum_k pa[k] (outer) pb[k] + beta * c,
 * from the first `rows` rows of the A sliver and the first `cols` columns of
 * the B sliver. rows and cols are compile-time constants at every call, so
 * GCC builds one register-blocked kernel for each. */
static inline __attribute__((always_inline)) void kernel_tile(int rows, int cols, int kc,
                                                              const float *restrict pa /* (kc, MR) */,
                                                              const float *restrict pb /* (kc, NR) */,
                                                              float *restrict c /* (rows, ldc) */, int ldc,
                                                              float alpha, float beta) {
    float acc[MR][NR] = {{0}};
    for (int i = 0; i < rows; i++) { /* C's tile is needed only at the end: fetch it meanwhile */
        __builtin_prefetch(c + (size_t)i * ldc, 1);
        __builtin_prefetch(c + (size_t)i * ldc + cols - 1, 1);
    }
    for (int k = 0; k < kc; k++) {
        __builtin_prefetch(pb + PF_B * NR); /* B streams from L2: ask for it PF_B rows ahead */
        __builtin_prefetch(pb + PF_B * NR + 16);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) acc[i][j] = fmaf(pa[i], pb[j], acc[i][j]);
        pa += MR;
        pb += NR;
    }
    if (beta == 0.0f) {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) c[(size_t)i * ldc + j] = alpha * acc[i][j];
    } else if (beta == 1.0f) {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) c[(size_t)i * ldc + j] += alpha * acc[i][j];
    } else {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) c[(size_t)i * ldc + j] = alpha * acc[i][j] + beta * c[(size_t)i * ldc + j];
    }
}

/* The micro-kernel is the full MR x NR = 12 x 32 tile. The 8- and 4-row ones
 * serve the last sliver of a matrix whose height is not a multiple of MR (64 =
 * 5*12 + 4 output channels), which would otherwise spend time on padding rows.
 * (16-column versions do not pay: GCC turns their loops around and leaves them
 * scalar.) */
#define KERNEL(R, C)                                                                                              \
    static void micro_kernel_##R##x##C(int kc, const float *pa, const float *pb, float *c, int ldc, float alpha, \
                                       float beta) {                                                              \
        kernel_tile(R, C, kc, pa, pb, c, ldc, alpha, beta);                                                       \
    }
KERNEL(12, 32)
KERNEL(8, 32)
KERNEL(4, 32)
#undef KERNEL

/* Any tile (mr <= MR rows, nr <= NR columns) into c: the smallest kernel that
 * covers its rows, straight into c when it fits exactly, else through a buffer. */
static void tile_kernel(int kc, const float *pa, const float *pb, float *c, int ldc, float alpha, float beta, int mr,
                        int nr) {
    if (nr == NR) { /* direct calls, so that GCC can inline the kernels */
        if (mr == MR) return micro_kernel_12x32(kc, pa, pb, c, ldc, alpha, beta);
        if (mr == 8) return micro_kernel_8x32(kc, pa, pb, c, ldc, alpha, beta);
        if (mr == 4) return micro_kernel_4x32(kc, pa, pb, c, ldc, alpha, beta);
    }
    float t[MR * NR];
    if (mr <= 4)
        micro_kernel_4x32(kc, pa, pb, t, NR, alpha, 0.0f);
    else if (mr <= 8)
        micro_kernel_8x32(kc, pa, pb, t, NR, alpha, 0.0f);
    else
        micro_kernel_12x32(kc, pa, pb, t, NR, alpha, 0.0f);
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        const float *ti = t + i * NR;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) ci[j] = ti[j];
        else
            for (int j = 0; j < nr; j++) ci[j] = ti[j] + beta * ci[j];
    }
}

/* ---- packing ----------------------------------------------------------- */

/* One A sliver: dst[k][r] = op(A)[i + r][p + k] for r < mr, 0 for mr <= r < MR. */
static void pack_a_sliver(float *restrict dst /* (kc, MR) */, const float *A, int lda, bool trans, int i, int p,
                          int mr, int kc) {
    if (trans) { /* op(A)[i + r][p + k] = A[(p + k) * lda + i + r]: contiguous in r */
        for (int k = 0; k < kc; k++) {
            const float *src = A + (size_t)(p + k) * lda + i;
            float *d = dst + k * MR;
            if (mr == MR) {
                memcpy(d, src, MR * sizeof(float)); /* constant size: inlined as vector moves */
            } else {
                for (int r = 0; r < MR; r++) d[r] = r < mr ? src[r] : 0.0f;
            }
        }
    } else { /* op(A)[i + r][p + k] = A[(i + r) * lda + p + k]: contiguous in k */
        const float *rows[MR];
        for (int r = 0; r < MR; r++) rows[r] = A + (size_t)(i + (r < mr ? r : 0)) * lda + p;
        for (int k = 0; k < kc; k++) {
            float *d = dst + k * MR;
            for (int r = 0; r < MR; r++) d[r] = r < mr ? rows[r][k] : 0.0f;
        }
    }
}

#ifdef __AVX512F__
/* dst[k][c] = src[c][k] for k, c < 16 (rows of dst ldd apart, of src lds
 * apart): 16 loads, 64 shuffles, 16 stores, where the scalar copy costs 256
 * loads and stores. Stage 1 and 2 transpose 4 x 4 blocks inside each 128-bit
 * lane (u[4g + q], lane L = column 4L + q of rows 4g..4g+3); stage 3 and 4
 * transpose the 4 x 4 array of lanes. */
static void transpose16(float *restrict dst, int ldd, const float *restrict src, int lds) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (size_t)i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 4; g++) {
        const __m512 *tg = t + 4 * g;
        r[4 * g + 0] = _mm512_shuffle_ps(tg[0], tg[2], 0x44);
        r[4 * g + 1] = _mm512_shuffle_ps(tg[0], tg[2], 0xEE);
        r[4 * g + 2] = _mm512_shuffle_ps(tg[1], tg[3], 0x44);
        r[4 * g + 3] = _mm512_shuffle_ps(tg[1], tg[3], 0xEE);
    }
    for (int q = 0; q < 4; q++) { /* lanes: r[4g + q].L -> column 4L + q, lane g */
        __m512 v0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x44), v1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xEE);
        __m512 v2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x44),
               v3 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xEE);
        _mm512_storeu_ps(dst + (size_t)(0 + q) * ldd, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_storeu_ps(dst + (size_t)(4 + q) * ldd, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_storeu_ps(dst + (size_t)(8 + q) * ldd, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_storeu_ps(dst + (size_t)(12 + q) * ldd, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}
#endif

/* One B sliver: dst[k][c] = op(B)[p + k][j + c] for c < nr, 0 for nr <= c < NR. */
static void pack_b_sliver(float *restrict dst /* (kc, NR) */, const float *B, int ldb, bool trans, int p, int j,
                          int nr, int kc) {
    if (!trans) { /* op(B)[p + k][j + c] = B[(p + k) * ldb + j + c]: contiguous in c */
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)(p + k) * ldb + j;
            float *d = dst + k * NR;
            if (nr == NR) {
                memcpy(d, src, NR * sizeof(float)); /* constant size: inlined as vector moves */
            } else {
                for (int c = 0; c < NR; c++) d[c] = c < nr ? src[c] : 0.0f;
            }
        }
    } else { /* op(B)[p + k][j + c] = B[(j + c) * ldb + p + k]: contiguous in k */
        /* A transpose, 16 rows of dst (2 KiB, in L1) at a time: column by
         * column over the whole sliver, each store would miss L1. */
        for (int k0 = 0; k0 < kc; k0 += 16) {
            int kb = kc - k0 < 16 ? kc - k0 : 16;
            float *d = dst + k0 * NR;
            int c_vec = 0; /* columns done by 16 x 16 register transposes */
#ifdef __AVX512F__
            if (kb == 16)
                for (; c_vec + 16 <= nr; c_vec += 16)
                    transpose16(d + c_vec, NR, B + (size_t)(j + c_vec) * ldb + p + k0, ldb);
#endif
            for (int c = c_vec; c < nr; c++) {
                const float *src = B + (size_t)(j + c) * ldb + p + k0;
                __builtin_prefetch(src + 64); /* 32 rows at once defeat the hardware prefetcher */
                for (int k = 0; k < kb; k++) d[k * NR + c] = src[k];
            }
            for (int c = nr; c < NR; c++)
                for (int k = 0; k < kb; k++) d[k * NR + c] = 0;
        }
    }
}

/* Packed A of (mc, K): K in slices of KC; slice pc holds the MR-row slivers
 * one after another, each (kc, MR). Slice pc starts at pc * round_up(mc, MR). */
static int round_up(int n, int m) { return (n + m - 1) / m * m; }

size_t sgemm_packed_a_floats(int M, int K) { return (size_t)round_up(M, MR) * K; }

/* Slivers s in [s0, s1) of the (n_slices x n_ir) grid, slice-major. */
static void pack_a_range(float *pa, bool trans_a, int mc, int K, const float *A, int lda, int i0, int s0, int s1) {
    int n_ir = (mc + MR - 1) / MR, mp = n_ir * MR;
    for (int s = s0; s < s1; s++) {
        int pc = s / n_ir * KC, ir = s % n_ir;
        int kc = K - pc < KC ? K - pc : KC, mr = mc - ir * MR < MR ? mc - ir * MR : MR;
        pack_a_sliver(pa + (size_t)pc * mp + (size_t)ir * kc * MR, A, lda, trans_a, i0 + ir * MR, pc, mr, kc);
    }
}

static int n_a_slivers(int mc, int K) { return ((K + KC - 1) / KC) * ((mc + MR - 1) / MR); }

/* ---- the workspace: packed A, then one B panel per thread ----------------- */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; } /* 64-byte alignment */

/* Threads for a product of this size: 1 inside a parallel region or when small. */
static int gemm_threads(int M, int N, int K) {
    if (omp_in_parallel() || (double)M * N * K < 262144.0) return 1;
    int nt = omp_get_max_threads();
    return nt < 1 ? 1 : nt;
}

int sgemm_threads(int M, int N, int K) { return gemm_threads(M, N, K); }

size_t sgemm_pack_b_floats(int threads) { return (size_t)(threads < 1 ? 1 : threads) * SGEMM_PACK_B_FLOATS; }

/* Rows of A packed at a time: all of them unless the packed block would pass
 * PACK_A_MAX floats (very large linear layers). */
#define PACK_A_MAX (1 << 21)

static int rows_per_pack(int M, int K) {
    int mc_max = K > 0 ? PACK_A_MAX / K / MR * MR : MR;
    if (mc_max < MR) mc_max = MR;
    if (mc_max > round_up(M, MR)) mc_max = round_up(M, MR);
    return mc_max;
}

size_t sgemm_ws_cpu(bool trans_a, bool trans_b, int M, int N, int K) {
    (void)trans_a, (void)trans_b;
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    return sizeof(float) * (round16(sgemm_packed_a_floats(rows_per_pack(M, K), K)) +
                            sgemm_pack_b_floats(gemm_threads(M, N, K)));
}

/* ---- the driver --------------------------------------------------------- */

static void scale_c(float *C, int M, int N, int ldc, float beta) {
    for (int i = 0; i < M; i++) {
        float *ci = C + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) ci[j] = 0;
        else
            for (int j = 0; j < N; j++) ci[j] *= beta;
    }
}

/* One block of C, on the calling thread: row slivers [ir0, ir1) of the packed
 * A (all mc rows of it packed, row i0 of C first), columns [j0, j1). */
static void gemm_block(int mc, int ir0, int ir1, int j0, int j1, int K, float alpha, const float *pa, int i0,
                       const SgemmB *B, const SgemmC *C, float *pb /* (KC, NC): this thread's B panel */) {
    int mp = (mc + MR - 1) / MR * MR;
    for (int jc = j0; jc < j1; jc += NC) {
        int nc = j1 - jc < NC ? j1 - jc : NC;
        int n_jr = (nc + NR - 1) / NR;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            for (int jr = 0; jr < n_jr; jr++) { /* the B panel (kc, nc), sliver by sliver */
                int nr = nc - jr * NR < NR ? nc - jr * NR : NR;
                float *dst = pb + (size_t)jr * kc * NR;
                if (B->pack)
                    B->pack(B->ctx, dst, pc, jc + jr * NR, kc, nr);
                else
                    pack_b_sliver(dst, B->B, B->ldb, B->trans_b, pc, jc + jr * NR, nr, kc);
            }
            const float *pa_slice = pa + (size_t)pc * mp;
            float beta = pc == 0 ? C->beta : 1.0f; /* later K slices add to the first */
            for (int ir = ir0; ir < ir1; ir++) {
                int mr = mc - ir * MR < MR ? mc - ir * MR : MR;
                const float *a = pa_slice + (size_t)ir * kc * MR;
                for (int jr = 0; jr < n_jr; jr++) {
                    int nr = nc - jr * NR < NR ? nc - jr * NR : NR;
                    const float *b = pb + (size_t)jr * kc * NR;
                    if (C->store) {
                        float tile[MR * NR];
                        tile_kernel(kc, a, b, tile, NR, alpha, 0.0f, mr, nr);
                        C->store(C->ctx, tile, i0 + ir * MR, jc + jr * NR, mr, nr, pc == 0);
                    } else {
                        tile_kernel(kc, a, b, C->C + (size_t)(i0 + ir * MR) * C->ldc + jc + jr * NR, C->ldc, alpha,
                                    beta, mr, nr);
                    }
                }
            }
        }
    }
}

/* C rows [i0, i0 + mc) from the packed A: on one thread, or cut into blocks
 * that the threads take as they finish the previous one (no barrier: a
 * thread held up by other work on its core only delays its own block). */
static void gemm_packed_rows(int nt, int mc, int N, int K, float alpha, const float *pa, int i0, const SgemmB *B,
                             const SgemmC *C, float *pb /* nt B panels */) {
    int n_ir = (mc + MR - 1) / MR;
    if (nt == 1) return gemm_block(mc, 0, n_ir, 0, N, K, alpha, pa, i0, B, C, pb);
    /* at least two blocks per thread: column blocks of NC or narrower, then row blocks */
    int nc = NC, col_blocks = (N + NC - 1) / NC;
    if (col_blocks < 2 * nt) {
        nc = ((N + 2 * nt - 1) / (2 * nt) + NR - 1) / NR * NR;
        col_blocks = (N + nc - 1) / nc;
    }
    int row_blocks = col_blocks < 2 * nt ? (2 * nt + col_blocks - 1) / col_blocks : 1;
    if (row_blocks > n_ir) row_blocks = n_ir;
    int blocks = row_blocks * col_blocks;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int bi = 0; bi < blocks; bi++) {
        int rb = bi / col_blocks, cb = bi % col_blocks;
        int ir0 = (int)((int64_t)n_ir * rb / row_blocks), ir1 = (int)((int64_t)n_ir * (rb + 1) / row_blocks);
        int j1 = (cb + 1) * nc < N ? (cb + 1) * nc : N;
        gemm_block(mc, ir0, ir1, cb * nc, j1, K, alpha, pa, i0, B, C,
                   pb + (size_t)omp_get_thread_num() * SGEMM_PACK_B_FLOATS);
    }
}

void sgemm_pack_a_cpu(float *pa, bool trans_a, int M, int K, const float *A, int lda) {
    int n = n_a_slivers(M, K);
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (int64_t)M * K > (1 << 18))
    for (int s = 0; s < n; s++) pack_a_range(pa, trans_a, M, K, A, lda, 0, s, s + 1);
}

void sgemm_packed_cpu(int M, int N, int K, float alpha, const float *pa, SgemmB B, SgemmC C, float *pb) {
    if (M <= 0 || N <= 0) return;
    NX_CHECK(K > 0 || !C.store, "sgemm_packed: K = 0 with a store function");
    if (K == 0 || alpha == 0.0f) {
        if (C.beta != 1.0f) scale_c(C.C, M, N, C.ldc, C.beta);
        return;
    }
    int nt = C.store && C.serial_store ? 1 : gemm_threads(M, N, K);
    gemm_packed_rows(nt, M, N, K, alpha, pa, 0, &B, &C, pb);
}

void sgemm_cpu(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc, void *ws) {
    NX_CHECK(M >= 0 && N >= 0 && K >= 0, "sgemm: negative size M=%d N=%d K=%d", M, N, K);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) {
        if (beta != 1.0f) scale_c(C, M, N, ldc, beta);
        return;
    }
    int mc_max = rows_per_pack(M, K);
    int nt = gemm_threads(M, N, K);
    NX_CHECK(ws, "sgemm_cpu: no workspace (sgemm_ws_cpu bytes)");
    float *pa = ws, *pb = pa + round16(sgemm_packed_a_floats(mc_max, K)); /* the layout of sgemm_ws_cpu */
    SgemmB b = {.B = B, .ldb = ldb, .trans_b = trans_b};
    SgemmC c = {.C = C, .ldc = ldc, .beta = beta};
    for (int ic = 0; ic < M; ic += mc_max) {
        int mc = M - ic < mc_max ? M - ic : mc_max;
        sgemm_pack_a_cpu(pa, trans_a, mc, K, trans_a ? A + ic : A + (size_t)ic * lda, lda);
        gemm_packed_rows(nt, mc, N, K, alpha, pa, ic, &b, &c, pb);
    }
}
