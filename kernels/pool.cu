/* pool.cu: CUDA twins of max, average and global average pooling
 * (kernels/pool.h; CPU loops in kernels/pool.c; math in
 * autograd/op_maxpool2d.c, op_avgpool2d.c, op_global_avgpool.c).
 *
 *  - maxpool2d / avgpool2d forward: one thread per output. The max-pool
 *    backward scatters through the saved argmax with atomicAdd (windows may
 *    overlap); the avg-pool backward is a gather: each input sums the
 *    outputs whose window covers it, so no atomics.
 *  - global_avgpool: one warp per plane, double accumulation.
 */
#include "kernels/cuda_common.cuh"
#include "kernels/pool_math.h"

/* ---- maxpool2d --------------------------------------------------------- */

static __global__ void maxpool2d_forward_kernel(float *__restrict__ y, int32_t *idx, const float *__restrict__ x, int P,
                                                int H, int W, int OH, int OW, int k, int stride, int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    NX_GRID_STRIDE(o, total) {
        const int ow = (int)(o % OW), oh = (int)((o / OW) % OH);
        const int64_t p = o / ((int64_t)OW * OH);
        const float *xp = x + p * H * W;
        int32_t arg;
        const float best = pool_window_max(xp, W, pool_window(oh, ow, H, W, k, stride, pad), &arg);
        y[o] = best;
        if (idx) idx[o] = arg;
    }
}

extern "C" void maxpool2d_forward_cuda(float *y, int32_t *idx, const float *x, int P, int H, int W, int OH, int OW,
                                       int k, int stride, int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    if (total <= 0) return;
    maxpool2d_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, idx, x, P, H, W, OH, OW, k, stride, pad);
    NX_LAUNCH_CHECK();
}

/* dx[p, idx[p, o]] += dy[p, o]: overlapping windows may share an argmax, so atomic. */
static __global__ void maxpool2d_backward_kernel(float *dx, const float *__restrict__ dy,
                                                 const int32_t *__restrict__ idx, int64_t total, int HW, int OHW) {
    NX_GRID_STRIDE(o, total) {
        const int64_t p = o / OHW;
        atomicAdd(dx + p * HW + idx[o], dy[o]);
    }
}

extern "C" void maxpool2d_backward_cuda(float *dx, const float *dy, const int32_t *idx, int P, int HW, int OHW,
                                        bool accumulate) {
    if (!accumulate && (int64_t)P * HW > 0) NX_CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * (size_t)P * HW));
    const int64_t total = (int64_t)P * OHW;
    if (total <= 0) return;
    maxpool2d_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, idx, total, HW, OHW);
    NX_LAUNCH_CHECK();
}

/* ---- avgpool2d --------------------------------------------------------- */

static __global__ void avgpool2d_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int P, int H, int W,
                                                int OH, int OW, int k, int stride, int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    NX_GRID_STRIDE(o, total) {
        const int ow = (int)(o % OW), oh = (int)((o / OW) % OH);
        const int64_t p = o / ((int64_t)OW * OH);
        const float *xp = x + p * H * W;
        const float s = pool_window_sum(xp, W, pool_window(oh, ow, H, W, k, stride, pad));
        y[o] = s / (float)avg_divisor(oh, ow, H, W, k, stride, pad);
    }
}

extern "C" void avgpool2d_forward_cuda(float *y, const float *x, int P, int H, int W, int OH, int OW, int k, int stride,
                                       int pad) {
    const int64_t total = (int64_t)P * OH * OW;
    if (total <= 0) return;
    avgpool2d_forward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(y, x, P, H, W, OH, OW, k, stride, pad);
    NX_LAUNCH_CHECK();
}

/* Gather: input (ih, iw) lies in the window of output oh iff
 * oh*stride - pad <= ih < oh*stride - pad + k, i.e.
 * ceil((ih + pad - k + 1) / stride) <= oh <= floor((ih + pad) / stride). */
static __device__ __forceinline__ void avg_out_range(int i, int pad, int k, int stride, int out, int *lo, int *hi) {
    const int a = i + pad - k + 1;
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = min((i + pad) / stride, out - 1); /* inclusive */
}

static __global__ void avgpool2d_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int P, int H,
                                                 int W, int OH, int OW, int k, int stride, int pad) {
    const int64_t total = (int64_t)P * H * W;
    NX_GRID_STRIDE(t, total) {
        const int iw = (int)(t % W), ih = (int)((t / W) % H);
        const int64_t p = t / ((int64_t)W * H);
        const float *dyp = dy + p * OH * OW;
        int oh0, oh1, ow0, ow1;
        avg_out_range(ih, pad, k, stride, OH, &oh0, &oh1);
        avg_out_range(iw, pad, k, stride, OW, &ow0, &ow1);
        float s = 0;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
                s += dyp[oh * OW + ow] / (float)avg_divisor(oh, ow, H, W, k, stride, pad);
        dx[t] += s;
    }
}

extern "C" void avgpool2d_backward_cuda(float *dx, const float *dy, int P, int H, int W, int OH, int OW, int k,
                                        int stride, int pad) {
    const int64_t total = (int64_t)P * H * W;
    if (total <= 0 || OH <= 0 || OW <= 0) return;
    avgpool2d_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dx, dy, P, H, W, OH, OW, k, stride, pad);
    NX_LAUNCH_CHECK();
}

/* ---- global_avgpool ---------------------------------------------------- */

/* One warp per plane: y[p] = sum(x[p, :]) / HW, summed in double. */
static __global__ void global_avgpool_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t P,
                                                     int64_t HW) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t p = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; p < P; p += warps) {
        const float *xp = x + p * HW;
        double s = 0;
        for (int64_t i = lane; i < HW; i += 32) s += xp[i];
        s = nx_warp_sum(s);
        if (lane == 0) y[p] = (float)(s / (double)HW);
    }
}

extern "C" void global_avgpool_forward_cuda(float *y, const float *x, int64_t P, int64_t HW) {
    if (P <= 0) return;
    global_avgpool_forward_kernel<<<nx_grid(P * 32, NX_BLOCK), NX_BLOCK>>>(y, x, P, HW);
    NX_LAUNCH_CHECK();
}

static __global__ void global_avgpool_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int64_t P,
                                                      int64_t HW) {
    NX_GRID_STRIDE(t, P * HW) dx[t] += dy[t / HW] / (float)HW;
}

extern "C" void global_avgpool_backward_cuda(float *dx, const float *dy, int64_t P, int64_t HW) {
    if (P <= 0 || HW <= 0) return;
    global_avgpool_backward_kernel<<<nx_grid(P * HW, NX_BLOCK), NX_BLOCK>>>(dx, dy, P, HW);
    NX_LAUNCH_CHECK();
}
