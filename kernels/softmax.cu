/* softmax.cu: CUDA twins of softmax, log-softmax, cross-entropy and NLL
 * (kernels/softmax.h; CPU loops in kernels/softmax.c, whose arithmetic,
 * float or double, each kernel repeats).
 *
 * A row is the D elements x[base + d * inner], base = (r / inner) * D * inner
 * + r % inner. Two layouts of the work:
 *  - one warp per row (LANES = 32) when rows are contiguous (inner == 1, the
 *    class dimension of logits) or too few to fill the GPU one per thread:
 *    the lanes stride over d and combine max and sums with warp shuffles;
 *  - one thread per row (LANES = 1) otherwise (softmax over the channels of
 *    an NCHW map): neighbouring threads read neighbouring i, coalesced.
 * Sums are accumulated in double, as on the CPU.
 *
 * The losses: a warp per sample computes its max and log-sum-exp (stored in
 * stats) and its loss term (in double, in the workspace); one block then
 * finds the first out-of-range target (the `bad` convention of softmax.h)
 * and sums the terms.
 */
#include "kernels/cuda_common.cuh"

#include <limits.h>

#define ROW_THREADS 256

/* Rows handled by a thread: for (r = first; r < rows; r += step). Lanes of
 * one warp share r when LANES == 32, so warp shuffles inside the loop are safe. */
template <int LANES> struct RowLoop {
    int lane;
    int64_t first, step;
    __device__ __forceinline__ RowLoop() {
        const int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
        lane = (int)(g % LANES);
        first = g / LANES;
        step = (int64_t)gridDim.x * blockDim.x / LANES;
    }
};

template <int LANES, typename T, typename Op> static __device__ __forceinline__ T lanes_reduce(T v, Op op) {
    if (LANES == 32) v = nx_warp_reduce(v, op);
    return v;
}

/* ---- softmax ----------------------------------------------------------- */

template <int LANES>
static __global__ void softmax_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t rows, int D,
                                              int inner) {
    RowLoop<LANES> L;
    for (int64_t r = L.first; r < rows; r += L.step) {
        const int64_t base = (r / inner) * D * inner + r % inner;
        const float *xr = x + base;
        float *yr = y + base;
        float m = -INFINITY;
        for (int d = L.lane; d < D; d += LANES) m = NxMax()(m, xr[(int64_t)d * inner]);
        m = lanes_reduce<LANES>(m, NxMax());
        double s = 0;
        for (int d = L.lane; d < D; d += LANES) {
            const float e = expf(xr[(int64_t)d * inner] - m);
            yr[(int64_t)d * inner] = e;
            s += e;
        }
        s = lanes_reduce<LANES>(s, NxSum());
        for (int d = L.lane; d < D; d += LANES) yr[(int64_t)d * inner] = (float)(yr[(int64_t)d * inner] / s);
    }
}

template <int LANES>
static __global__ void softmax_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                               const float *__restrict__ y, int64_t rows, int D, int inner) {
    RowLoop<LANES> L;
    for (int64_t r = L.first; r < rows; r += L.step) {
        const int64_t base = (r / inner) * D * inner + r % inner;
        double dot = 0; /* sum_d dy_d * y_d */
        for (int d = L.lane; d < D; d += LANES) {
            const int64_t k = base + (int64_t)d * inner;
            dot += (double)dy[k] * y[k];
        }
        dot = lanes_reduce<LANES>(dot, NxSum());
        for (int d = L.lane; d < D; d += LANES) {
            const int64_t k = base + (int64_t)d * inner;
            dx[k] += (float)(y[k] * (dy[k] - dot));
        }
    }
}

/* ---- log_softmax ------------------------------------------------------- */

template <int LANES>
static __global__ void log_softmax_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t rows,
                                                  int D, int inner) {
    RowLoop<LANES> L;
    for (int64_t r = L.first; r < rows; r += L.step) {
        const int64_t base = (r / inner) * D * inner + r % inner;
        float m = -INFINITY;
        for (int d = L.lane; d < D; d += LANES) m = NxMax()(m, x[base + (int64_t)d * inner]);
        m = lanes_reduce<LANES>(m, NxMax());
        double s = 0;
        for (int d = L.lane; d < D; d += LANES) s += exp((double)x[base + (int64_t)d * inner] - m);
        s = lanes_reduce<LANES>(s, NxSum());
        const double log_sum = log(s);
        for (int d = L.lane; d < D; d += LANES) {
            const int64_t k = base + (int64_t)d * inner;
            y[k] = (float)(((double)x[k] - m) - log_sum);
        }
    }
}

template <int LANES>
static __global__ void log_softmax_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                                   const float *__restrict__ y, int64_t rows, int D, int inner) {
    RowLoop<LANES> L;
    for (int64_t r = L.first; r < rows; r += L.step) {
        const int64_t base = (r / inner) * D * inner + r % inner;
        double s = 0; /* sum_d dy_d */
        for (int d = L.lane; d < D; d += LANES) s += dy[base + (int64_t)d * inner];
        s = lanes_reduce<LANES>(s, NxSum());
        for (int d = L.lane; d < D; d += LANES) {
            const int64_t k = base + (int64_t)d * inner;
            dx[k] += (float)(dy[k] - exp((double)y[k]) * s);
        }
    }
}

/* A warp per row when rows are contiguous or few; else a thread per row. */
static bool warp_per_row(int64_t rows, int inner) { return inner == 1 || rows < 8192; }

#define LAUNCH_ROWS(kernel, rows, inner, ...)                                                                          \
    do {                                                                                                               \
        if (warp_per_row(rows, inner))                                                                                 \
            kernel<32><<<nx_grid((rows)*32, ROW_THREADS), ROW_THREADS>>>(__VA_ARGS__);                                 \
        else                                                                                                           \
            kernel<1><<<nx_grid(rows, ROW_THREADS), ROW_THREADS>>>(__VA_ARGS__);                                       \
        NX_LAUNCH_CHECK();                                                                                             \
    } while (0)

extern "C" void softmax_forward_cuda(float *y, const float *x, int outer, int D, int inner) {
    const int64_t rows = (int64_t)outer * inner;
    if (rows <= 0 || D <= 0) return;
    LAUNCH_ROWS(softmax_forward_kernel, rows, inner, y, x, rows, D, inner);
}

extern "C" void softmax_backward_cuda(float *dx, const float *dy, const float *y, int outer, int D, int inner) {
    const int64_t rows = (int64_t)outer * inner;
    if (rows <= 0 || D <= 0) return;
    LAUNCH_ROWS(softmax_backward_kernel, rows, inner, dx, dy, y, rows, D, inner);
}

extern "C" void log_softmax_forward_cuda(float *y, const float *x, int outer, int D, int inner) {
    const int64_t rows = (int64_t)outer * inner;
    if (rows <= 0 || D <= 0) return;
    LAUNCH_ROWS(log_softmax_forward_kernel, rows, inner, y, x, rows, D, inner);
}

extern "C" void log_softmax_backward_cuda(float *dx, const float *dy, const float *y, int outer, int D, int inner) {
    const int64_t rows = (int64_t)outer * inner;
    if (rows <= 0 || D <= 0) return;
    LAUNCH_ROWS(log_softmax_backward_kernel, rows, inner, dx, dy, y, rows, D, inner);
}

/* ---- the `bad` target scan and the mean of per-sample terms ------------ */

#define FINISH_THREADS 1024

/* One block: bad = {first n with targets[n] outside [0, C), its value} or
 * {-1, 0}; loss = sum_n term(n) / N in double, term(n) = terms[n] when
 * terms is given (cross-entropy), -logp[n, t_n] otherwise (NLL). */
/* __launch_bounds__: a block of 1024 threads leaves at most 64 registers a
 * thread; the bound makes nvcc keep to that instead of failing the launch. */
static __global__ void __launch_bounds__(FINISH_THREADS)
    loss_finish_kernel(float *loss, int32_t *bad, const double *terms, const float *logp, const int32_t *targets, int N,
                       int C) {
    int first_bad = INT_MAX;
    double total = 0;
    for (int n = threadIdx.x; n < N; n += blockDim.x) {
        const int32_t t = targets[n];
        if (t < 0 || t >= C) {
            if (n < first_bad) first_bad = n;
            continue;
        }
        total += terms ? terms[n] : -(double)logp[(int64_t)n * C + t];
    }
    first_bad = nx_block_reduce(first_bad, NxMin(), INT_MAX);
    total = nx_block_sum(total);
    if (threadIdx.x == 0) {
        if (first_bad != INT_MAX) {
            bad[0] = first_bad;
            bad[1] = targets[first_bad];
        } else {
            bad[0] = -1;
            bad[1] = 0;
        }
        loss[0] = (float)(total / N); /* N == 0: NaN, as PyTorch's mean of nothing */
    }
}

/* ---- cross_entropy ----------------------------------------------------- */

/* One warp per sample n: stats = {m_n, s_n}, term[n] = s_n - (logits[n, t_n] - m_n)
 * (0 for an out-of-range target, which the finish kernel reports instead). */
static __global__ void cross_entropy_rows_kernel(float *__restrict__ stats, double *__restrict__ terms,
                                                 const float *__restrict__ logits, const int32_t *__restrict__ targets,
                                                 int N, int C) {
    RowLoop<32> L;
    for (int64_t n = L.first; n < N; n += L.step) {
        const float *xr = logits + n * C;
        float m = -INFINITY;
        for (int c = L.lane; c < C; c += 32) m = NxMax()(m, xr[c]);
        m = nx_warp_reduce(m, NxMax());
        double s = 0;
        for (int c = L.lane; c < C; c += 32) s += exp((double)xr[c] - m);
        s = nx_warp_sum(s);
        if (L.lane == 0) {
            const double log_sum = log(s);
            const int32_t t = targets[n];
            stats[2 * n] = m;
            stats[2 * n + 1] = (float)log_sum;
            terms[n] = (t >= 0 && t < C) ? log_sum - ((double)xr[t] - m) : 0.0;
        }
    }
}

extern "C" void cross_entropy_forward_cuda(float *loss, float *stats, int32_t *bad, const float *logits,
                                           const int32_t *targets, int N, int C, void *ws) {
    double *terms = NULL;
    if (N > 0) {
        NX_CHECK(ws, "cross_entropy_forward_cuda: no workspace (cross_entropy_forward_ws_cuda bytes)");
        terms = (double *)ws; /* (N) */
        cross_entropy_rows_kernel<<<nx_grid((int64_t)N * 32, ROW_THREADS), ROW_THREADS>>>(stats, terms, logits, targets,
                                                                                          N, C);
        NX_LAUNCH_CHECK();
    }
    loss_finish_kernel<<<1, FINISH_THREADS>>>(loss, bad, terms, NULL, targets, N, C);
    NX_LAUNCH_CHECK();
}

/* dlogits[n, c] += (exp((logits[n, c] - m_n) - s_n) - [c == t_n]) * dloss / N */
static __global__ void cross_entropy_backward_kernel(float *__restrict__ dlogits, const float *__restrict__ dloss,
                                                     const float *__restrict__ logits, const float *__restrict__ stats,
                                                     const int32_t *__restrict__ targets, int N, int C) {
    const double g = (double)dloss[0] / N;
    NX_GRID_STRIDE(k, (int64_t)N * C) {
        const int64_t n = k / C;
        const int c = (int)(k - n * C);
        const double m = stats[2 * n], log_sum = stats[2 * n + 1];
        dlogits[k] += (float)((exp(((double)logits[k] - m) - log_sum) - (c == targets[n])) * g);
    }
}

extern "C" void cross_entropy_backward_cuda(float *dlogits, const float *dloss, const float *logits, const float *stats,
                                            const int32_t *targets, int N, int C) {
    const int64_t total = (int64_t)N * C;
    if (total <= 0) return;
    cross_entropy_backward_kernel<<<nx_grid(total, NX_BLOCK), NX_BLOCK>>>(dlogits, dloss, logits, stats, targets, N, C);
    NX_LAUNCH_CHECK();
}

/* ---- nll --------------------------------------------------------------- */

extern "C" void nll_forward_cuda(float *loss, int32_t *bad, const float *logp, const int32_t *targets, int N, int C) {
    loss_finish_kernel<<<1, FINISH_THREADS>>>(loss, bad, NULL, logp, targets, N, C);
    NX_LAUNCH_CHECK();
}

/* dlogp[n, t_n] += -dloss / N: one thread per sample, each its own row. */
static __global__ void nll_backward_kernel(float *__restrict__ dlogp, const float *__restrict__ dloss,
                                           const int32_t *__restrict__ targets, int N, int C) {
    const float g = (float)(-(double)dloss[0] / N);
    NX_GRID_STRIDE(n, N) dlogp[n * C + targets[n]] += g;
}

extern "C" void nll_backward_cuda(float *dlogp, const float *dloss, const int32_t *targets, int N, int C) {
    if (N <= 0) return;
    nll_backward_kernel<<<nx_grid(N, NX_BLOCK), NX_BLOCK>>>(dlogp, dloss, targets, N, C);
    NX_LAUNCH_CHECK();
}
