/* suite_gemm.c: the compute core against the plain reference loops of
 * kernels/ref/ (sgemm_ref, conv2d_*_ref: one sum per element, in double).
 *
 *   sgemm:  all four transpose combinations; alpha and beta (beta == 0 must
 *           ignore NaN in C); odd sizes (1x1x1, 17x33x65, 128x257x300, sizes
 *           crossing every block boundary of kernels/gemm.c); row strides
 *           larger than the width; called from inside a parallel region
 *           (the one-thread path the convolution uses).
 *   im2col: col2im is its adjoint (<col2im(c), x> == <c, im2col(x)>).
 *   conv2d: forward and backward kernels against the direct convolution, on
 *           the shapes that take each path of kernels/conv.c (images shared
 *           between threads, several images per GEMM, a batch too small to
 *           share, dX as a transposed convolution or by col2im, groups,
 *           depthwise, y and dW of a one-channel k5 layer by direct loops, strides
 *           1 to 3, a non-square kernel), checking that
 *           backward adds, with and without each gradient wanted.
 *   maxpool2d: the fast paths of kernels/pool.c (k = stride = 2; whole windows of others) against the
 *           generic window loop (pool_window_max), bit for bit: ties, NaNs
 *           with distinct payloads, infinities, odd sizes, rows of 1 to 20
 *           outputs (one vector, a full one and a partial one), idx NULL.
 *           Its backward, and relu's, with accumulate false (the gradient
 *           buffer is new, not zeroed): the same bits as adding into zeros.
 * The tolerance of each element scales with the sum of the magnitudes of its
 * terms, which is the same reference run on |inputs|.
 */
#include "tests/testlib.h"
#include "kernels/kernels.h"
#include "kernels/pool_math.h"
#include "kernels/ref/conv_ref.h"
#include "kernels/ref/gemm_ref.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static float *rand_buf(size_t n, float lo, float hi) {
    Tensor *t = test_uniform(1, (int[]){(int)n}, lo, hi);
    return t->data;
}

/* |src| in a new step buffer */
static float *abs_buf(const float *src, size_t n) {
    float *a = rand_buf(n, 0, 0);
    for (size_t i = 0; i < n; i++) a[i] = fabsf(src[i]);
    return a;
}

/* ---- sgemm --------------------------------------------------------------- */

/* Checks C = alpha op(A) op(B) + beta C0 element by element against
 * sgemm_ref, with the tolerance scaled by sum |alpha a b| + |beta c0| (sgemm_ref
 * on the absolute values). Returns the number of mismatches. */
static int check_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad, bool nan_c,
                       bool in_parallel) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t a_n = (size_t)(ta ? K : M) * lda, b_n = (size_t)(tb ? N : K) * ldb, c_n = (size_t)M * ldc;
    float *A = rand_buf(a_n, -1, 1), *B = rand_buf(b_n, -1, 1), *C = rand_buf(c_n, -1, 1);
    float *C0 = nx_malloc(c_n * sizeof(float));
    if (nan_c)
        for (size_t i = 0; i < c_n; i++) C[i] = NAN;
    for (size_t i = 0; i < c_n; i++) C0[i] = C[i];
    /* the reference and the magnitude of each element's terms */
    float *R = rand_buf(c_n, 0, 0), *Mag = abs_buf(C0, c_n);
    for (size_t i = 0; i < c_n; i++) R[i] = C0[i];
    sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    sgemm_ref(ta, tb, M, N, K, fabsf(alpha), abs_buf(A, a_n), lda, abs_buf(B, b_n), ldb, fabsf(beta), Mag, ldc);
    if (in_parallel) {
#pragma omp parallel num_threads(2)
        {
#pragma omp single
            { /* asked inside the region, as the call: one thread's buffers */
                void *ws = nx_malloc(sgemm_ws_cpu(ta, tb, M, N, K) + 1);
                sgemm_cpu(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws);
                free(ws);
            }
        }
    } else {
        sgemm_cpu(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                  workspace_get(NX_CPU, sgemm_ws_cpu(ta, tb, M, N, K)));
    }
    int bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < ldc; j++) {
            float got = C[(size_t)i * ldc + j];
            if (j >= N) { /* the padding between rows is untouched */
                float was = C0[(size_t)i * ldc + j];
                if (!(got == was || (isnan(got) && isnan(was)))) bad++;
                continue;
            }
            double ref = R[(size_t)i * ldc + j], mag = Mag[(size_t)i * ldc + j];
            if (!(fabs(got - ref) <= 1e-4 * mag + 1e-6)) {
                if (bad < 3)
                    fprintf(stderr, "sgemm ta=%d tb=%d %dx%dx%d alpha=%g beta=%g: C[%d][%d] = %g, want %g\n", ta, tb,
                            M, N, K, alpha, beta, i, j, got, ref);
                bad++;
            }
        }
    }
    free(C0);
    nx_step_reset();
    return bad;
}

static const int g_sizes[][3] = {
    {1, 1, 1}, {17, 33, 65}, {128, 257, 300}, {5, 100, 3}, {300, 7, 513}, /* M > MC, K > 2 KC */
    {13, 1100, 40},                                                      /* N > one column panel */
    {24, 64, 256},                                                       /* exact multiples of MR, NR, KC */
    {20, 50, 47}, /* a last B sliver of 18 columns: one 16 x 16 transpose (B^T) and 2 columns by hand */
};

START_TEST(test_sgemm_transposes) { /* _i: ta + 2 tb */
    bool ta = _i & 1, tb = _i & 2;
    int bad = 0;
    for (size_t s = 0; s < sizeof g_sizes / sizeof g_sizes[0]; s++) {
        int M = g_sizes[s][0], N = g_sizes[s][1], K = g_sizes[s][2];
        bad += check_sgemm(ta, tb, M, N, K, 1.0f, 0.0f, 0, false, false);
        bad += check_sgemm(ta, tb, M, N, K, 1.5f, 0.5f, 3, false, false); /* alpha, beta, ld > width */
        bad += check_sgemm(ta, tb, M, N, K, -0.75f, 1.0f, 1, false, false);
    }
    ck_assert_msg(bad == 0, "sgemm ta=%d tb=%d: %d mismatches", ta, tb, bad);
}
END_TEST

START_TEST(test_sgemm_beta0_ignores_nan) {
    int bad = 0;
    for (int t = 0; t < 4; t++) {
        bad += check_sgemm(t & 1, t & 2, 17, 33, 65, 1.0f, 0.0f, 2, true, false);
        bad += check_sgemm(t & 1, t & 2, 1, 1, 1, 2.0f, 0.0f, 0, true, false);
    }
    ck_assert_msg(bad == 0, "sgemm beta=0 with NaN in C: %d mismatches", bad);
}
END_TEST

START_TEST(test_sgemm_in_parallel_region) {
    int bad = 0;
    for (int t = 0; t < 4; t++) bad += check_sgemm(t & 1, t & 2, 128, 257, 300, 1.0f, 0.5f, 1, false, true);
    ck_assert_msg(bad == 0, "sgemm inside a parallel region: %d mismatches", bad);
}
END_TEST

/* The packing buffers are the caller's: sized by sgemm_ws_cpu, held in the
 * CPU workspace (which reports them), freed with it. */
START_TEST(test_sgemm_workspace) {
    int M = 300, N = 257, K = 513;
    size_t need = sgemm_ws_cpu(false, false, M, N, K);
    ck_assert_uint_ge(need, sizeof(float) * ((size_t)(M + SGEMM_MR - 1) / SGEMM_MR * SGEMM_MR * K + SGEMM_PACK_B_FLOATS));
    workspace_free(NX_CPU);
    ck_assert_uint_eq(workspace_bytes(NX_CPU), 0);
    ck_assert_int_eq(check_sgemm(false, false, M, N, K, 1.0f, 0.0f, 0, false, false), 0);
    ck_assert_uint_ge(workspace_bytes(NX_CPU), need);
    workspace_free(NX_CPU);
    ck_assert_uint_eq(workspace_bytes(NX_CPU), 0);
}
END_TEST

START_TEST(test_sgemm_degenerate) {
    /* K == 0: C = beta C; alpha == 0: the same. M or N == 0: nothing touched. */
    float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {NAN}, B[1] = {NAN};
    ck_assert_uint_eq(sgemm_ws_cpu(false, false, 2, 3, 0), 0); /* nothing to pack */
    sgemm_cpu(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 2.0f, C, 3, NULL);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(C[i], 2.0f * (i + 1));
    for (int i = 0; i < 6; i++) C[i] = NAN;
    sgemm_cpu(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3, NULL);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(C[i], 0.0f);
    sgemm_cpu(false, false, 0, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, 3, NULL);
    ck_assert_float_eq(C[0], 0.0f);
}
END_TEST

/* ---- im2col / col2im ------------------------------------------------------ */

START_TEST(test_col2im_is_adjoint) {
    const int cfg[][7] = {/* C, H, W, K, stride, pad, extra ld */
                          {2, 7, 6, 3, 1, 1, 0}, {3, 9, 9, 4, 3, 2, 5}, {1, 5, 8, 5, 2, 0, 0}, {2, 4, 4, 1, 1, 0, 1}};
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        int C = cfg[t][0], H = cfg[t][1], W = cfg[t][2], K = cfg[t][3], s = cfg[t][4], p = cfg[t][5];
        int OH = conv_out_size(H, K, s, p), OW = conv_out_size(W, K, s, p), ld = OH * OW + cfg[t][6];
        int rows = C * K * K;
        float *x = rand_buf((size_t)C * H * W, -1, 1), *c = rand_buf((size_t)rows * ld, -1, 1);
        float *col = rand_buf((size_t)rows * ld, 0, 0), *xt = rand_buf((size_t)C * H * W, 0, 0);
        im2col_cpu(col, x, C, H, W, K, K, s, p, ld);
        col2im_cpu(xt, c, C, H, W, K, K, s, p, ld);
        double lhs = 0, rhs = 0;
        for (int r = 0; r < rows; r++)
            for (int l = 0; l < OH * OW; l++) lhs += (double)c[(size_t)r * ld + l] * col[(size_t)r * ld + l];
        for (int i = 0; i < C * H * W; i++) rhs += (double)xt[i] * x[i];
        ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(lhs)), "case %zu: <c, im2col x> %g, <col2im c, x> %g", t,
                      lhs, rhs);
        /* one entry by the definition */
        int r = rows - 1, l = OH * OW - 1, cc = r / (K * K), kh = r / K % K, kw = r % K;
        int ih = (l / OW) * s - p + kh, iw = (l % OW) * s - p + kw;
        float want = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((size_t)cc * H + ih) * W + iw] : 0.0f;
        ck_assert_float_eq(col[(size_t)r * ld + l], want);
        nx_step_reset();
    }
}
END_TEST

/* ---- conv2d kernels against the direct convolution (kernels/ref/conv_ref.c) -- */

typedef struct {
    int N, C, H, W, O, K, s, p, g;
    bool bias;
    int KW; /* 0: square, KW = K */
} ConvCfg;

static const ConvCfg g_conv[] = {
    {5, 3, 9, 7, 4, 3, 1, 1, 1, true, 0},    /* images shared between 2 threads, unevenly */
    {6, 8, 3, 3, 16, 3, 1, 1, 1, true, 0},   /* 3x3 outputs: several images per GEMM */
    {1, 4, 10, 10, 6, 3, 2, 1, 2, false, 0}, /* one image: the threaded GEMM, dcol + col2im; groups; stride 2 */
    {2, 32, 24, 24, 8, 3, 1, 1, 1, true, 0}, /* 32 channels, 24x24: dX as a transposed convolution */
    {1, 32, 23, 23, 5, 3, 1, 1, 1, true, 0}, /* the same on one image: threaded GEMM */
    {1, 5, 9, 9, 7, 3, 1, 1, 1, true, 0},    /* one image, stride 1: threaded GEMM, col2im from dcol */
    {3, 2, 8, 8, 3, 5, 1, 2, 1, true, 0},    /* 3 images, 2 threads */
    {4, 3, 8, 9, 3, 3, 2, 1, 3, true, 0},    /* depthwise, stride 2 */
    {2, 6, 6, 6, 4, 3, 1, 0, 2, true, 0},    /* groups, no padding */
    {2, 3, 5, 5, 4, 1, 1, 1, 1, true, 0},    /* pad > K - 1: dX by col2im at stride 1 */
    {3, 2, 7, 9, 4, 3, 1, 1, 1, true, 5},    /* a 3x5 kernel */
    {4, 3, 11, 10, 5, 3, 3, 2, 1, false, 0}, /* stride 3, pad 2 */
    {8, 1, 28, 28, 20, 5, 1, 0, 1, true, 0}, /* LeNet's conv1 on 8 images: y and dW by direct loops (k5, C = 1) */
    {3, 1, 12, 40, 7, 5, 1, 0, 1, true, 0},  /* the same: 36 output columns (16 + 16 + 4), an odd O */
    {2, 1, 9, 9, 4, 3, 1, 0, 1, false, 5},   /* the same: a 3x5 kernel, 5 output columns */
    {2, 1, 10, 21, 23, 5, 1, 0, 1, true, 0}, /* the same: 17 columns (16 + 1), O = 10 + 10 + 3 */
    {2, 1, 8, 8, 3, 5, 1, 1, 1, true, 0},    /* C = 1, k5 with padding: the GEMM route */
    /* 3x3, stride 1, pad 1, C and O >= 16: Winograd F(2x2, 3x3) (kernels/conv_winograd.c) */
    {2, 16, 7, 7, 24, 3, 1, 1, 1, true, 0},    /* odd size: the last tiles half outside */
    {1, 17, 5, 5, 19, 3, 1, 1, 1, true, 0},    /* one image, 5x5, C and O not multiples of 16 */
    {3, 24, 8, 6, 16, 3, 1, 1, 1, false, 0},   /* no bias, H != W */
    {5, 40, 4, 4, 33, 3, 1, 1, 1, true, 0},    /* VGG-like 4x4 images: 4 tiles each */
    {4, 16, 1, 3, 18, 3, 1, 1, 1, true, 0},    /* one row: every tile on the border */
    {3, 128, 23, 23, 130, 3, 1, 1, 1, true, 0}, /* several chunks of tiles, the last one short */
    {4, 16, 40, 40, 16, 3, 1, 1, 1, true, 0},   /* dW chunks of > 256 tiles: K slices in the packed M' */
    {2, 260, 5, 5, 20, 3, 1, 1, 1, true, 0},    /* C > 256: K slices in the packed U (forward) */
    {2, 17, 6, 5, 270, 3, 1, 1, 1, false, 0},   /* O > 256: the same for dX's U' */
};
#define CONV_WINOGRAD_FIRST 17 /* the cases above that take the Winograd path */

static int conv_check(const char *what, const float *got, const float *want, const float *mag, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-4 * mag[i] + 1e-5)) {
            if (bad < 3) fprintf(stderr, "conv2d %s[%zu] = %g, want %g\n", what, i, got[i], want[i]);
            bad++;
        }
    return bad;
}

static void conv_case(const ConvCfg *c, int _i) {
    int N = c->N, C = c->C, H = c->H, W = c->W, O = c->O, K = c->K, KW = c->KW ? c->KW : c->K, s = c->s, p = c->p,
        g = c->g;
    int Cg = C / g, Og = O / g, OH = conv_out_size(H, K, s, p), OW = conv_out_size(W, KW, s, p);
    size_t nx = (size_t)N * C * H * W, nw = (size_t)O * Cg * K * KW, ny = (size_t)N * O * OH * OW;
    float *x = rand_buf(nx, -1, 1), *w = rand_buf(nw, -1, 1), *b = c->bias ? rand_buf(O, -1, 1) : NULL;
    float *dy = rand_buf(ny, -1, 1), *y = rand_buf(ny, 5, 6);
    /* backward adds: start the gradients from known values */
    float *dx = rand_buf(nx, -1, 1), *dw = rand_buf(nw, -1, 1), *db = rand_buf(O, -1, 1);
    float *dw0 = rand_buf(nw, 0, 0), *dx0 = rand_buf(nx, 0, 0), *db0 = rand_buf(O, 0, 0);
    for (size_t i = 0; i < nw; i++) dw0[i] = dw[i];
    for (size_t i = 0; i < nx; i++) dx0[i] = dx[i];
    for (int o = 0; o < O; o++) db0[o] = db[o];
    /* the references: ry = conv(x, w) + b, rdx = dx0 + dL/dx, ... (the ref
     * kernels add into their gradients too), and the magnitudes of their
     * terms: the same loops on |x|, |w|, |b|, |dy|, from |dx0| ... */
    float *ry = rand_buf(ny, 0, 0), *my = rand_buf(ny, 0, 0);
    float *rdx = rand_buf(nx, 0, 0), *mdx = abs_buf(dx0, nx), *rdw = rand_buf(nw, 0, 0), *mdw = abs_buf(dw0, nw);
    float *rdb = rand_buf(O, 0, 0), *mdb = abs_buf(db0, O);
    float *ax = abs_buf(x, nx), *aw = abs_buf(w, nw), *ab = b ? abs_buf(b, O) : NULL, *ady = abs_buf(dy, ny);
    for (size_t i = 0; i < nx; i++) rdx[i] = dx0[i];
    for (size_t i = 0; i < nw; i++) rdw[i] = dw0[i];
    for (int o = 0; o < O; o++) rdb[o] = db0[o];
    conv2d_forward_ref(ry, x, w, b, N, C, H, W, O, K, KW, s, p, g);
    conv2d_forward_ref(my, ax, aw, ab, N, C, H, W, O, K, KW, s, p, g);
    conv2d_backward_data_ref(rdx, dy, w, N, C, H, W, O, K, KW, s, p, g);
    conv2d_backward_data_ref(mdx, ady, aw, N, C, H, W, O, K, KW, s, p, g);
    conv2d_backward_weight_ref(rdw, rdb, dy, x, N, C, H, W, O, K, KW, s, p, g);
    conv2d_backward_weight_ref(mdw, mdb, ady, ax, N, C, H, W, O, K, KW, s, p, g);
    (void)Cg, (void)Og;
    conv2d_forward_cpu(y, x, w, b, N, C, H, W, O, K, KW, s, p, g,
                       workspace_get(NX_CPU, conv2d_forward_ws_cpu(N, C, H, W, O, K, KW, s, p, g)));
    conv2d_backward_cpu(dx, dw, c->bias ? db : NULL, dy, x, w, N, C, H, W, O, K, KW, s, p, g,
                        workspace_get(NX_CPU, conv2d_backward_ws_cpu(true, true, N, C, H, W, O, K, KW, s, p, g)));
    int bad = conv_check("y", y, ry, my, ny) + conv_check("dx", dx, rdx, mdx, nx) +
              conv_check("dw", dw, rdw, mdw, nw);
    if (c->bias) bad += conv_check("db", db, rdb, mdb, O);
    /* dw alone (dx and db not wanted), from zero: the same gradient */
    float *dw2 = rand_buf(nw, 0, 0);
    conv2d_backward_cpu(NULL, dw2, NULL, dy, x, w, N, C, H, W, O, K, KW, s, p, g,
                        workspace_get(NX_CPU, conv2d_backward_ws_cpu(false, true, N, C, H, W, O, K, KW, s, p, g)));
    for (size_t i = 0; i < nw; i++) rdw[i] -= dw0[i];
    bad += conv_check("dw alone", dw2, rdw, mdw, nw);
    /* dx alone, from zero */
    float *dx2 = rand_buf(nx, 0, 0);
    conv2d_backward_cpu(dx2, NULL, NULL, dy, x, w, N, C, H, W, O, K, KW, s, p, g,
                        workspace_get(NX_CPU, conv2d_backward_ws_cpu(true, false, N, C, H, W, O, K, KW, s, p, g)));
    for (size_t i = 0; i < nx; i++) rdx[i] -= dx0[i];
    bad += conv_check("dx alone", dx2, rdx, mdx, nx);
    nx_step_reset();
    ck_assert_msg(bad == 0, "conv2d case %d (N%d C%d %dx%d O%d k%dx%d s%d p%d g%d): %d mismatches", _i, N, C, H, W,
                  O, K, KW, s, p, g, bad);
}

/* Every pass by Winograd where the shape allows (NX_CONV_WINOGRAD=7), whatever the default would pick */
START_TEST(test_conv2d_vs_direct) {
    const char *old = getenv("NX_CONV_WINOGRAD");
    char saved[16] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("NX_CONV_WINOGRAD", "7", 1);
    conv_case(&g_conv[_i], _i);
    if (old)
        setenv("NX_CONV_WINOGRAD", saved, 1);
    else
        unsetenv("NX_CONV_WINOGRAD");
}
END_TEST

/* The Winograd shapes again with NX_CONV_WINOGRAD=0: im2col + GEMM */
START_TEST(test_conv2d_winograd_off) {
    const char *old = getenv("NX_CONV_WINOGRAD");
    char saved[16] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("NX_CONV_WINOGRAD", "0", 1);
    conv_case(&g_conv[CONV_WINOGRAD_FIRST + _i], CONV_WINOGRAD_FIRST + _i);
    if (old)
        setenv("NX_CONV_WINOGRAD", saved, 1);
    else
        unsetenv("NX_CONV_WINOGRAD");
}
END_TEST


/* ---- maxpool2d: the fast paths against the generic window loop ---- */

static const int g_pool[][6] = {/* P, H, W, k, stride, pad: 2x2 fast path */
                                {3, 24, 24, 2, 2, 0}, {5, 8, 8, 2, 2, 0},   {2, 7, 9, 2, 2, 0},  {1, 2, 2, 2, 2, 0},
                                {4, 34, 40, 2, 2, 0}, {2, 65, 3, 2, 2, 0},  {3, 5, 33, 2, 2, 0}, {70, 4, 4, 2, 2, 0},
                                {1, 3, 2, 2, 2, 0},
                                /* maxpool_plane: whole windows branch-free, the border generic */
                                {3, 20, 37, 3, 2, 1}, {2, 9, 8, 3, 2, 1},   {1, 3, 3, 3, 2, 1},  {2, 2, 5, 3, 2, 1},
                                {2, 11, 12, 3, 1, 1}, {3, 10, 9, 3, 3, 0},  {2, 9, 13, 2, 1, 0}, {2, 14, 11, 5, 2, 2},
                                {1, 1, 1, 3, 2, 1},   {2, 12, 12, 4, 4, 0}};

START_TEST(test_maxpool2x2_vs_generic) {
    int P = g_pool[_i][0], H = g_pool[_i][1], W = g_pool[_i][2], k = g_pool[_i][3], sd = g_pool[_i][4];
    int pd = g_pool[_i][5], OH = (H + 2 * pd - k) / sd + 1, OW = (W + 2 * pd - k) / sd + 1;
    size_t nx = (size_t)P * H * W, ny = (size_t)P * OH * OW;
    float *x = rand_buf(nx, 0, 0), *y = rand_buf(ny, 0, 0), *y2 = rand_buf(ny, 0, 0), *ry = rand_buf(ny, 0, 0);
    int32_t *idx = nx_malloc(ny * sizeof *idx), *ridx = nx_malloc(ny * sizeof *ridx);
    uint64_t st = 12345 + (uint64_t)_i;
    for (size_t i = 0; i < nx; i++) { /* few distinct values (ties), and NaNs of several payloads, +-inf, +-0 */
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(st >> 33) % 16;
        uint32_t nan_bits = 0x7fc00000u | (uint32_t)(i & 0xffff);
        float v = r < 9 ? (float)((int)r - 4) : r == 9 ? INFINITY : r == 10 ? -INFINITY : r == 11 ? -0.0f : 0.0f;
        if (r == 12 && (st >> 20) % 4 == 0) memcpy(&v, &nan_bits, sizeof v);
        if (r == 13 && (st >> 20) % 2 == 0) v = -INFINITY;
        x[i] = v;
    }
    if (H >= 2 && W >= 2) x[0] = x[1] = x[W] = x[W + 1] = -INFINITY; /* a window of -inf only */
    for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                size_t o = ((size_t)p * OH + oh) * OW + ow;
                ry[o] = pool_window_max(x + (size_t)p * H * W, W, pool_window(oh, ow, H, W, k, sd, pd), &ridx[o]);
            }
    maxpool2d_forward_cpu(y, idx, x, P, H, W, OH, OW, k, sd, pd);
    maxpool2d_forward_cpu(y2, NULL, x, P, H, W, OH, OW, k, sd, pd);
    ck_assert_msg(memcmp(y, ry, ny * sizeof *y) == 0, "maxpool k%d s%d p%d (%d, %d, %d): values differ", k, sd, pd, P, H,
                  W);
    ck_assert_msg(memcmp(y2, ry, ny * sizeof *y) == 0, "maxpool k%d s%d p%d (%d, %d, %d) idx NULL: values differ", k,
                  sd, pd, P, H, W);
    ck_assert_msg(memcmp(idx, ridx, ny * sizeof *idx) == 0, "maxpool k%d s%d p%d (%d, %d, %d): argmax differs", k, sd,
                  pd, P, H, W);
    free(idx), free(ridx);
    nx_step_reset();
}
END_TEST

/* Backward kernels told not to accumulate (dx new, garbage inside) give the bits of adding into zeros. */
START_TEST(test_backward_overwrite) {
    int P = 7, H = 9, W = 10, OH = 4, OW = 5; /* odd H: a row no window reads */
    size_t nx = (size_t)P * H * W, ny = (size_t)P * OH * OW;
    float *x = rand_buf(nx, -1, 1), *y = rand_buf(ny, 0, 0), *dy = rand_buf(ny, -1, 1);
    int32_t *idx = nx_malloc(ny * sizeof *idx);
    for (size_t i = 0; i < ny; i += 5) dy[i] = -0.0f;
    float *ref = rand_buf(nx, 0, 0), *out = rand_buf(nx, 0, 0);
    maxpool2d_forward_cpu(y, idx, x, P, H, W, OH, OW, 2, 2, 0);
    for (size_t i = 0; i < nx; i++) ref[i] = 0.0f, out[i] = NAN;
    maxpool2d_backward_cpu(ref, dy, idx, P, H * W, OH * OW, true);
    maxpool2d_backward_cpu(out, dy, idx, P, H * W, OH * OW, false);
    ck_assert_msg(memcmp(out, ref, nx * sizeof *out) == 0, "maxpool2d backward, not accumulating");
    float *g = rand_buf(nx, -1, 1);
    for (size_t i = 0; i < nx; i += 3) g[i] = -0.0f;
    for (size_t i = 1; i < nx; i += 7) x[i] = 0.0f;
    for (size_t i = 0; i < nx; i++) ref[i] = 0.0f, out[i] = NAN;
    relu_backward_cpu(ref, g, x, (int64_t)nx, true);
    relu_backward_cpu(out, g, x, (int64_t)nx, false);
    ck_assert_msg(memcmp(out, ref, nx * sizeof *out) == 0, "relu backward, not accumulating");
    free(idx);
    nx_step_reset();
}
END_TEST

Suite *suite_gemm(void) {
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("sgemm");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_sgemm_transposes, 0, 4);
    tcase_add_test(tc, test_sgemm_beta0_ignores_nan);
    tcase_add_test(tc, test_sgemm_in_parallel_region);
    tcase_add_test(tc, test_sgemm_degenerate);
    tcase_add_test(tc, test_sgemm_workspace);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("conv");
    tcase_set_timeout(tc2, 120);
    tcase_add_test(tc2, test_col2im_is_adjoint);
    tcase_add_loop_test(tc2, test_conv2d_vs_direct, 0, (int)(sizeof g_conv / sizeof g_conv[0]));
    tcase_add_loop_test(tc2, test_conv2d_winograd_off, 0, (int)(sizeof g_conv / sizeof g_conv[0]) - CONV_WINOGRAD_FIRST);
    suite_add_tcase(s, tc2);
    TCase *tc3 = tcase_create("maxpool");
    tcase_add_loop_test(tc3, test_maxpool2x2_vs_generic, 0, (int)(sizeof g_pool / sizeof g_pool[0]));
    tcase_add_test(tc3, test_backward_overwrite);
    suite_add_tcase(s, tc3);
    return s;
}
