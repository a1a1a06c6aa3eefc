/* linear.cu: the fully connected layer on the GPU as cuBLAS SGEMM calls
 * (kernels/linear.h; CPU version kernels/linear.c; math in
 * autograd/op_linear.c). The bias gradient is a column sum.
 */
#include "kernels/cuda_common.cuh"

/* y[n, o] = b[o]: the bias, before the GEMM adds x w^T (beta = 1), as linear.c */
static __global__ void fill_rows_kernel(float *__restrict__ y, const float *__restrict__ b, int N, int OUT) {
    NX_GRID_STRIDE(t, (int64_t)N * OUT) y[t] = b[t % OUT];
}

extern "C" void linear_forward_cuda(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT,
                                    void *ws) {
    (void)ws;
    if (b && (int64_t)N * OUT > 0) {
        fill_rows_kernel<<<nx_grid((int64_t)N * OUT, NX_BLOCK), NX_BLOCK>>>(y, b, N, OUT);
        NX_LAUNCH_CHECK();
    }
    sgemm_cuda(false, true, N, OUT, IN, 1.0f, x, IN, w, IN, b ? 1.0f : 0.0f, y, OUT, NULL);
}

/* db[o] += sum_n dy[n, o]. Block (32, 8): 32 neighbouring columns (coalesced
 * rows), 8 row slices per column combined in shared memory. Float
 * accumulation, as linear.c. */
#define COLSUM_X 32
#define COLSUM_Y 8
static __global__ void column_sum_kernel(float *__restrict__ db, const float *__restrict__ dy, int N, int OUT) {
    __shared__ float part[COLSUM_Y][COLSUM_X];
    const int o = blockIdx.x * COLSUM_X + threadIdx.x;
    float acc = 0;
    if (o < OUT)
        for (int n = threadIdx.y; n < N; n += COLSUM_Y) acc += dy[(int64_t)n * OUT + o];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < OUT) {
        float s = 0;
        for (int k = 0; k < COLSUM_Y; k++) s += part[k][threadIdx.x];
        db[o] += s;
    }
}

extern "C" void linear_backward_cuda(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                     int N, int IN, int OUT, void *ws) {
    (void)ws;
    if (dx) sgemm_cuda(false, false, N, IN, OUT, 1.0f, dy, OUT, w, IN, 1.0f, dx, IN, NULL);
    if (dw) sgemm_cuda(true, false, OUT, IN, N, 1.0f, dy, OUT, x, IN, 1.0f, dw, IN, NULL);
    if (db && OUT > 0) {
        column_sum_kernel<<<(OUT + COLSUM_X - 1) / COLSUM_X, dim3(COLSUM_X, COLSUM_Y)>>>(db, dy, N, OUT);
        NX_LAUNCH_CHECK();
    }
}
