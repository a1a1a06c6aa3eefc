/* linear.c: the fully connected layer as SGEMM calls (math in autograd/op_linear.c).
 *
 *   forward:  y (N, OUT)  = x (N, IN) w^T (IN, OUT) + b       sgemm(no, trans)
 *   dx:       dx (N, IN) += dy (N, OUT) w (OUT, IN)           sgemm(no, no)
 *   dw:       dw (OUT, IN) += dy^T (OUT, N) x (N, IN)         sgemm(trans, no)
 *   db:       db (OUT)   += sum over n of dy
 */
#include "kernels/linear.h"
#include "kernels/gemm.h"


size_t linear_forward_ws_cpu(int N, int IN, int OUT) { return sgemm_ws_cpu(false, true, N, OUT, IN); }

/* the two products run one after the other: the larger one's buffers */
size_t linear_backward_ws_cpu(bool want_dx, bool want_dw, int N, int IN, int OUT) {
    size_t a = want_dx ? sgemm_ws_cpu(false, false, N, IN, OUT) : 0, b = want_dw ? sgemm_ws_cpu(true, false, OUT, IN, N) : 0;
    return a > b ? a : b;
}

void linear_forward_cpu(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT, void *ws) {
    if (b) {
#pragma omp parallel for schedule(static) if ((int64_t)N * OUT > 65536)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) y[(size_t)n * OUT + o] = b[o];
    }
    sgemm_cpu(false, true, N, OUT, IN, 1.0f, x, IN, w, IN, b ? 1.0f : 0.0f, y, OUT, ws);
}

void linear_backward_cpu(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                         int IN, int OUT, void *ws) {
    if (dx) sgemm_cpu(false, false, N, IN, OUT, 1.0f, dy, OUT, w, IN, 1.0f, dx, IN, ws);
    if (dw) sgemm_cpu(true, false, OUT, IN, N, 1.0f, dy, OUT, x, IN, 1.0f, dw, IN, ws);
    if (db) {
#pragma omp parallel for schedule(static) if ((int64_t)N * OUT > 65536)
        for (int o = 0; o < OUT; o++) {
            float acc = 0;
            for (int n = 0; n < N; n++) acc += dy[(size_t)n * OUT + o];
            db[o] += acc;
        }
    }
}
