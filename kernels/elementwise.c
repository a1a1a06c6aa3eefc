/* elementwise.c: CPU loops of the elementwise family (kernels/elementwise.h;
 * CUDA twins in kernels/elementwise.cu; the scalar math both share in
 * kernels/elementwise_math.h):
 *
 *  - unary: relu, sigmoid, tanh, abs, pow, log, exp, clamp, scale (math and
 *    PyTorch semantics in autograd/op_<name>.c). Every loop is flat over n.
 *  - broadcasting binary: add, sub, mul, div.
 *  - reductions: sum and mean over a set of dims. They live here because
 *    their CUDA twin shares the box-reduction machinery of the binary
 *    backward (kernels/elementwise.cu).
 *  - the reshape gradient dx += dy.
 */
#include "kernels/elementwise.h"
#include "kernels/elementwise_math.h"

#include <math.h>

#define PAR_N 65536 /* below this many elements (this much work) a loop runs on one thread */

/* ==== unary ================================================================= */

/* ---- relu ---------------------------------------------------------------- */

void relu_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/* Not accumulating, 0 + g exactly as adding into a zeroed dx would (it makes a -0 gradient +0). */
void relu_backward_cpu(float *dx, const float *dy, const float *x, int64_t n, bool accumulate) {
    if (accumulate) {
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
    } else {
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] = 0.0f + (x[i] > 0 ? dy[i] : 0);
    }
}

/* ---- sigmoid -------------------------------------------------------------- */

void sigmoid_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = nx_sigmoid(x[i]);
}

void sigmoid_backward_cpu(float *dx, const float *dy, const float *y, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i]) * y[i];
}

/* ---- tanh ----------------------------------------------------------------- */

void tanh_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

void tanh_backward_cpu(float *dx, const float *dy, const float *y, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

/* ---- abs ------------------------------------------------------------------ */

void abs_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]);
}

void abs_backward_cpu(float *dx, const float *dy, const float *x, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        dx[i] += dy[i] * nx_sign(x[i]);
    }
}

/* ---- pow ------------------------------------------------------------------ */

void pow_forward_cpu(float *y, const float *x, float p, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = nx_pow(x[i], p);
}

void pow_backward_cpu(float *dx, const float *dy, const float *x, float p, int64_t n) {
    if (p == 0.0f) return; /* torch: the gradient of x^0 is exactly zero, even at x = 0 */
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (p * nx_pow(x[i], p - 1.0f));
}

/* ---- log, exp ------------------------------------------------------------- */

void log_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = logf(x[i]);
}

void log_backward_cpu(float *dx, const float *dy, const float *x, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] / x[i];
}

void exp_forward_cpu(float *y, const float *x, int64_t n) {
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

void exp_backward_cpu(float *dx, const float *dy, const float *y, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i];
}

/* ---- clamp ---------------------------------------------------------------- */

void clamp_forward_cpu(float *y, const float *x, float lo, float hi, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = nx_clamp(x[i], lo, hi); /* NaN stays NaN */
}

void clamp_backward_cpu(float *dx, const float *dy, const float *x, float lo, float hi, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
}

/* ---- scale ---------------------------------------------------------------- */

void scale_forward_cpu(float *y, const float *x, float a, float b, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}

void scale_backward_cpu(float *dx, const float *dy, float a, int64_t n) {
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += a * dy[i];
}

/* ==== broadcasting binary =================================================== */

/* The CPU loops of the broadcasting binary ops add, sub, mul, div
 * (math and PyTorch semantics in autograd/op_<name>.c; the broadcasting
 * scheme in kernels/elementwise.h).
 *
 * One generic forward and one generic backward walk serve the four ops; the
 * op's arithmetic is a switch on a compile-time constant (bin_apply,
 * bin_grad_a, bin_grad_b), folded away when the walk is inlined into each
 * public kernel.
 *
 * Forward: y[i0, i1, i2, i3] = op(a[i . sa], b[i . sb]), where sa[d] is a's
 * contiguous stride on dims a has and 0 on dims where a has size 1.
 * Backward, for an input t (a or b): every element j of t collects the sum
 * of its gradient terms over the box of y elements that read it: coordinate
 * d of the box is fixed to j's when t has that dim, and runs over all of
 * ys[d] when t was broadcast along it. Each element of t is written by one
 * thread only, so the loop parallelises without atomics.
 */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } BinOp;

bool bcast_shape4(int *ny, int sy[4], int ys[4], int as[4], int bs[4], int na, const int *sa, int nb, const int *sb) {
    if (na < 0 || na > 4 || nb < 0 || nb > 4) return false;
    *ny = na > nb ? na : nb;
    for (int d = 0; d < 4; d++) { /* d counts dims of the padded 4-d shapes */
        int k = d - (4 - *ny);    /* index in the output's own shape, < 0 for padding */
        int ka = d - (4 - na), kb = d - (4 - nb);
        as[d] = ka >= 0 ? sa[ka] : 1;
        bs[d] = kb >= 0 ? sb[kb] : 1;
        if (as[d] == bs[d] || bs[d] == 1) ys[d] = as[d];
        else if (as[d] == 1) ys[d] = bs[d];
        else return false;
        if (k >= 0) sy[k] = ys[d];
    }
    return true;
}

/* Contiguous strides of shape s, with 0 on the dims where s is 1. */
static inline void bcast_strides(int64_t st[4], const int s[4]) {
    int64_t acc = 1;
    for (int d = 3; d >= 0; d--) {
        st[d] = s[d] == 1 ? 0 : acc;
        acc *= s[d];
    }
}

static inline int64_t numel4(const int s[4]) { return (int64_t)s[0] * s[1] * s[2] * s[3]; }

static inline bool same4(const int s[4], const int t[4]) {
    return s[0] == t[0] && s[1] == t[1] && s[2] == t[2] && s[3] == t[3];
}

ALWAYS_INLINE float bin_apply(BinOp op, float a, float b) {
    switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    default: return a / b;
    }
}

/* The term of dL/da contributed by one output element (g = dL/dy there).
 * a and b are pointers (NULL for add and sub, which need neither). */
ALWAYS_INLINE float bin_grad_a(BinOp op, float g, const float *a, int64_t ia, const float *b, int64_t ib) {
    (void)a, (void)ia;
    switch (op) {
    case BIN_ADD:
    case BIN_SUB: return g;
    case BIN_MUL: return g * b[ib];
    default: return g / b[ib];
    }
}

ALWAYS_INLINE float bin_grad_b(BinOp op, float g, const float *a, int64_t ia, const float *b, int64_t ib) {
    switch (op) {
    case BIN_ADD: return g;
    case BIN_SUB: return -g;
    case BIN_MUL: return g * a[ia];
    default: return -g * ((a[ia] / b[ib]) / b[ib]); /* torch's div_tensor_other_backward */
    }
}

ALWAYS_INLINE void bin_forward(BinOp op, float *y, const float *a, const float *b, const int ys[4], const int as[4],
                               const int bs[4]) {
    int64_t n = numel4(ys);
    if (same4(as, bs)) { /* fast path: equal shapes */
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = bin_apply(op, a[i], b[i]);
        return;
    }
    if (numel4(bs) == 1 && same4(as, ys)) { /* fast path: b is a scalar */
        float s = b[0];
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = bin_apply(op, a[i], s);
        return;
    }
    if (numel4(as) == 1 && same4(bs, ys)) { /* fast path: a is a scalar */
        float s = a[0];
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = bin_apply(op, s, b[i]);
        return;
    }
    int64_t sa[4], sb[4]; /* general case: the 4-d walk, stride 0 on broadcast dims */
    bcast_strides(sa, as);
    bcast_strides(sb, bs);
#pragma omp parallel for collapse(3) if (n > PAR_N) schedule(static)
    for (int i0 = 0; i0 < ys[0]; i0++)
        for (int i1 = 0; i1 < ys[1]; i1++)
            for (int i2 = 0; i2 < ys[2]; i2++) {
                int64_t row = (((int64_t)i0 * ys[1] + i1) * ys[2] + i2) * ys[3];
                const float *ar = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const float *br = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int i3 = 0; i3 < ys[3]; i3++) y[row + i3] = bin_apply(op, ar[i3 * sa[3]], br[i3 * sb[3]]);
            }
}

/* dt += reduction of the gradient terms of input t (which_b: t is b, else a)
 * over the dims t was broadcast along. */
ALWAYS_INLINE void bin_backward_one(BinOp op, bool which_b, float *dt, const float *dy, const float *a,
                                    const float *b, const int ys[4], const int as[4], const int bs[4]) {
    const int *ts = which_b ? bs : as;
    int64_t n = numel4(ys), nt = numel4(ts);
    if (same4(as, bs)) { /* fast path: equal shapes, no reduction */
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
        for (int64_t i = 0; i < n; i++)
            dt[i] += which_b ? bin_grad_b(op, dy[i], a, i, b, i) : bin_grad_a(op, dy[i], a, i, b, i);
        return;
    }
    int64_t sa[4], sb[4], sy[4] = {(int64_t)ys[1] * ys[2] * ys[3], (int64_t)ys[2] * ys[3], ys[3], 1};
    bcast_strides(sa, as);
    bcast_strides(sb, bs);
    if (nt == n) { /* t has y's shape (only the other input was broadcast): no reduction */
#pragma omp parallel for collapse(3) if (n > PAR_N) schedule(static)
        for (int i0 = 0; i0 < ys[0]; i0++)
            for (int i1 = 0; i1 < ys[1]; i1++)
                for (int i2 = 0; i2 < ys[2]; i2++) {
                    int64_t ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2], ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                    int64_t iy = i0 * sy[0] + i1 * sy[1] + i2 * sy[2];
                    for (int i3 = 0; i3 < ys[3]; i3++)
                        dt[iy + i3] += which_b ? bin_grad_b(op, dy[iy + i3], a, ia + i3 * sa[3], b, ib + i3 * sb[3])
                                               : bin_grad_a(op, dy[iy + i3], a, ia + i3 * sa[3], b, ib + i3 * sb[3]);
                }
        return;
    }
    if (nt == 1) { /* fast path: t is a scalar, the sum runs over all of y */
        double acc = 0;
#pragma omp parallel for collapse(3) reduction(+ : acc) if (n > PAR_N) schedule(static)
        for (int i0 = 0; i0 < ys[0]; i0++)
            for (int i1 = 0; i1 < ys[1]; i1++)
                for (int i2 = 0; i2 < ys[2]; i2++) {
                    int64_t ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2], ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                    int64_t iy = i0 * sy[0] + i1 * sy[1] + i2 * sy[2];
                    for (int i3 = 0; i3 < ys[3]; i3++)
                        acc += which_b ? bin_grad_b(op, dy[iy + i3], a, ia + i3 * sa[3], b, ib + i3 * sb[3])
                                       : bin_grad_a(op, dy[iy + i3], a, ia + i3 * sa[3], b, ib + i3 * sb[3]);
                }
        dt[0] += (float)acc;
        return;
    }
    /* General case: one box walk per element j of t. */
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t j = 0; j < nt; j++) {
        int lo[4], hi[4];
        int64_t r = j;
        for (int d = 3; d >= 0; d--) { /* j's coordinates; a broadcast dim spans all of ys[d] */
            int c = (int)(r % ts[d]);
            r /= ts[d];
            lo[d] = ts[d] == 1 ? 0 : c;
            hi[d] = ts[d] == 1 ? ys[d] : c + 1;
        }
        double acc = 0;
        for (int i0 = lo[0]; i0 < hi[0]; i0++)
            for (int i1 = lo[1]; i1 < hi[1]; i1++)
                for (int i2 = lo[2]; i2 < hi[2]; i2++) {
                    int64_t ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2], ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                    int64_t iy = i0 * sy[0] + i1 * sy[1] + i2 * sy[2];
                    for (int i3 = lo[3]; i3 < hi[3]; i3++)
                        acc += which_b ? bin_grad_b(op, dy[iy + i3], a, ia + i3 * sa[3], b, ib + i3 * sb[3])
                                       : bin_grad_a(op, dy[iy + i3], a, ia + i3 * sa[3], b, ib + i3 * sb[3]);
                }
        dt[j] += (float)acc;
    }
}

ALWAYS_INLINE void bin_backward(BinOp op, float *da, float *db, const float *dy, const float *a, const float *b,
                                const int ys[4], const int as[4], const int bs[4]) {
    if (da) bin_backward_one(op, false, da, dy, a, b, ys, as, bs);
    if (db) bin_backward_one(op, true, db, dy, a, b, ys, as, bs);
}

/* ---- the public kernels --------------------------------------------------- */

void add_forward_cpu(float *y, const float *a, const float *b, const int ys[4], const int as[4], const int bs[4]) {
    bin_forward(BIN_ADD, y, a, b, ys, as, bs);
}
void add_backward_cpu(float *da, float *db, const float *dy, const int ys[4], const int as[4], const int bs[4],
                      void *ws) {
    (void)ws; /* no scratch on the CPU */
    bin_backward(BIN_ADD, da, db, dy, NULL, NULL, ys, as, bs);
}

void sub_forward_cpu(float *y, const float *a, const float *b, const int ys[4], const int as[4], const int bs[4]) {
    bin_forward(BIN_SUB, y, a, b, ys, as, bs);
}
void sub_backward_cpu(float *da, float *db, const float *dy, const int ys[4], const int as[4], const int bs[4],
                      void *ws) {
    (void)ws;
    bin_backward(BIN_SUB, da, db, dy, NULL, NULL, ys, as, bs);
}

void mul_forward_cpu(float *y, const float *a, const float *b, const int ys[4], const int as[4], const int bs[4]) {
    bin_forward(BIN_MUL, y, a, b, ys, as, bs);
}
void mul_backward_cpu(float *da, float *db, const float *dy, const float *a, const float *b, const int ys[4],
                      const int as[4], const int bs[4], void *ws) {
    (void)ws;
    bin_backward(BIN_MUL, da, db, dy, a, b, ys, as, bs);
}

void div_forward_cpu(float *y, const float *a, const float *b, const int ys[4], const int as[4], const int bs[4]) {
    bin_forward(BIN_DIV, y, a, b, ys, as, bs);
}
void div_backward_cpu(float *da, float *db, const float *dy, const float *a, const float *b, const int ys[4],
                      const int as[4], const int bs[4], void *ws) {
    (void)ws;
    bin_backward(BIN_DIV, da, db, dy, a, b, ys, as, bs);
}

/* ==== reductions: sum, mean ================================================= */

/* The CPU loops of sum and mean over a set of dims (math and PyTorch
 * semantics in autograd/op_sum.c and op_mean.c; the layout in
 * kernels/elementwise.h).
 *
 * x is (xs[0], xs[1], xs[2], xs[3]); `dims` has bit d set for each reduced
 * dim. The kept shape ks has ks[d] = 1 on reduced dims and xs[d] elsewhere;
 * y is laid out in ks's row-major order (dropping or keeping the size-1
 * dims is the op's business, the memory is the same).
 *
 * Forward: each output element j sums the box of x whose kept coordinates
 * are j's and whose reduced coordinates run over their whole range, in
 * double, then divides by div. Reducing everything is one flat loop.
 * Backward: dx[i] += dy[j(i)] / div, dy read with stride 0 on reduced dims.
 */

static inline void kept_shape(int ks[4], const int xs[4], unsigned dims) {
    for (int d = 0; d < 4; d++) ks[d] = (dims >> d) & 1u ? 1 : xs[d];
}

void sum_forward_cpu(float *y, const float *x, const int xs[4], unsigned dims, float div, void *ws) {
    (void)ws; /* no scratch on the CPU */
    int ks[4];
    kept_shape(ks, xs, dims);
    int64_t n = (int64_t)xs[0] * xs[1] * xs[2] * xs[3], m = (int64_t)ks[0] * ks[1] * ks[2] * ks[3];
    if (m == 1) { /* everything is reduced: one flat sum */
        double acc = 0;
#pragma omp parallel for simd reduction(+ : acc) if (parallel : n > PAR_N) schedule(static)
        for (int64_t i = 0; i < n; i++) acc += x[i];
        y[0] = (float)(acc / div);
        return;
    }
    int64_t sx[4] = {(int64_t)xs[1] * xs[2] * xs[3], (int64_t)xs[2] * xs[3], xs[3], 1};
#pragma omp parallel for if (n > PAR_N) schedule(static)
    for (int64_t j = 0; j < m; j++) {
        int lo[4], hi[4];
        int64_t r = j;
        for (int d = 3; d >= 0; d--) { /* j's kept coordinates; a reduced dim spans all of xs[d] */
            int c = (int)(r % ks[d]);
            r /= ks[d];
            bool red = (dims >> d) & 1u;
            lo[d] = red ? 0 : c;
            hi[d] = red ? xs[d] : c + 1;
        }
        double acc = 0;
        for (int i0 = lo[0]; i0 < hi[0]; i0++)
            for (int i1 = lo[1]; i1 < hi[1]; i1++)
                for (int i2 = lo[2]; i2 < hi[2]; i2++) {
                    const float *row = x + i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                    for (int i3 = lo[3]; i3 < hi[3]; i3++) acc += row[i3];
                }
        y[j] = (float)(acc / div);
    }
}

void sum_backward_cpu(float *dx, const float *dy, const int xs[4], unsigned dims, float div) {
    int ks[4];
    kept_shape(ks, xs, dims);
    int64_t n = (int64_t)xs[0] * xs[1] * xs[2] * xs[3], m = (int64_t)ks[0] * ks[1] * ks[2] * ks[3];
    if (m == 1) { /* everything was reduced: one value broadcast to all of x */
        float g = dy[0] / div;
#pragma omp parallel for simd if (parallel : n > PAR_N) schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] += g;
        return;
    }
    int64_t sk[4], acc = 1; /* dy's strides: contiguous over ks, 0 on reduced (size-1) dims */
    for (int d = 3; d >= 0; d--) {
        sk[d] = ks[d] == 1 ? 0 : acc;
        acc *= ks[d];
    }
#pragma omp parallel for collapse(3) if (n > PAR_N) schedule(static)
    for (int i0 = 0; i0 < xs[0]; i0++)
        for (int i1 = 0; i1 < xs[1]; i1++)
            for (int i2 = 0; i2 < xs[2]; i2++) {
                float *row = dx + (((int64_t)i0 * xs[1] + i1) * xs[2] + i2) * xs[3];
                const float *g = dy + i0 * sk[0] + i1 * sk[1] + i2 * sk[2];
                for (int i3 = 0; i3 < xs[3]; i3++) row[i3] += g[i3 * sk[3]] / div;
            }
}

/* ==== reshape gradient ====================================================== */

void reshape_backward_cpu(float *dx, const float *dy, int64_t n) {
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
}
