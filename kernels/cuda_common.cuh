/* cuda_common.cuh: what every CUDA file of kernels/ shares.
 *
 *  - the C headers (kernels.h declares every CPU kernel and its CUDA twin,
 *    tensor/common.h the fatal errors), included with C linkage, so that
 *    each twin defined here is checked against its declaration;
 *  - checked launches: NX_CUDA_CHECK(call) and NX_LAUNCH_CHECK() stop with
 *    file:line and CUDA's message (the op dispatch also checks after every
 *    twin, and names the op; DEBUG_SYNC=1 synchronises there);
 *  - grid sizes for grid-stride loops (any n, not only multiples of the
 *    block size; n == 0 launches nothing);
 *  - warp and block reductions (sum, max, min) used by batchnorm, softmax,
 *    the losses and the reductions;
 *  - nx_sgemm_strided_batched (defined in gemm.cu, used by conv.cu).
 * (Philox, on both devices, is kernels/philox.h.)
 *
 * Every twin runs on the default stream, as the memcpy/memset wrappers of
 * cuda_runtime.cu do, so work is ordered without explicit synchronisation.
 */
#ifndef NX_CUDA_COMMON_CUH
#define NX_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/kernels.h"
#include "tensor/common.h"
}

/* ---- checks ------------------------------------------------------------ */

#define NX_CUDA_CHECK(call)                                                                                            \
    do {                                                                                                               \
        cudaError_t e_ = (call);                                                                                       \
        if (e_ != cudaSuccess) nx_fatal_at(__FILE__, __LINE__, "CUDA %s failed: %s", #call, cudaGetErrorString(e_));   \
    } while (0)

/* After a <<<...>>> launch: a bad configuration is reported here, at once. */
#define NX_LAUNCH_CHECK() NX_CUDA_CHECK(cudaGetLastError())

/* ---- launch geometry --------------------------------------------------- */

#define NX_BLOCK 256      /* threads per block of the elementwise kernels (a multiple of 32) */
#define NX_MAX_GRID 65535 /* blocks per grid-stride launch: enough to fill any GPU many times */

/* Blocks for n work items (n >= 1), at `block` threads each, capped: the
 * kernels loop with a grid stride, so a capped grid still covers all n. */
static inline unsigned nx_grid(int64_t n, int block) {
    int64_t g = (n + block - 1) / block;
    if (g < 1) g = 1;
    if (g > NX_MAX_GRID) g = NX_MAX_GRID;
    return (unsigned)g;
}

/* for (int64_t i = global thread index; i < n; i += total threads) */
#define NX_GRID_STRIDE(i, n)                                                                                           \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (int64_t)(n);                                 \
         i += (int64_t)gridDim.x * blockDim.x)

/* ---- reductions -------------------------------------------------------- */
/* All lanes of a full warp must call the warp reductions; every thread of
 * the block must call the block reductions (blockDim.x a multiple of 32,
 * at most 1024). The block reductions return the result to every thread
 * and may be called several times in a row. */

struct NxSum {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
/* max that skips NaN, like the CPU loops' `if (v > m) m = v` from -inf */
struct NxMax {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return b > a ? b : a; }
};
struct NxMin {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return b < a ? b : a; }
};

template <typename T, typename Op> __device__ __forceinline__ T nx_warp_reduce(T v, Op op) {
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v; /* every lane holds the result */
}

template <typename T, typename Op> __device__ __forceinline__ T nx_block_reduce(T v, Op op, T identity) {
    __shared__ T partial[32];
    __shared__ T result;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = (blockDim.x + 31) >> 5;
    v = nx_warp_reduce(v, op);
    __syncthreads(); /* an earlier call may still be reading `result` */
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        T w = lane < n_warps ? partial[lane] : identity;
        w = nx_warp_reduce(w, op);
        if (lane == 0) result = w;
    }
    __syncthreads();
    return result;
}

template <typename T> __device__ __forceinline__ T nx_block_sum(T v) { return nx_block_reduce(v, NxSum(), T(0)); }
template <typename T> __device__ __forceinline__ T nx_warp_sum(T v) { return nx_warp_reduce(v, NxSum()); }

/* ---- batched GEMM (kernels/gemm.cu) ------------------------------------ */

/* count row-major products C_i = alpha op(A_i) op(B_i) + beta C_i with
 * X_i = X + i * stride_x, as sgemm_cuda (one cublasSgemmStridedBatched). */
void nx_sgemm_strided_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                              int64_t stride_a, const float *B, int ldb, int64_t stride_b, float beta, float *C,
                              int ldc, int64_t stride_c, int count);

#endif
