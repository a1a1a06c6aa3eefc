/* bench_ops.c: times nicex's CPU SGEMM and conv2d (forward + backward) on
 * the layer shapes of LeNet5, VGG11 (32x32 input) and ResNet18 (224x224).
 *
 *   build/bench_ops                 every shape
 *   build/bench_ops --list          the shapes, one line each, without timing
 *   build/bench_ops --only NAME     one shape (bench/bench_ops.py runs them one
 *                                   at a time, alternating with PyTorch)
 *   build/bench_ops --reps R        timed repetitions (median reported; default 5)
 *   build/bench_ops --clock cpu     process CPU time instead of wall time: on a
 *                                   shared machine, single-thread CPU time
 *                                   does not count time spent descheduled
 *
 * Output: one machine-readable line per shape, key=value pairs:
 *   gemm name=... M= N= K= ta= tb= flops= ms=
 *   conv name=... N= C= H= W= O= K= stride= pad= groups= flops= fwd_ms= bwd_ms= ms=
 * ms is the median over the repetitions (after one warm-up) of one whole
 * operation: C = A B for gemm; forward, then backward computing dx, dw and db
 * for conv. flops counts multiply-adds as 2: 2 M N K for gemm, 3 x 2 N O
 * (C/groups) K K OH OW for conv forward + backward.
 */
#include "kernels/kernels.h"
#include "tensor/tensor.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    int M, N, K, ta, tb;
} GemmShape;

typedef struct {
    const char *name;
    int N, C, H, W, O, K, stride, pad, groups;
} BenchConv;

static const GemmShape g_gemm[] = {
    {"sgemm.256", 256, 256, 256, 0, 0},       {"sgemm.1024", 1024, 1024, 1024, 0, 0},
    {"sgemm.2048", 2048, 2048, 2048, 0, 0},   {"sgemm.1024.tn", 1024, 1024, 1024, 1, 0},
    {"sgemm.1024.nt", 1024, 1024, 1024, 0, 1}, {"sgemm.lenet_fc1", 100, 500, 800, 0, 1},
};

static const BenchConv g_conv[] = {
    /* LeNet5 (MNIST, batch 100) */
    {"lenet5.conv1", 100, 1, 28, 28, 20, 5, 1, 0, 1},
    {"lenet5.conv2", 100, 20, 12, 12, 50, 5, 1, 0, 1},
    /* VGG11 at 32x32 (CIFAR-10, batch 64), all 3x3 pad 1 */
    {"vgg11.conv1", 64, 3, 32, 32, 64, 3, 1, 1, 1},
    {"vgg11.conv2", 64, 64, 16, 16, 128, 3, 1, 1, 1},
    {"vgg11.conv3", 64, 128, 8, 8, 256, 3, 1, 1, 1},
    {"vgg11.conv4", 64, 256, 8, 8, 256, 3, 1, 1, 1},
    {"vgg11.conv5", 64, 256, 4, 4, 512, 3, 1, 1, 1},
    {"vgg11.conv6", 64, 512, 4, 4, 512, 3, 1, 1, 1},
    {"vgg11.conv7", 64, 512, 2, 2, 512, 3, 1, 1, 1},
    {"vgg11.conv8", 64, 512, 2, 2, 512, 3, 1, 1, 1},
    /* ResNet18 at 224x224, batch 8 */
    {"resnet18.conv1", 8, 3, 224, 224, 64, 7, 2, 3, 1},
    {"resnet18.layer1.conv", 8, 64, 56, 56, 64, 3, 1, 1, 1},
    {"resnet18.layer2.0.conv1", 8, 64, 56, 56, 128, 3, 2, 1, 1},
    {"resnet18.layer2.0.downsample", 8, 64, 56, 56, 128, 1, 2, 0, 1},
    {"resnet18.layer2.conv", 8, 128, 28, 28, 128, 3, 1, 1, 1},
    {"resnet18.layer3.0.conv1", 8, 128, 28, 28, 256, 3, 2, 1, 1},
    {"resnet18.layer3.0.downsample", 8, 128, 28, 28, 256, 1, 2, 0, 1},
    {"resnet18.layer3.conv", 8, 256, 14, 14, 256, 3, 1, 1, 1},
    {"resnet18.layer4.0.conv1", 8, 256, 14, 14, 512, 3, 2, 1, 1},
    {"resnet18.layer4.0.downsample", 8, 256, 14, 14, 512, 1, 2, 0, 1},
    {"resnet18.layer4.conv", 8, 512, 7, 7, 512, 3, 1, 1, 1},
};

#define N_GEMM (int)(sizeof g_gemm / sizeof g_gemm[0])
#define N_CONV (int)(sizeof g_conv / sizeof g_conv[0])

static clockid_t g_clock = CLOCK_MONOTONIC;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(g_clock, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static float *rand_buf(size_t n, uint64_t seed) {
    float *p = nx_malloc(n * sizeof(float));
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
    }
    return p;
}

static void bench_gemm(const GemmShape *g, int reps, bool run) {
    double flops = 2.0 * g->M * g->N * g->K;
    printf("gemm name=%s M=%d N=%d K=%d ta=%d tb=%d flops=%.0f", g->name, g->M, g->N, g->K, g->ta, g->tb, flops);
    if (!run) {
        printf("\n");
        return;
    }
    float *A = rand_buf((size_t)g->M * g->K, 1), *B = rand_buf((size_t)g->K * g->N, 2);
    float *C = rand_buf((size_t)g->M * g->N, 3);
    int lda = g->ta ? g->M : g->K, ldb = g->tb ? g->K : g->N;
    double *t = nx_malloc(sizeof(double) * reps);
    for (int r = -1; r < reps; r++) {
        double t0 = now_ms();
        void *ws = workspace_get(NX_CPU, sgemm_ws_cpu(g->ta, g->tb, g->M, g->N, g->K));
        sgemm_cpu(g->ta, g->tb, g->M, g->N, g->K, 1.0f, A, lda, B, ldb, 0.0f, C, g->N, ws);
        if (r >= 0) t[r] = now_ms() - t0;
    }
    printf(" ms=%.4f\n", median(t, reps));
    fflush(stdout);
    free(A), free(B), free(C), free(t);
}

static void bench_conv(const BenchConv *c, int reps, bool run) {
    int OH = conv_out_size(c->H, c->K, c->stride, c->pad), OW = conv_out_size(c->W, c->K, c->stride, c->pad);
    double flops = 3.0 * 2.0 * c->N * c->O * (c->C / c->groups) * c->K * c->K * OH * OW;
    printf("conv name=%s N=%d C=%d H=%d W=%d O=%d K=%d stride=%d pad=%d groups=%d flops=%.0f", c->name, c->N, c->C,
           c->H, c->W, c->O, c->K, c->stride, c->pad, c->groups, flops);
    if (!run) {
        printf("\n");
        return;
    }
    size_t nx = (size_t)c->N * c->C * c->H * c->W, nw = (size_t)c->O * (c->C / c->groups) * c->K * c->K;
    size_t ny = (size_t)c->N * c->O * OH * OW;
    float *x = rand_buf(nx, 1), *w = rand_buf(nw, 2), *b = rand_buf(c->O, 3), *y = rand_buf(ny, 4);
    float *dy = rand_buf(ny, 5), *dx = rand_buf(nx, 6), *dw = rand_buf(nw, 7), *db = rand_buf(c->O, 8);
    double *tf = nx_malloc(sizeof(double) * reps), *tb = nx_malloc(sizeof(double) * reps);
    double *tt = nx_malloc(sizeof(double) * reps);
    for (int r = -1; r < reps; r++) {
        double t0 = now_ms();
        void *ws = workspace_get(NX_CPU, conv2d_forward_ws_cpu(c->N, c->C, c->H, c->W, c->O, c->K, c->K, c->stride,
                                                               c->pad, c->groups));
        conv2d_forward_cpu(y, x, w, b, c->N, c->C, c->H, c->W, c->O, c->K, c->K, c->stride, c->pad, c->groups, ws);
        double t1 = now_ms();
        /* gradients are zeroed before each backward, as a training step does */
        memset(dx, 0, nx * sizeof(float));
        memset(dw, 0, nw * sizeof(float));
        memset(db, 0, c->O * sizeof(float));
        double t2 = now_ms();
        ws = workspace_get(NX_CPU, conv2d_backward_ws_cpu(true, true, c->N, c->C, c->H, c->W, c->O, c->K, c->K,
                                                          c->stride, c->pad, c->groups));
        conv2d_backward_cpu(dx, dw, db, dy, x, w, c->N, c->C, c->H, c->W, c->O, c->K, c->K, c->stride, c->pad,
                            c->groups, ws);
        double t3 = now_ms();
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t3 - t2;
            tt[r] = (t1 - t0) + (t3 - t2);
        }
    }
    printf(" fwd_ms=%.4f bwd_ms=%.4f ms=%.4f\n", median(tf, reps), median(tb, reps), median(tt, reps));
    fflush(stdout);
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(tf), free(tb), free(tt);
}

int main(int argc, char **argv) {
    const char *only = NULL;
    int reps = 5;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fprintf(stderr, "bench_ops: --reps %s: expected an integer from 1 to 1000000\n", argv[i]);
                return 2;
            }
            reps = (int)v;
        }
        else if (!strcmp(argv[i], "--list")) list = true;
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc && !strcmp(argv[i + 1], "cpu"))
            g_clock = CLOCK_PROCESS_CPUTIME_ID, i++;
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc && !strcmp(argv[i + 1], "wall"))
            i++;
        else {
            fprintf(stderr, "usage: %s [--list] [--only NAME] [--reps R] [--clock wall|cpu]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    int found = 0;
    if (!only) printf("# threads=%d reps=%d\n", omp_get_max_threads(), reps);
    for (int i = 0; i < N_GEMM; i++)
        if (!only || !strcmp(only, g_gemm[i].name)) bench_gemm(&g_gemm[i], reps, !list), found++;
    for (int i = 0; i < N_CONV; i++)
        if (!only || !strcmp(only, g_conv[i].name)) bench_conv(&g_conv[i], reps, !list), found++;
    if (!found) {
        fprintf(stderr, "bench_ops: no shape named %s (--list shows them)\n", only);
        return 1;
    }
    return 0;
}
