/* reduce.c: CPU loops of sum and mean over a set of dims (math and PyTorch
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
#include "kernels/kernels.h"

#define PAR_N 65536 /* below this many elements a loop runs on one thread */

static inline void kept_shape(int ks[4], const int xs[4], unsigned dims) {
    for (int d = 0; d < 4; d++) ks[d] = (dims >> d) & 1u ? 1 : xs[d];
}

void sum_forward_cpu(float *y, const float *x, const int xs[4], unsigned dims, float div) {
    int ks[4];
    kept_shape(ks, xs, dims);
    int64_t n = (int64_t)xs[0] * xs[1] * xs[2] * xs[3], m = (int64_t)ks[0] * ks[1] * ks[2] * ks[3];
    if (m == 1) { /* everything is reduced: one flat sum */
        double acc = 0;
#pragma omp parallel for simd reduction(+ : acc) if (n > PAR_N) schedule(static)
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
#pragma omp parallel for simd if (n > PAR_N) schedule(static)
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
