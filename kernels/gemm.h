/* gemm.h: single-precision matrix multiply, and the linear layer built on it.
 *
 * sgemm is BLAS's SGEMM in row-major form:
 *     C = alpha * op(A) * op(B) + beta * C,   op(X) = X or X^T
 * with op(A) (M, K), op(B) (K, N), C (M, N). lda, ldb, ldc are the row
 * strides (in floats) of A, B, C as stored: A is (M, lda) or, transposed,
 * (K, lda); B is (K, ldb) or, transposed, (N, ldb). beta == 0 ignores C's
 * old contents (NaN included), as BLAS does.
 *
 * The CPU version is blocked and packed (kernels/gemm.c explains the loops
 * and the micro-kernel). Called from inside an OpenMP parallel region it
 * runs on the calling thread only, which is how the convolution uses it
 * (one image per thread); called from outside, it uses all threads.
 */
#ifndef NX_KERNELS_GEMM_H
#define NX_KERNELS_GEMM_H

#include "kernels/hd.h"

/* ws: scratch of sgemm_ws_<cpu|cuda>(...) bytes (the CPU's packing buffers;
 * the CUDA twin needs none, cuBLAS keeps its own). The query must be asked
 * in the same place as the call (inside or outside a parallel region): it
 * counts the threads the product will use. */
void sgemm_cpu(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A /* op(A) (M, K) */,
               int lda, const float *B /* op(B) (K, N) */, int ldb, float beta, float *C /* (M, N) */, int ldc,
               void *ws);
void sgemm_cuda(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc, void *ws);
size_t sgemm_ws_cpu(bool trans_a, bool trans_b, int M, int N, int K);
static inline size_t sgemm_ws_cuda(bool trans_a, bool trans_b, int M, int N, int K) {
    (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K;
    return 0;
}

/* ---- CPU building blocks of the convolution ---------------------------
 * (no CUDA twins: the CUDA path has cuBLAS and never sees these layouts)
 *
 * A product C = alpha * A * B where A is used many times (the weights, for
 * every image) is split in two: pack op(A) (M, K) once into pa
 * (sgemm_packed_a_floats(M, K) floats), then multiply from the packed copy.
 * B may be a matrix, or a function that writes B's packed slivers directly
 * (the convolution's im2col, never stored whole): sliver (p, j) is
 * dst[k][c] = B(p + k, j + c) for k < kc, c < nr, and 0 for nr <= c < SGEMM_NR.
 * C may be a matrix (C = alpha A B + beta C), or a function that receives
 * each finished SGEMM_MR x SGEMM_NR tile of alpha A B over one slice of K
 * (rows i.., columns j..; mr x nr of it valid; `first` on the first slice,
 * later slices must be added to it): the convolution's col2im and its
 * scatter into (N, O, OH, OW). */
#define SGEMM_MR 12
#define SGEMM_NR 32
#define SGEMM_KC 256 /* K slice: a B sliver has at most this many rows */
#define SGEMM_NC 512 /* columns of a B panel: (KC, NC) packed is 512 KiB, in L2 */
#define SGEMM_PACK_B_FLOATS ((size_t)SGEMM_KC * SGEMM_NC) /* one thread's B panel */
typedef void (*SgemmPackB)(const void *ctx, float *dst /* (kc, SGEMM_NR) */, int p, int j, int kc, int nr);
typedef void (*SgemmStoreC)(void *ctx, const float *tile /* (SGEMM_MR, SGEMM_NR) */, int i, int j, int mr, int nr,
                            bool first);
typedef struct {
    const float *B; /* op(B) (K, N): B (K, ldb), or (N, ldb) when trans_b */
    int ldb;
    bool trans_b;
    SgemmPackB pack; /* when not NULL, B is this function instead */
    const void *ctx;
} SgemmB;
typedef struct {
    float *C; /* (M, ldc) */
    int ldc;
    float beta;
    SgemmStoreC store; /* when not NULL, C is this function instead */
    void *ctx;
    bool serial_store; /* store may not run on two threads at once (col2im) */
} SgemmC;

size_t sgemm_packed_a_floats(int M, int K);
void sgemm_pack_a_cpu(float *pa /* packed (M, K) */, bool trans_a, int M, int K, const float *A /* op(A) (M, K) */,
                      int lda);
/* C = alpha * A * B (+ beta * C), A packed; threaded like sgemm_cpu. pb:
 * one B panel (SGEMM_PACK_B_FLOATS) per thread the product uses,
 * sgemm_pack_b_floats(sgemm_threads(M, N, K)) floats (1 thread when
 * C.serial_store, or inside a parallel region). */
void sgemm_packed_cpu(int M, int N, int K, float alpha, const float *pa, SgemmB B, SgemmC C, float *pb);
int sgemm_threads(int M, int N, int K);   /* threads a product of this size uses when called here */
size_t sgemm_pack_b_floats(int threads); /* floats of `threads` B panels */

#endif
