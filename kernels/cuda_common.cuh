/* cuda_common.cuh: what every CUDA file of kernels/ shares.
 *
 *  - the C headers (kernels.h declares every CPU kernel and its CUDA twin,
 *    tensor.h the workspace), included with C linkage, so that each twin
 *    defined here is checked against its declaration;
 *  - checked launches: NX_CUDA_CHECK(call) and NX_LAUNCH_CHECK() stop with
 *    file:line and CUDA's message (the op dispatch also checks after every
 *    twin, and names the op; DEBUG_SYNC=1 synchronises there);
 *  - grid sizes for grid-stride loops (any n, not only multiples of the
 *    block size; n == 0 launches nothing);
 *  - warp and block reductions (sum, max, min) used by batchnorm, softmax,
 *    the losses and the reductions;
 *  - nx_sgemm_strided_batched (defined in gemm.cu, used by conv.cu);
 *  - Philox4x32-10 as host/device code, bit for bit tensor/rng.c (the
 *    counter and key layout of curand_init(seed, 0, i)), and its uniform
 *    u * 2^-32 + 2^-33 with one rounding (curand_uniform).
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
#include "tensor/tensor.h"
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

/* ---- Philox4x32-10 (tensor/rng.c, on the device) ------------------------ */

struct NxPhilox4 {
    uint32_t w[4];
};

/* Block `block` of the stream of `seed`: counter (block lo, block hi, 0, 0),
 * key (seed lo, seed hi); words 4*block .. 4*block + 3 of the stream. */
__host__ __device__ __forceinline__ NxPhilox4 nx_philox_block(uint64_t seed, uint64_t block) {
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    NxPhilox4 r;
    r.w[0] = c0, r.w[1] = c1, r.w[2] = c2, r.w[3] = c3;
    return r;
}

/* u * 2^-32 + 2^-33 in (0, 1]: the word rounded to float, then one fused
 * multiply-add, exactly philox_uniform() (and curand_uniform). */
__device__ __forceinline__ float nx_philox_to_uniform(uint32_t word) {
    return __fmaf_rn(__uint2float_rn(word), 2.3283064365386963e-10f, 1.1641532182693481e-10f);
}

#endif
