/* elementwise.cu: CUDA twins of the unary and broadcasting binary
 * elementwise kernels, of the sum/mean reductions and of the reshape
 * gradient (kernels/elementwise.h; CPU loops in kernels/elementwise.c; the
 * scalar math both share in kernels/elementwise_math.h).
 *
 * Unary ops: one thread per element, the CPU's float expression.
 *
 * Broadcasting (elementwise.h): shapes are padded to 4 dims; an input reads
 * with stride 0 along the dims where it has size 1. The forward is one
 * thread per output element.
 *
 * Box reductions. The binary backward (each element j of an input t sums
 * its gradient terms over the y elements that read it) and sum_forward (each
 * output j sums its x elements over the reduced dims) are the same pattern:
 * an "outer" shape ks (t's shape, or x's with reduced dims set to 1) inside
 * a "full" shape fs (y's, or x's), and element j of ks owns the box of full
 * coordinates that agree with j on the dims where ks[d] == fs[d] and span
 * all of fs[d] where ks[d] == 1. With R = numel(fs) / numel(ks) terms per
 * box, the work is laid out by size, always summing in double as the CPU:
 *  - R <= 32: one thread per box;
 *  - R <= 8192, or many boxes: one warp per box (lanes stride over it);
 *  - otherwise (a scalar or per-channel input, a full sum): `chunks` blocks
 *    per box write partial sums to the workspace, then one thread per box
 *    adds its partials in order. No atomics anywhere: results do not depend
 *    on scheduling.
 * Inside a box, consecutive k walk the innermost spanned dim first, so the
 * loads of a warp are contiguous when that dim is the last one.
 */
#include "kernels/cuda_common.cuh"
#include "kernels/elementwise_math.h"

/* ---- unary ------------------------------------------------------------- */

/* Define a forward kernel y[i] = EXPR(x[i]) (as `v`) and its launcher. */
#define UNARY_FORWARD(name, EXPR)                                                                                      \
    static __global__ void name##_forward_kernel(float *__restrict__ y, const float *__restrict__ x, int64_t n) {      \
        NX_GRID_STRIDE(i, n) {                                                                                         \
            const float v = x[i];                                                                                      \
            y[i] = (EXPR);                                                                                             \
        }                                                                                                              \
    }                                                                                                                  \
    extern "C" void name##_forward_cuda(float *y, const float *x, int64_t n) {                                         \
        if (n <= 0) return;                                                                                            \
        name##_forward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(y, x, n);                                            \
        NX_LAUNCH_CHECK();                                                                                             \
    }

/* Define a backward kernel dx[i] += EXPR(g = dy[i], s = saved[i]) and its launcher. */
#define UNARY_BACKWARD(name, EXPR)                                                                                     \
    static __global__ void name##_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,                \
                                                  const float *__restrict__ saved, int64_t n) {                        \
        NX_GRID_STRIDE(i, n) {                                                                                         \
            const float g = dy[i], s = saved[i];                                                                       \
            dx[i] += (EXPR);                                                                                           \
        }                                                                                                              \
    }                                                                                                                  \
    extern "C" void name##_backward_cuda(float *dx, const float *dy, const float *saved, int64_t n) {                  \
        if (n <= 0) return;                                                                                            \
        name##_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, saved, n);                                  \
        NX_LAUNCH_CHECK();                                                                                             \
    }

/* relu: y = max(x, 0); dx += dy * [x > 0] (saved: x) */
UNARY_FORWARD(relu, v > 0 ? v : 0.0f)
static __global__ void relu_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                            const float *__restrict__ x, int64_t n, bool accumulate) {
    NX_GRID_STRIDE(i, n) {
        const float g = x[i] > 0 ? dy[i] : 0.0f;
        dx[i] = (accumulate ? dx[i] : 0.0f) + g; /* not accumulating: 0 + g, as the CPU */
    }
}
extern "C" void relu_backward_cuda(float *dx, const float *dy, const float *x, int64_t n, bool accumulate) {
    if (n <= 0) return;
    relu_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, x, n, accumulate);
    NX_LAUNCH_CHECK();
}

/* sigmoid, in the form that cannot overflow; dx += dy * (1 - y) * y (saved: y) */
UNARY_FORWARD(sigmoid, nx_sigmoid(v))
UNARY_BACKWARD(sigmoid, (g * (1.0f - s) * s))

/* tanh; dx += dy * (1 - y * y) (saved: y) */
UNARY_FORWARD(tanh, tanhf(v))
UNARY_BACKWARD(tanh, (g * (1.0f - s * s)))

/* abs; dx += dy * sign(x), sign(0) = 0 (saved: x) */
UNARY_FORWARD(abs, fabsf(v))
UNARY_BACKWARD(abs, (g * nx_sign(s)))

/* log; dx += dy / x (saved: x) */
UNARY_FORWARD(log, logf(v))
UNARY_BACKWARD(log, g / s)

/* exp; dx += dy * y (saved: y) */
UNARY_FORWARD(exp, expf(v))
UNARY_BACKWARD(exp, (g * s))

/* ---- pow: torch's CPU special cases (nx_pow, kernels/elementwise_math.h) -- */

static __global__ void pow_forward_kernel(float *__restrict__ y, const float *__restrict__ x, float p, int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] = nx_pow(x[i], p);
}

extern "C" void pow_forward_cuda(float *y, const float *x, float p, int64_t n) {
    if (n <= 0) return;
    pow_forward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(y, x, p, n);
    NX_LAUNCH_CHECK();
}

static __global__ void pow_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                           const float *__restrict__ x, float p, int64_t n) {
    NX_GRID_STRIDE(i, n) dx[i] += dy[i] * (p * nx_pow(x[i], p - 1.0f));
}

extern "C" void pow_backward_cuda(float *dx, const float *dy, const float *x, float p, int64_t n) {
    if (n <= 0 || p == 0.0f) return; /* torch: the gradient of x^0 is exactly zero, even at x = 0 */
    pow_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, x, p, n);
    NX_LAUNCH_CHECK();
}

/* ---- clamp ------------------------------------------------------------- */

static __global__ void clamp_forward_kernel(float *__restrict__ y, const float *__restrict__ x, float lo, float hi,
                                            int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] = nx_clamp(x[i], lo, hi); /* NaN stays NaN */
}

extern "C" void clamp_forward_cuda(float *y, const float *x, float lo, float hi, int64_t n) {
    if (n <= 0) return;
    clamp_forward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(y, x, lo, hi, n);
    NX_LAUNCH_CHECK();
}

static __global__ void clamp_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy,
                                             const float *__restrict__ x, float lo, float hi, int64_t n) {
    NX_GRID_STRIDE(i, n) dx[i] += (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
}

extern "C" void clamp_backward_cuda(float *dx, const float *dy, const float *x, float lo, float hi, int64_t n) {
    if (n <= 0) return;
    clamp_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, x, lo, hi, n);
    NX_LAUNCH_CHECK();
}

/* ---- scale ------------------------------------------------------------- */

static __global__ void scale_forward_kernel(float *__restrict__ y, const float *__restrict__ x, float a, float b,
                                            int64_t n) {
    NX_GRID_STRIDE(i, n) y[i] = a * x[i] + b;
}

extern "C" void scale_forward_cuda(float *y, const float *x, float a, float b, int64_t n) {
    if (n <= 0) return;
    scale_forward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(y, x, a, b, n);
    NX_LAUNCH_CHECK();
}

static __global__ void scale_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, float a, int64_t n) {
    NX_GRID_STRIDE(i, n) dx[i] += a * dy[i];
}

extern "C" void scale_backward_cuda(float *dx, const float *dy, float a, int64_t n) {
    if (n <= 0) return;
    scale_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, a, n);
    NX_LAUNCH_CHECK();
}

/* ---- shapes ------------------------------------------------------------ */

/* Four sizes and strides, passed by value to the kernels. */
struct Dims4 {
    int s[4];
    int64_t st[4];
};

static int64_t numel4(const int s[4]) { return (int64_t)s[0] * s[1] * s[2] * s[3]; }

/* Contiguous strides of s, with 0 on dims of size 1 (broadcast reads). */
static Dims4 bcast_dims(const int s[4]) {
    Dims4 d;
    int64_t acc = 1;
    for (int k = 3; k >= 0; k--) {
        d.s[k] = s[k];
        d.st[k] = s[k] == 1 ? 0 : acc;
        acc *= s[k];
    }
    return d;
}

/* Coordinates of flat index t of shape s (row major). */
static __device__ __forceinline__ void coords4(int i[4], int64_t t, const int s[4]) {
    for (int d = 3; d >= 0; d--) {
        const int64_t q = t / s[d];
        i[d] = (int)(t - q * s[d]);
        t = q;
    }
}

static __device__ __forceinline__ int64_t dot4(const int i[4], const int64_t st[4]) {
    return i[0] * st[0] + i[1] * st[1] + i[2] * st[2] + i[3] * st[3];
}

/* ---- broadcasting binary forward --------------------------------------- */

enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV };

template <int OP> static __device__ __forceinline__ float bin_apply(float a, float b) {
    if (OP == BIN_ADD) return a + b;
    if (OP == BIN_SUB) return a - b;
    if (OP == BIN_MUL) return a * b;
    return a / b;
}

template <int OP>
static __global__ void bin_forward_kernel(float *__restrict__ y, const float *__restrict__ a,
                                          const float *__restrict__ b, Dims4 ys, Dims4 as, Dims4 bs, int64_t n,
                                          bool same) {
    NX_GRID_STRIDE(t, n) {
        if (same) { /* equal shapes: flat */
            y[t] = bin_apply<OP>(a[t], b[t]);
        } else {
            int i[4];
            coords4(i, t, ys.s);
            y[t] = bin_apply<OP>(a[dot4(i, as.st)], b[dot4(i, bs.st)]);
        }
    }
}

template <int OP>
static void bin_forward(float *y, const float *a, const float *b, const int ys[4], const int as[4], const int bs[4]) {
    const int64_t n = numel4(ys);
    if (n <= 0) return;
    const bool same = numel4(as) == n && numel4(bs) == n;
    bin_forward_kernel<OP>
        <<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(y, a, b, bcast_dims(ys), bcast_dims(as), bcast_dims(bs), n, same);
    NX_LAUNCH_CHECK();
}

/* ---- box reductions ---------------------------------------------------- */

/* Outer shape ks inside full shape fs; be[d] = fs[d] where ks[d] == 1 (the
 * box extent), else 1. nk boxes of R terms each. */
struct Box {
    int ks[4], be[4];
    int64_t nk, R;
};

static Box make_box(const int ks[4], const int fs[4]) {
    Box b;
    for (int d = 0; d < 4; d++) {
        b.ks[d] = ks[d];
        b.be[d] = ks[d] == 1 ? fs[d] : 1;
    }
    b.nk = numel4(ks);
    b.R = numel4(b.be);
    return b;
}

/* Full coordinates of term k of box j: j's coordinate on kept dims, k's on spanned ones (one of the two is 0). */
static __device__ __forceinline__ void box_coords(int i[4], const Box &b, int64_t j, int64_t k) {
    for (int d = 3; d >= 0; d--) {
        const int64_t qj = j / b.ks[d], qk = k / b.be[d];
        i[d] = (int)(j - qj * b.ks[d]) + (int)(k - qk * b.be[d]);
        j = qj;
        k = qk;
    }
}

/* One thread per box. */
template <class Term, class Final> static __global__ void box_thread_kernel(Box b, Term term, Final fin) {
    NX_GRID_STRIDE(j, b.nk) {
        double acc = 0;
        for (int64_t k = 0; k < b.R; k++) {
            int i[4];
            box_coords(i, b, j, k);
            acc += term(i);
        }
        fin(j, acc);
    }
}

/* One warp per box. */
template <class Term, class Final> static __global__ void box_warp_kernel(Box b, Term term, Final fin) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t j = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; j < b.nk; j += warps) {
        double acc = 0;
        for (int64_t k = lane; k < b.R; k += 32) {
            int i[4];
            box_coords(i, b, j, k);
            acc += term(i);
        }
        acc = nx_warp_sum(acc);
        if (lane == 0) fin(j, acc);
    }
}

/* Block g = (box j = g / chunks, chunk c = g % chunks): partial[g] = the sum of
 * terms k = c*blockDim + tid, stepping chunks*blockDim. */
template <class Term>
static __global__ void box_partial_kernel(double *__restrict__ partial, Box b, Term term, int chunks) {
    for (int64_t g = blockIdx.x; g < b.nk * chunks; g += gridDim.x) {
        const int64_t j = g / chunks;
        const int c = (int)(g - j * chunks);
        double acc = 0;
        for (int64_t k = (int64_t)c * blockDim.x + threadIdx.x; k < b.R; k += (int64_t)chunks * blockDim.x) {
            int i[4];
            box_coords(i, b, j, k);
            acc += term(i);
        }
        acc = nx_block_sum(acc);
        if (threadIdx.x == 0) partial[g] = acc;
    }
}

/* One thread per box: its partials, in order. */
template <class Final>
static __global__ void box_finish_kernel(const double *__restrict__ partial, int64_t nk, int chunks, Final fin) {
    NX_GRID_STRIDE(j, nk) {
        double acc = 0;
        for (int c = 0; c < chunks; c++) acc += partial[j * chunks + c];
        fin(j, acc);
    }
}

#define BOX_THREADS 256
#define BOX_MAX_CHUNKS 64

/* Blocks per box of the partial-sums layout, 0 for the one-pass layouts. */
static int64_t box_chunks(const Box &b) {
    if (b.nk <= 0 || b.R <= 32 || b.R <= 8192 || b.nk >= 4096) return 0;
    int64_t chunks = (b.R + BOX_THREADS * 16 - 1) / (BOX_THREADS * 16); /* ~16 terms per thread */
    return chunks > BOX_MAX_CHUNKS ? BOX_MAX_CHUNKS : chunks;
}

/* Scratch of box_reduce: one double per (box, chunk). */
static size_t box_ws_bytes(const Box &b) { return sizeof(double) * (size_t)(b.nk * box_chunks(b)); }

/* fin(j, sum over box j of term(i)) for every box j, laid out by size;
 * ws: box_ws_bytes(b) bytes. */
template <class Term, class Final> static void box_reduce(const Box &b, Term term, Final fin, void *ws) {
    if (b.nk <= 0) return;
    if (b.R <= 32) {
        box_thread_kernel<<<nx_grid(b.nk, BOX_THREADS), BOX_THREADS>>>(b, term, fin);
    } else if (b.R <= 8192 || b.nk >= 4096) {
        box_warp_kernel<<<nx_grid(b.nk * 32, BOX_THREADS), BOX_THREADS>>>(b, term, fin);
    } else {
        const int64_t chunks = box_chunks(b);
        NX_CHECK(ws, "box_reduce: no workspace (the kernel's _ws_cuda bytes)");
        double *partial = (double *)ws;
        const int64_t blocks = b.nk * chunks;
        box_partial_kernel<<<(unsigned)(blocks < NX_MAX_GRID ? blocks : NX_MAX_GRID), BOX_THREADS>>>(partial, b, term,
                                                                                                     (int)chunks);
        NX_LAUNCH_CHECK();
        box_finish_kernel<<<nx_grid(b.nk, NX_BLOCK), NX_BLOCK>>>(partial, b.nk, (int)chunks, fin);
    }
    NX_LAUNCH_CHECK();
}

/* ---- broadcasting binary backward -------------------------------------- */

/* The gradient term of one y element (at full coordinates i) for input a
 * (B = false) or b (B = true), elementwise.c's bin_grad_a / bin_grad_b. */
template <int OP, bool B> struct BinGradTerm {
    const float *dy, *a, *b;
    Dims4 ys, as, bs; /* ys.st: y's contiguous strides */
    __device__ __forceinline__ float operator()(const int i[4]) const {
        const float g = dy[dot4(i, ys.st)];
        if (OP == BIN_ADD) return g;
        if (OP == BIN_SUB) return B ? -g : g;
        const float av = a[dot4(i, as.st)], bv = b[dot4(i, bs.st)];
        if (OP == BIN_MUL) return B ? g * av : g * bv;
        return B ? -g * ((av / bv) / bv) : g / bv; /* torch's div_tensor_other_backward */
    }
};

/* dt[j] += (float)sum */
struct AddInto {
    float *dt;
    __device__ __forceinline__ void operator()(int64_t j, double acc) const { dt[j] += (float)acc; }
};

template <int OP, bool B>
static void bin_backward_one(float *dt, const float *dy, const float *a, const float *b, const int ys[4],
                             const int as[4], const int bs[4], void *ws) {
    BinGradTerm<OP, B> term;
    term.dy = dy, term.a = a, term.b = b;
    term.ys = bcast_dims(ys); /* stride 0 on y's size-1 dims: their coordinate is always 0 */
    term.as = bcast_dims(as);
    term.bs = bcast_dims(bs);
    AddInto fin;
    fin.dt = dt;
    box_reduce(make_box(B ? bs : as, ys), term, fin, ws);
}

template <int OP>
static void bin_backward(float *da, float *db, const float *dy, const float *a, const float *b, const int ys[4],
                         const int as[4], const int bs[4], void *ws) {
    if (da) bin_backward_one<OP, false>(da, dy, a, b, ys, as, bs, ws);
    if (db) bin_backward_one<OP, true>(db, dy, a, b, ys, as, bs, ws); /* after da's: the same scratch */
}

/* The two reductions run one after the other: the larger one's scratch. */
static size_t bin_backward_ws(const int ys[4], const int as[4], const int bs[4]) {
    const size_t a = box_ws_bytes(make_box(as, ys)), b = box_ws_bytes(make_box(bs, ys));
    return a > b ? a : b;
}

/* ---- the public binary kernels ----------------------------------------- */

extern "C" void add_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                 const int bs[4]) {
    bin_forward<BIN_ADD>(y, a, b, ys, as, bs);
}
extern "C" void add_backward_cuda(float *da, float *db, const float *dy, const int ys[4], const int as[4],
                                  const int bs[4], void *ws) {
    bin_backward<BIN_ADD>(da, db, dy, NULL, NULL, ys, as, bs, ws);
}
extern "C" size_t add_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]) {
    return bin_backward_ws(ys, as, bs);
}

extern "C" void sub_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                 const int bs[4]) {
    bin_forward<BIN_SUB>(y, a, b, ys, as, bs);
}
extern "C" void sub_backward_cuda(float *da, float *db, const float *dy, const int ys[4], const int as[4],
                                  const int bs[4], void *ws) {
    bin_backward<BIN_SUB>(da, db, dy, NULL, NULL, ys, as, bs, ws);
}
extern "C" size_t sub_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]) {
    return bin_backward_ws(ys, as, bs);
}

extern "C" void mul_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                 const int bs[4]) {
    bin_forward<BIN_MUL>(y, a, b, ys, as, bs);
}
extern "C" void mul_backward_cuda(float *da, float *db, const float *dy, const float *a, const float *b,
                                  const int ys[4], const int as[4], const int bs[4], void *ws) {
    bin_backward<BIN_MUL>(da, db, dy, a, b, ys, as, bs, ws);
}
extern "C" size_t mul_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]) {
    return bin_backward_ws(ys, as, bs);
}

extern "C" void div_forward_cuda(float *y, const float *a, const float *b, const int ys[4], const int as[4],
                                 const int bs[4]) {
    bin_forward<BIN_DIV>(y, a, b, ys, as, bs);
}
extern "C" void div_backward_cuda(float *da, float *db, const float *dy, const float *a, const float *b,
                                  const int ys[4], const int as[4], const int bs[4], void *ws) {
    bin_backward<BIN_DIV>(da, db, dy, a, b, ys, as, bs, ws);
}
extern "C" size_t div_backward_ws_cuda(const int ys[4], const int as[4], const int bs[4]) {
    return bin_backward_ws(ys, as, bs);
}

/* ---- sum / mean -------------------------------------------------------- */

/* x at full coordinates i */
struct ReadTerm {
    const float *x;
    int64_t st[4]; /* x's contiguous strides */
    __device__ __forceinline__ float operator()(const int i[4]) const { return x[dot4(i, st)]; }
};

/* y[j] = (float)(sum / div) */
struct StoreMean {
    float *y;
    float div;
    __device__ __forceinline__ void operator()(int64_t j, double acc) const { y[j] = (float)(acc / div); }
};

static void kept_shape(int ks[4], const int xs[4], unsigned dims) {
    for (int d = 0; d < 4; d++) ks[d] = (dims >> d) & 1u ? 1 : xs[d];
}

extern "C" size_t sum_forward_ws_cuda(const int xs[4], unsigned dims) {
    int ks[4];
    kept_shape(ks, xs, dims);
    return box_ws_bytes(make_box(ks, xs));
}

extern "C" void sum_forward_cuda(float *y, const float *x, const int xs[4], unsigned dims, float div, void *ws) {
    int ks[4];
    kept_shape(ks, xs, dims);
    ReadTerm term;
    term.x = x;
    const Dims4 xd = bcast_dims(xs); /* contiguous, 0 on size-1 dims (coordinate always 0 there) */
    for (int d = 0; d < 4; d++) term.st[d] = xd.st[d];
    StoreMean fin;
    fin.y = y;
    fin.div = div;
    box_reduce(make_box(ks, xs), term, fin, ws);
}

/* dx[i] += dy[kept part of i] / div: dy read with stride 0 on reduced dims */
static __global__ void sum_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, Dims4 xs, Dims4 ks,
                                           float div, int64_t n) {
    NX_GRID_STRIDE(t, n) {
        int i[4];
        coords4(i, t, xs.s);
        dx[t] += dy[dot4(i, ks.st)] / div;
    }
}

extern "C" void sum_backward_cuda(float *dx, const float *dy, const int xs[4], unsigned dims, float div) {
    int ks[4];
    kept_shape(ks, xs, dims);
    const int64_t n = numel4(xs);
    if (n <= 0) return;
    sum_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, bcast_dims(xs), bcast_dims(ks), div, n);
    NX_LAUNCH_CHECK();
}

/* ---- reshape: dx += dy ------------------------------------------------- */

static __global__ void reshape_backward_kernel(float *__restrict__ dx, const float *__restrict__ dy, int64_t n) {
    NX_GRID_STRIDE(i, n) dx[i] += dy[i];
}

extern "C" void reshape_backward_cuda(float *dx, const float *dy, int64_t n) {
    if (n <= 0) return;
    reshape_backward_kernel<<<nx_grid(n, NX_BLOCK), NX_BLOCK>>>(dx, dy, n);
    NX_LAUNCH_CHECK();
}
