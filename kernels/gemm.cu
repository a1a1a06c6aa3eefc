/* gemm.cu: SGEMM on the GPU through cuBLAS (kernels/gemm.h; the CPU version
 * in kernels/gemm.c, the plain reference loop in kernels/ref/gemm_ref.c).
 *
 * Row major over a column-major library. cuBLAS reads a row-major (R, C)
 * matrix with row stride ld as the column-major (C, R) matrix with leading
 * dimension ld, i.e. as its transpose. So the row-major product
 *     C (M, N) = alpha op(A) op(B) + beta C
 * is, transposed, the column-major product
 *     C^T (N, M) = alpha op(B)^T op(A)^T + beta C^T,
 * one cublasSgemm call with the operands swapped (B first), the same
 * transpose flags, and m = N, n = M: no data moves.
 *
 * Precision: full FP32 by default (CUBLAS_DEFAULT_MATH: no TF32 tensor
 * cores), so results match the CPU to fp32 rounding. Benchmarks may allow
 * TF32 with sgemm_cuda_allow_tf32(true) or NX_CUDA_TF32=1 in the
 * environment (read when the cuBLAS handle is created).
 *
 * K == 0 or alpha == 0 only scales C by beta (0 clears it, NaN included),
 * exactly as sgemm_cpu; M == 0 or N == 0 does nothing.
 */
#include "kernels/cuda_common.cuh"

#include <cublas_v2.h>
#include <stdlib.h>

/* ---- the cuBLAS handle ------------------------------------------------- */

static cublasHandle_t g_handle;
static bool g_handle_ready;
static bool g_tf32;         /* wanted */
static bool g_tf32_applied; /* set on the handle */

#define NX_CUBLAS_CHECK(call)                                                                                          \
    do {                                                                                                               \
        cublasStatus_t s_ = (call);                                                                                    \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                               \
            nx_fatal_at(__FILE__, __LINE__, "cuBLAS %s failed: %s", #call, cublasGetStatusString(s_));                 \
    } while (0)

/* Allow (or forbid) TF32 tensor cores in sgemm_cuda and the convolutions:
 * about 10 bits of mantissa in the products, for benchmarks only. Declared
 * for C callers as: void sgemm_cuda_allow_tf32(bool on); */
extern "C" void sgemm_cuda_allow_tf32(bool on) { g_tf32 = on; }

static cublasHandle_t nx_cublas_handle(void) {
    if (!g_handle_ready) {
        NX_CUBLAS_CHECK(cublasCreate(&g_handle));
        /* the default stream, as every other kernel and copy of nicex */
        NX_CUBLAS_CHECK(cublasSetStream(g_handle, 0));
        NX_CUBLAS_CHECK(cublasSetMathMode(g_handle, CUBLAS_DEFAULT_MATH));
        const char *env = getenv("NX_CUDA_TF32");
        if (env && env[0] == '1') g_tf32 = true;
        g_tf32_applied = false;
        g_handle_ready = true;
    }
    if (g_tf32 != g_tf32_applied) {
        NX_CUBLAS_CHECK(cublasSetMathMode(g_handle, g_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
        g_tf32_applied = g_tf32;
    }
    return g_handle;
}

/* ---- C = beta * C, for K == 0 or alpha == 0 ---------------------------- */

static __global__ void scale_c_kernel(float *C, int M, int N, int ldc, float beta) {
    NX_GRID_STRIDE(t, (int64_t)M * N) {
        const int64_t i = t / N, j = t - i * N;
        float *c = C + i * ldc + j;
        *c = beta == 0.0f ? 0.0f : *c * beta;
    }
}

/* ---- sgemm ------------------------------------------------------------- */

extern "C" void sgemm_cuda(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc, void *ws) {
    (void)ws; /* cuBLAS keeps its own workspace */
    NX_CHECK(M >= 0 && N >= 0 && K >= 0, "sgemm: negative size M=%d N=%d K=%d", M, N, K);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) {
        if (beta != 1.0f) {
            scale_c_kernel<<<nx_grid((int64_t)M * N, NX_BLOCK), NX_BLOCK>>>(C, M, N, ldc, beta);
            NX_LAUNCH_CHECK();
        }
        return;
    }
    NX_CUBLAS_CHECK(cublasSgemm(nx_cublas_handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

/* count products C_i = alpha op(A_i) op(B_i) + beta C_i, X_i = X + i * stride_x
 * (row major, as sgemm_cuda); for the convolution's groups. */
void nx_sgemm_strided_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                              int64_t stride_a, const float *B, int ldb, int64_t stride_b, float beta, float *C,
                              int ldc, int64_t stride_c, int count) {
    NX_CHECK(M >= 0 && N >= 0 && K >= 0 && count >= 0, "sgemm batched: negative size M=%d N=%d K=%d count=%d", M, N, K,
             count);
    if (M == 0 || N == 0 || count == 0) return;
    if (count == 1) {
        sgemm_cuda(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
        return;
    }
    if (K == 0 || alpha == 0.0f) {
        for (int i = 0; i < count; i++)
            sgemm_cuda(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C + (int64_t)i * stride_c, ldc, NULL);
        return;
    }
    NX_CUBLAS_CHECK(cublasSgemmStridedBatched(nx_cublas_handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                              trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, stride_b, A,
                                              lda, stride_a, &beta, C, ldc, stride_c, count));
}
