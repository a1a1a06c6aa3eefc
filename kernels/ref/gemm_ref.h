/* gemm_ref.h: the naive SGEMM, the version a student reads first.
 *
 *     C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C,   op(X) = X or X^T
 *
 * row major, the same arguments as sgemm_cpu (kernels/gemm.h) but no
 * workspace: three nested loops, one dot product per element of C,
 * accumulated in double. It is the oracle of the fast kernel's tests
 * (tests/suite_gemm.c); kernels/gemm.c explains how the fast one differs
 * (blocking for the caches, packing, a register-tiled micro-kernel,
 * threads). beta == 0 ignores C's old contents (NaN included), as BLAS does.
 */
#ifndef NX_KERNELS_REF_GEMM_REF_H
#define NX_KERNELS_REF_GEMM_REF_H

#include "kernels/hd.h"

void sgemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A /* op(A) (M, K) */,
               int lda, const float *B /* op(B) (K, N) */, int ldb, float beta, float *C /* (M, N) */, int ldc);

#endif
