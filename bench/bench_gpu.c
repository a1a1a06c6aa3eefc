/* bench_gpu.c: the nicex side of `make bench-gpu` (bench/bench_gpu.py runs
 * it and PyTorch on the same GPU, and writes bench/results/gpu.md).
 *
 *   bench_gpu conv [--batch N]           conv2d forward + backward (dx, dw; no
 *                                        bias, as ResNet18) at ResNet18's
 *                                        224x224 layer shapes, batch 32
 *   bench_gpu train MODEL N HW CLASSES   training throughput: forward,
 *                                        cross-entropy, backward, SGD step
 *                                        (momentum 0.9) on synthetic data
 *                                        that stays in GPU memory
 *   bench_gpu infer MODEL N HW CLASSES   inference throughput (eval mode, no
 *                                        tape) on the same data
 *   options: --warmup W (default 3) --reps R (default 10) --profile P (after
 *   the timed steps, P more steps with every kernel synchronised: each
 *   kernel's share of the step; default 2, 0 for none)
 *
 * Output, one key=value line each (bench_gpu.py parses them):
 *   conv name=... N= C= H= W= O= K= stride= pad= flops= fwd_ms= bwd_ms= ms=
 *   train model= batch= hw= classes= steps= ms_per_step= images_per_s=
 *   infer model= ...                                     (the same keys)
 *   profile kind=train|infer model= kernel= ms_per_step= calls= share=
 *   skip reason=...      when there is no GPU (exit status 0)
 * Times are wall clock between device synchronisations: the conv times are
 * the median over reps of one synchronised call; train and infer time reps
 * steps queued back to back (one synchronisation at the end). Full fp32:
 * sgemm_cuda's cuBLAS handle uses CUBLAS_DEFAULT_MATH (no TF32) unless
 * NX_CUDA_TF32=1, which this program refuses.
 */
#include "autograd/ops.h"
#include "kernels/kernels.h"
#include "layers/model.h"
#include "optim/optim.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"
#ifdef NX_WITH_CUDA
#include "kernels/cuda_api.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_warmup = 3, g_reps = 10, g_profile = 2;

static int usage(void) {
    fprintf(stderr, "usage: bench_gpu conv [--batch N] | train|infer MODEL N HW CLASSES "
                    "[--warmup W] [--reps R] [--profile P]\n");
    return 2;
}

#ifdef NX_WITH_CUDA

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
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

/* n floats uniform in [-1, 1) on the GPU (a fixed LCG: the values do not matter) */
static float *gpu_rand(size_t n, uint64_t seed) {
    float *h = nx_malloc(n * sizeof(float));
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        h[i] = (float)((s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
    }
    float *d = device_malloc(NX_CUDA, n * sizeof(float));
    device_memcpy(NX_CUDA, d, NX_CPU, h, n * sizeof(float));
    free(h);
    return d;
}

typedef struct {
    const char *name;
    int C, H, W, O, K, stride, pad;
} ConvCase;

/* ResNet18 at 224x224: every distinct conv shape (torchvision's layout) */
static const ConvCase RESNET18_CONVS[] = {
    {"conv1", 3, 224, 224, 64, 7, 2, 3},
    {"layer1.conv", 64, 56, 56, 64, 3, 1, 1},
    {"layer2.0.conv1", 64, 56, 56, 128, 3, 2, 1},
    {"layer2.0.downsample", 64, 56, 56, 128, 1, 2, 0},
    {"layer2.conv", 128, 28, 28, 128, 3, 1, 1},
    {"layer3.0.conv1", 128, 28, 28, 256, 3, 2, 1},
    {"layer3.0.downsample", 128, 28, 28, 256, 1, 2, 0},
    {"layer3.conv", 256, 14, 14, 256, 3, 1, 1},
    {"layer4.0.conv1", 256, 14, 14, 512, 3, 2, 1},
    {"layer4.0.downsample", 256, 14, 14, 512, 1, 2, 0},
    {"layer4.conv", 512, 7, 7, 512, 3, 1, 1},
};

static int bench_conv(int N) {
    for (size_t k = 0; k < sizeof RESNET18_CONVS / sizeof RESNET18_CONVS[0]; k++) {
        const ConvCase *c = &RESNET18_CONVS[k];
        const int OH = conv_out_size(c->H, c->K, c->stride, c->pad), OW = conv_out_size(c->W, c->K, c->stride, c->pad);
        const size_t nx = (size_t)N * c->C * c->H * c->W, nw = (size_t)c->O * c->C * c->K * c->K;
        const size_t ny = (size_t)N * c->O * OH * OW;
        float *x = gpu_rand(nx, 1), *w = gpu_rand(nw, 2), *y = gpu_rand(ny, 3), *dy = gpu_rand(ny, 4);
        float *dx = gpu_rand(nx, 5), *dw = gpu_rand(nw, 6);
        double *tf = nx_malloc(sizeof(double) * (size_t)g_reps), *tb = nx_malloc(sizeof(double) * (size_t)g_reps);
        for (int r = -g_warmup; r < g_reps; r++) {
            nx_cuda_sync();
            double t0 = now_ms();
            void *ws = workspace_get(NX_CUDA, conv2d_forward_ws_cuda(N, c->C, c->H, c->W, c->O, c->K, c->K, c->stride,
                                                                     c->pad, 1));
            conv2d_forward_cuda(y, x, w, NULL, N, c->C, c->H, c->W, c->O, c->K, c->K, c->stride, c->pad, 1, ws);
            nx_cuda_sync();
            double t1 = now_ms();
            ws = workspace_get(NX_CUDA, conv2d_backward_ws_cuda(true, true, N, c->C, c->H, c->W, c->O, c->K, c->K,
                                                                c->stride, c->pad, 1));
            conv2d_backward_cuda(dx, dw, NULL, dy, x, w, N, c->C, c->H, c->W, c->O, c->K, c->K, c->stride, c->pad, 1,
                                 ws);
            nx_cuda_sync();
            double t2 = now_ms();
            if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
        }
        double flops = 3.0 * 2.0 * N * c->O * c->C * c->K * c->K * (double)OH * OW;
        double f = median(tf, g_reps), b = median(tb, g_reps);
        printf("conv name=resnet18.%s N=%d C=%d H=%d W=%d O=%d K=%d stride=%d pad=%d flops=%.0f fwd_ms=%.4f "
               "bwd_ms=%.4f ms=%.4f\n",
               c->name, N, c->C, c->H, c->W, c->O, c->K, c->stride, c->pad, flops, f, b, f + b);
        fflush(stdout);
        device_free(NX_CUDA, x), device_free(NX_CUDA, w), device_free(NX_CUDA, y), device_free(NX_CUDA, dy);
        device_free(NX_CUDA, dx), device_free(NX_CUDA, dw);
        free(tf), free(tb);
    }
    return 0;
}

typedef struct {
    Model m;
    Optimizer *opt;
    float *x;   /* (N, C, HW, HW) on the GPU */
    int32_t *y; /* (N) on the GPU */
    int N, C, HW;
} Net;

static void step(Net *n, bool train) {
    nx_step_reset();
    Tensor *x = tensor_wrap(NX_CUDA, NX_F32, n->x, 4, (int[]){n->N, n->C, n->HW, n->HW});
    if (train) {
        Tensor *y = tensor_wrap(NX_CUDA, NX_I32, n->y, 1, (int[]){n->N});
        Tensor *loss = nx_cross_entropy(model_forward(&n->m, x), y);
        params_zero_grad(&n->m.params);
        tape_backward(loss);
        optim_step(n->opt);
    } else {
        (void)model_forward(&n->m, x);
    }
}

static int bench_model(bool train, const char *arch, int N, int HW, int classes) {
    Net n = {.N = N, .HW = HW};
    rng_seed(0);
    if (model_create(&n.m, arch, classes, 0, HW, NX_CUDA) != 0) {
        fprintf(stderr, "bench_gpu: %s\n", nx_error_msg());
        return 2;
    }
    n.C = n.m.in_c;
    n.opt = optim_sgd(&n.m.params, (SgdConfig){.lr = 0.01, .momentum = 0.9});
    model_set_training(&n.m, train);
    n.x = gpu_rand((size_t)N * n.C * HW * HW, 11);
    int32_t *yh = nx_malloc(sizeof(int32_t) * (size_t)N);
    for (int i = 0; i < N; i++) yh[i] = i % classes;
    n.y = device_malloc(NX_CUDA, sizeof(int32_t) * (size_t)N);
    device_memcpy(NX_CUDA, n.y, NX_CPU, yh, sizeof(int32_t) * (size_t)N);
    free(yh);
    bool prev = train ? nx_grad_enabled() : nx_no_grad();
    for (int r = 0; r < g_warmup; r++) step(&n, train);
    nx_cuda_sync();
    double t0 = now_ms();
    for (int r = 0; r < g_reps; r++) step(&n, train);
    nx_cuda_sync();
    double ms = (now_ms() - t0) / g_reps;
    const char *kind = train ? "train" : "infer";
    printf("%s model=%s batch=%d hw=%d classes=%d steps=%d ms_per_step=%.3f images_per_s=%.1f\n", kind, arch, N, HW,
           classes, g_reps, ms, N / (ms / 1e3));
    fflush(stdout);
    if (g_profile > 0) {
        nx_cuda_profile_begin();
        for (int r = 0; r < g_profile; r++) step(&n, train);
        nx_cuda_profile_end();
        const char *name;
        double kms, total = 0;
        long calls;
        int count = nx_cuda_profile_get(-1, &name, &kms, &calls);
        for (int i = 0; i < count; i++) nx_cuda_profile_get(i, &name, &kms, &calls), total += kms;
        for (int i = 0; i < count; i++) {
            nx_cuda_profile_get(i, &name, &kms, &calls);
            printf("profile kind=%s model=%s kernel=%s ms_per_step=%.3f calls=%ld share=%.4f\n", kind, arch, name,
                   kms / g_profile, calls / g_profile, total > 0 ? kms / total : 0);
        }
        fflush(stdout);
    }
    nx_step_reset();
    nx_set_grad(prev);
    device_free(NX_CUDA, n.x);
    device_free(NX_CUDA, n.y);
    optim_free(n.opt);
    model_free(&n.m);
    return 0;
}
#endif

/* A whole decimal int, -1 for anything else (every option here is >= 0). */
static int int_arg(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return end == s || *end || errno || v < 0 || v > INT_MAX ? -1 : (int)v;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *what = argv[1];
    const char *pos[4] = {0};
    int n_pos = 0, batch = 32;
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            if (i + 1 >= argc) return usage();
            int v = int_arg(argv[i + 1]);
            if (strcmp(argv[i], "--warmup") == 0 && v >= 0) g_warmup = v;
            else if (strcmp(argv[i], "--reps") == 0 && v >= 1) g_reps = v;
            else if (strcmp(argv[i], "--profile") == 0 && v >= 0) g_profile = v;
            else if (strcmp(argv[i], "--batch") == 0 && v >= 1) batch = v;
            else {
                fprintf(stderr, "bench_gpu: bad option %s %s\n", argv[i], argv[i + 1]);
                return 2;
            }
            i++;
        } else if (n_pos < 4) {
            pos[n_pos++] = argv[i];
        } else {
            return usage();
        }
    }
    bool model = strcmp(what, "train") == 0 || strcmp(what, "infer") == 0;
    if (!model && strcmp(what, "conv") != 0) return usage();
    if (model && (n_pos != 4 || int_arg(pos[1]) < 1 || int_arg(pos[2]) < 1 || int_arg(pos[3]) < 1)) return usage();
    if (!cuda_available()) {
        printf("skip reason=no-gpu (%s)\n",
#ifdef NX_WITH_CUDA
               "no CUDA device found"
#else
               "built without CUDA"
#endif
        );
        return 0;
    }
#ifdef NX_WITH_CUDA
    const char *tf32 = getenv("NX_CUDA_TF32");
    if (tf32 && tf32[0] == '1') {
        fprintf(stderr, "bench_gpu: NX_CUDA_TF32=1: this bench compares full fp32; unset it\n");
        return 2;
    }
    if (nx_cuda_select(0) != 0) {
        fprintf(stderr, "bench_gpu: %s\n", nx_cuda_last_error());
        return 1;
    }
    if (!model) return bench_conv(batch);
    return bench_model(strcmp(what, "train") == 0, pos[0], int_arg(pos[1]), int_arg(pos[2]), int_arg(pos[3]));
#else
    (void)batch;
    return 1;
#endif
}
