/* suite_cuda.c: every op, the optimizers and the random streams, on the GPU
 * against the CPU (DESIGN.md, "Tests": CPU vs CUDA, as ggml's
 * test-backend-ops).
 *
 *  - ops: for every op of autograd/ops.def, cudacase_<op>() builds CPU
 *    inputs (sizes spanning several thread blocks, not multiples of 32, and
 *    the shapes that pick each code path of the CUDA twins), copies them to
 *    the GPU with tensor_to, runs the op and tape_backward_from with the same
 *    upstream gradient on both devices, and compares the output, every input
 *    gradient and every input's data (batchnorm updates its running stats in
 *    place). An op without a case fails, as in suite_ops.c (a missing CUDA
 *    twin is a link error of the CUDA build, autograd/op.h).
 *  - optimizers: SGD (momentum, dampening, nesterov, weight decay), Adam and
 *    AdamW, three steps on a CPU and a CUDA ParamStore. The CUDA twins repeat
 *    the CPU's float operations with IEEE intrinsics, so they are expected
 *    to agree to the bit; the test allows 1e-6 relative and prints how many
 *    elements differ at all.
 *  - the losses' report of out-of-range targets (first bad sample, its value).
 *  - one training step of each model (lenet5, vgg11, resnet18,
 *    resnet18-cifar): the same initialisation on both devices (drawn on the
 *    host), then forward in training mode, cross-entropy, backward and an
 *    SGD step; logits, loss, every parameter gradient, the parameters after
 *    the step and the batchnorm running statistics are compared, and the
 *    worst normwise error of each kind is printed (for the GPU log).
 *  - one NICE step (nice/train.c's loop body: generator, hard-concrete
 *    sample from the same stream offset, mixed-resolution image, frozen
 *    LeNet5 in eval mode, L_D + lambda1 L_C + lambda2 L_S, backward, Adam on
 *    the generator), compared the same way.
 *  - random streams: the dropout mask (forward and backward) must match the
 *    CPU bit for bit; the logistic noise draws the same uniforms, and its
 *    logs (glibc's logf vs a correctly rounded log on the GPU) may differ by
 *    an ulp, so it is compared to 4 ulps and the count of exact matches is
 *    printed.
 *
 * Tolerances: |gpu - cpu| <= rtol |cpu| + ntol max|cpu| (per tensor). The
 * normwise term absorbs reordered sums that cancel; GEMM-based ops (cuBLAS
 * blocks K differently from the CPU) get 1e-4.
 *
 * Without a GPU (or in a CPU-only build) the suite registers no test: it
 * prints "CUDA suites skipped: no GPU" and the run's summary lists it as
 * skipped (tests/skips.c). With a GPU it sets
 * CK_FORK=no unless already set: a CUDA context does not survive fork(),
 * and the driver is initialised here, in the parent, by cuda_available().
 * Nothing below relies on fork isolation: every case resets the step arenas
 * and the tape before and after, frees what it allocates and restores the
 * grad mode.
 */
#include "tests/testlib.h"
#include "kernels/kernels.h"
#include "layers/model.h"
#include "nice/nice.h"
#include "optim/optim.h"
#include "tensor/rng.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cases call CUDA twins: a CPU-only build (CUDA=0) compiles none of
 * them, so it references no twin, and registers only the "skipped" test. */
#ifdef NX_WITH_CUDA

/* The device of the "GPU" side: NX_CUDA, except in the self-test
 * (NX_CUDA_SELFTEST=1 without a GPU), where the op cases and the training
 * steps run their second side on the CPU too, so that the suite's own
 * plumbing is exercised on a machine without a GPU (every difference must
 * then be zero). */
static Device g_gpu = NX_CUDA;

/* ---- comparison -------------------------------------------------------- */

typedef struct {
    double rtol, ntol;
} Tol;
static const Tol TOL_ELEM = {1e-5, 1e-6}; /* elementwise, resampling, permutations */
static const Tol TOL_RED = {1e-5, 1e-5};  /* reductions in another order */
static const Tol TOL_GEMM = {1e-4, 1e-4}; /* cuBLAS vs the CPU GEMM */

/* Mismatches of got (GPU) against ref (CPU); prints the first few. */
static int compare_buf(const char *label, const char *what, const float *ref, const float *got, int64_t n, Tol tol) {
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(ref[i])) scale = fmax(scale, fabs(ref[i]));
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(ref[i]) && isnan(got[i])) continue;
        if (isinf(ref[i]) && ref[i] == got[i]) continue;
        double err = fabs((double)got[i] - ref[i]), lim = tol.rtol * fabs(ref[i]) + tol.ntol * scale;
        if (!(err <= lim)) {
            if (bad < 5)
                fprintf(stderr, "cuda %s: %s[%lld]: cpu %.9g cuda %.9g (|diff| %.3g > %.3g)\n", label, what,
                        (long long)i, ref[i], got[i], err, lim);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "cuda %s: %s: %d of %lld elements differ\n", label, what, bad, (long long)n);
    return bad;
}

/* Compare a tensor's data (GPU) with one (CPU), or their grads; NULL grad = zeros. */
static int compare_tensors(const char *label, const char *what, const Tensor *ref, const Tensor *got, bool grads,
                           Tol tol) {
    if (!tensor_same_shape(ref, got)) {
        fprintf(stderr, "cuda %s: %s shape %s on cpu, %s on cuda\n", label, what, tensor_shape_str(ref),
                tensor_shape_str(got));
        return 1;
    }
    size_t bytes = tensor_bytes(ref);
    float *r = nx_calloc(1, bytes ? bytes : 4), *g = nx_calloc(1, bytes ? bytes : 4);
    const void *rs = grads ? (const void *)ref->grad : (const void *)ref->data;
    const void *gs = grads ? (const void *)got->grad : (const void *)got->data;
    if (rs) device_memcpy(NX_CPU, r, ref->device, rs, bytes);
    if (gs) device_memcpy(NX_CPU, g, got->device, gs, bytes);
    int bad;
    if (ref->dtype == NX_I32 && !grads) {
        bad = memcmp(r, g, bytes) != 0;
        if (bad) fprintf(stderr, "cuda %s: %s: int32 data differ\n", label, what);
    } else {
        bad = compare_buf(label, what, r, g, ref->numel, tol);
    }
    free(r);
    free(g);
    return bad;
}

/* ---- one op on both devices ------------------------------------------- */

typedef Tensor *(*OpFn)(Tensor **in, const void *arg);

#define MAX_IN 8

/* Runs f on in (CPU) and on copies on the GPU, forward and backward with one
 * random upstream gradient, random ops drawing from the same stream offset;
 * returns the number of mismatches. */
static int run_both(const char *label, OpFn f, Tensor **in, int n_in, const void *arg, Tol tol) {
    Tensor *gin[MAX_IN] = {0};
    for (int i = 0; i < n_in; i++) gin[i] = in[i] ? tensor_to(in[i], g_gpu) : NULL;
    bool prev = nx_grad_enabled();
    nx_set_grad(true);
    uint64_t at = rng_offset();

    /* Gradients start from the same random values on both devices, so that a
     * backward that overwrites instead of adding (+=) is caught. */
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) continue;
        in[i]->grad = gin[i]->grad = NULL;
        if (!in[i]->requires_grad || in[i]->dtype != NX_F32) continue;
        Tensor *g0 = test_uniform(in[i]->ndim, in[i]->shape, -1.0f, 1.0f);
        device_memcpy(NX_CPU, tensor_grad(in[i]), NX_CPU, g0->data, tensor_bytes(g0));
        device_memcpy(g_gpu, tensor_grad(gin[i]), NX_CPU, g0->data, tensor_bytes(g0));
    }

    tape_clear();
    rng_set_offset(at);
    Tensor *yc = f(in, arg);
    const float *w = test_uniform(yc->ndim, yc->shape, -1.0f, 1.0f)->data; /* the upstream gradient */
    bool backward = yc->requires_grad;
    if (backward) tape_backward_from(yc, w);
    tape_clear();

    rng_set_offset(at);
    Tensor *yg = f(gin, arg);
    if (backward) tape_backward_from(yg, w);
    tape_clear();
    nx_set_grad(prev);

    int bad = compare_tensors(label, "output", yc, yg, false, tol);
    char what[64];
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) continue;
        snprintf(what, sizeof what, "input %d data", i);
        bad += compare_tensors(label, what, in[i], gin[i], false, tol);
        if (in[i]->requires_grad && in[i]->dtype == NX_F32) {
            snprintf(what, sizeof what, "input %d grad", i);
            bad += compare_tensors(label, what, in[i], gin[i], true, tol);
        }
    }
    return bad;
}

static Tensor *uni(int n, int c, int h, int w, float lo, float hi, bool grad) {
    Tensor *t = test_uniform4(n, c, h, w, lo, hi);
    t->requires_grad = grad;
    return t;
}

static Tensor *uni_nd(int ndim, const int *shape, float lo, float hi, bool grad) {
    Tensor *t = test_uniform(ndim, shape, lo, hi);
    t->requires_grad = grad;
    return t;
}

/* int32 class targets in [0, C) */
static Tensor *targets(int N, int C) {
    Tensor *t = tensor_newv(NX_CPU, NX_I32, 1, N);
    Tensor *u = test_uniform(1, (int[]){N}, 0.0f, (float)C);
    for (int i = 0; i < N; i++) t->idata[i] = (int32_t)u->data[i] < C ? (int32_t)u->data[i] : C - 1;
    return t;
}

/* ---- the cases, in ops.def order ---------------------------------------- */

#define X(name) int cudacase_##name(void) __attribute__((weak));
#include "autograd/ops.def"
#undef X

/* conv2d: several images (staged GEMM path), one image (direct path), groups, depthwise, stride, no bias */
typedef struct {
    int stride, pad, groups;
} ConvArg;
static Tensor *f_conv2d(Tensor **in, const void *arg) {
    const ConvArg *a = arg;
    return nx_conv2d(in[0], in[1], in[2], a->stride, a->pad, a->groups);
}
int cudacase_conv2d(void) {
    static const struct {
        int N, C, H, W, O, k, stride, pad, groups;
        bool bias;
    } v[] = {
        {3, 5, 17, 19, 7, 3, 1, 1, 1, true}, {1, 5, 17, 19, 7, 3, 1, 1, 1, true},  {2, 6, 13, 11, 4, 3, 2, 1, 2, true},
        {2, 3, 23, 21, 3, 5, 1, 2, 3, true}, {2, 3, 23, 21, 3, 3, 2, 0, 3, false}, {4, 3, 9, 10, 33, 1, 1, 0, 1, false},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Tensor *in[3] = {uni(v[i].N, v[i].C, v[i].H, v[i].W, -1, 1, true),
                         uni(v[i].O, v[i].C / v[i].groups, v[i].k, v[i].k, -0.5f, 0.5f, true),
                         v[i].bias ? uni_nd(1, (int[]){v[i].O}, -0.5f, 0.5f, true) : NULL};
        ConvArg a = {v[i].stride, v[i].pad, v[i].groups};
        char label[64];
        snprintf(label, sizeof label, "conv2d case %zu", i);
        bad += run_both(label, f_conv2d, in, 3, &a, TOL_GEMM);
    }
    return bad;
}

static Tensor *f_linear(Tensor **in, const void *arg) {
    (void)arg;
    return nx_linear(in[0], in[1], in[2]);
}
int cudacase_linear(void) {
    Tensor *a[3] = {uni_nd(2, (int[]){37, 301}, -1, 1, true), uni_nd(2, (int[]){45, 301}, -0.2f, 0.2f, true),
                    uni_nd(1, (int[]){45}, -1, 1, true)};
    Tensor *b[3] = {uni_nd(2, (int[]){300, 7}, -1, 1, true), uni_nd(2, (int[]){10, 7}, -1, 1, true), NULL};
    return run_both("linear", f_linear, a, 3, NULL, TOL_GEMM) +
           run_both("linear no bias", f_linear, b, 3, NULL, TOL_GEMM);
}

typedef struct {
    bool training;
} BnArg;
static Tensor *f_batchnorm2d(Tensor **in, const void *arg) {
    const BnArg *a = arg;
    return nx_batchnorm2d(in[0], in[1], in[2], in[3], in[4], a->training, 0.1f, 1e-5f);
}
int cudacase_batchnorm2d(void) {
    int bad = 0;
    for (int mode = 0; mode < 3; mode++) { /* training, eval, training without affine or running stats */
        int C = 5;
        Tensor *in[5] = {uni(3, C, 37, 41, -2, 3, true), uni_nd(1, &C, 0.5f, 1.5f, true),
                         uni_nd(1, &C, -0.5f, 0.5f, true), uni_nd(1, &C, -0.5f, 0.5f, false),
                         uni_nd(1, &C, 0.5f, 2.0f, false)};
        if (mode == 2) in[1] = in[2] = in[3] = in[4] = NULL;
        BnArg a = {mode != 1};
        static const char *labels[] = {"batchnorm2d training", "batchnorm2d eval", "batchnorm2d plain"};
        bad += run_both(labels[mode], f_batchnorm2d, in, 5, &a, TOL_RED);
    }
    return bad;
}

typedef struct {
    int k, stride, pad;
} PoolArg;
static Tensor *f_maxpool2d(Tensor **in, const void *arg) {
    const PoolArg *a = arg;
    return nx_maxpool2d(in[0], a->k, a->stride, a->pad);
}
static Tensor *f_avgpool2d(Tensor **in, const void *arg) {
    const PoolArg *a = arg;
    return nx_avgpool2d(in[0], a->k, a->stride, a->pad);
}
static const PoolArg POOLS[] = {{2, 2, 0}, {3, 2, 1}, {3, 1, 1}, {5, 3, 2}};
int cudacase_maxpool2d(void) {
    int bad = 0;
    for (size_t i = 0; i < sizeof POOLS / sizeof POOLS[0]; i++) {
        Tensor *in[1] = {uni(3, 5, 33, 35, -1, 1, true)};
        bad += run_both("maxpool2d", f_maxpool2d, in, 1, &POOLS[i], TOL_RED);
    }
    return bad;
}
int cudacase_avgpool2d(void) {
    int bad = 0;
    for (size_t i = 0; i < sizeof POOLS / sizeof POOLS[0]; i++) {
        Tensor *in[1] = {uni(3, 5, 33, 35, -1, 1, true)};
        bad += run_both("avgpool2d", f_avgpool2d, in, 1, &POOLS[i], TOL_RED);
    }
    return bad;
}

static Tensor *f_global_avgpool(Tensor **in, const void *arg) {
    (void)arg;
    return nx_global_avgpool(in[0]);
}
int cudacase_global_avgpool(void) {
    Tensor *a[1] = {uni(7, 37, 9, 11, -1, 2, true)}, *b[1] = {uni(2, 3, 67, 71, -1, 2, true)};
    return run_both("global_avgpool", f_global_avgpool, a, 1, NULL, TOL_RED) +
           run_both("global_avgpool large planes", f_global_avgpool, b, 1, NULL, TOL_RED);
}

static Tensor *f_upsample_nearest(Tensor **in, const void *arg) {
    return nx_upsample_nearest(in[0], *(const int *)arg);
}
int cudacase_upsample_nearest(void) {
    int bad = 0;
    for (int f = 2; f <= 3; f++) {
        Tensor *in[1] = {uni(3, 5, 17, 19, -1, 1, true)};
        bad += run_both("upsample_nearest", f_upsample_nearest, in, 1, &f, TOL_ELEM);
    }
    return bad;
}

typedef struct {
    int oh, ow;
    bool align;
} BilinearArg;
static Tensor *f_upsample_bilinear(Tensor **in, const void *arg) {
    const BilinearArg *a = arg;
    return nx_upsample_bilinear(in[0], a->oh, a->ow, a->align);
}
int cudacase_upsample_bilinear(void) {
    static const BilinearArg v[] = {{37, 41, false}, {37, 41, true}, {9, 7, false}, {9, 7, true}, {17, 50, false}};
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Tensor *in[1] = {uni(3, 5, 17, 19, -1, 1, true)};
        bad += run_both("upsample_bilinear", f_upsample_bilinear, in, 1, &v[i], TOL_RED);
    }
    return bad;
}

static Tensor *f_pixel_shuffle(Tensor **in, const void *arg) { return nx_pixel_shuffle(in[0], *(const int *)arg); }
int cudacase_pixel_shuffle(void) {
    int r2 = 2, r3 = 3;
    Tensor *a[1] = {uni(3, 5 * 4, 13, 11, -1, 1, true)}, *b[1] = {uni(2, 3 * 9, 7, 9, -1, 1, true)};
    return run_both("pixel_shuffle r2", f_pixel_shuffle, a, 1, &r2, TOL_ELEM) +
           run_both("pixel_shuffle r3", f_pixel_shuffle, b, 1, &r3, TOL_ELEM);
}

/* ---- unary ------------------------------------------------------------- */

typedef struct {
    float lo, hi;
} Range;
static int unary_case(const char *label, OpFn f, const void *arg, Range r, Tol tol) {
    Tensor *in[1] = {uni(3, 5, 17, 19, r.lo, r.hi, true)};
    return run_both(label, f, in, 1, arg, tol);
}

static Tensor *f_relu(Tensor **in, const void *arg) {
    (void)arg;
    return nx_relu(in[0]);
}
int cudacase_relu(void) {
    return unary_case("relu", f_relu, NULL, (Range){-1, 1}, TOL_ELEM);
}

static Tensor *f_sigmoid(Tensor **in, const void *arg) {
    (void)arg;
    return nx_sigmoid(in[0]);
}
int cudacase_sigmoid(void) {
    return unary_case("sigmoid", f_sigmoid, NULL, (Range){-8, 8}, TOL_ELEM);
}

static Tensor *f_tanh(Tensor **in, const void *arg) {
    (void)arg;
    return nx_tanh(in[0]);
}
int cudacase_tanh(void) {
    return unary_case("tanh", f_tanh, NULL, (Range){-3, 3}, TOL_ELEM);
}

static Tensor *f_abs(Tensor **in, const void *arg) {
    (void)arg;
    return nx_abs(in[0]);
}
int cudacase_abs(void) {
    return unary_case("abs", f_abs, NULL, (Range){-1, 1}, TOL_ELEM);
}

static Tensor *f_pow(Tensor **in, const void *arg) { return nx_pow(in[0], *(const float *)arg); }
int cudacase_pow(void) {
    static const float ps[] = {2.0f, 3.0f, -2.0f, 0.5f, -0.5f, -1.0f, 1.7f, 0.0f};
    int bad = 0;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "pow %g", ps[i]);
        bad += unary_case(label, f_pow, &ps[i], (Range){0.5f, 2.0f}, TOL_ELEM);
    }
    return bad;
}

static Tensor *f_log(Tensor **in, const void *arg) {
    (void)arg;
    return nx_log(in[0]);
}
int cudacase_log(void) {
    return unary_case("log", f_log, NULL, (Range){0.05f, 5}, TOL_ELEM);
}

static Tensor *f_exp(Tensor **in, const void *arg) {
    (void)arg;
    return nx_exp(in[0]);
}
int cudacase_exp(void) {
    return unary_case("exp", f_exp, NULL, (Range){-4, 4}, TOL_ELEM);
}

static Tensor *f_clamp(Tensor **in, const void *arg) {
    const Range *r = arg;
    return nx_clamp(in[0], r->lo, r->hi);
}
int cudacase_clamp(void) {
    Range r = {-0.3f, 0.6f};
    return unary_case("clamp", f_clamp, &r, (Range){-1, 1}, TOL_ELEM);
}

static Tensor *f_scale(Tensor **in, const void *arg) {
    const Range *r = arg;
    return nx_scale(in[0], r->lo, r->hi);
}
int cudacase_scale(void) {
    Range ab = {-1.7f, 0.3f};
    return unary_case("scale", f_scale, &ab, (Range){-1, 1}, TOL_ELEM);
}

/* ---- broadcasting binary: every code path of the box reduction --------- */

typedef Tensor *(*BinFn)(Tensor *, Tensor *);
static Tensor *f_binary(Tensor **in, const void *arg) { return (*(const BinFn *)arg)(in[0], in[1]); }

static int binary_cases(const char *op, BinFn fn, float lo_b, float hi_b) {
    static const struct {
        int na, sa[4], nb, sb[4];
    } v[] = {
        {4, {3, 5, 37, 41}, 4, {3, 5, 37, 41}}, /* equal shapes */
        {4, {3, 5, 37, 41}, 4, {1, 5, 1, 1}},   /* per channel: warp per box */
        {4, {3, 5, 37, 41}, 0, {0}},            /* scalar (0-dim): block partials */
        {4, {3, 5, 37, 41}, 4, {3, 1, 37, 41}}, /* mask over channels: thread per box */
        {2, {37, 1}, 2, {1, 41}},               /* outer product: both broadcast */
        {3, {5, 1, 41}, 4, {3, 5, 37, 1}},      /* different ranks */
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Tensor *in[2] = {uni_nd(v[i].na, v[i].sa, -1, 1, true), uni_nd(v[i].nb, v[i].sb, lo_b, hi_b, true)};
        char label[64];
        snprintf(label, sizeof label, "%s case %zu", op, i);
        bad += run_both(label, f_binary, in, 2, &fn, TOL_RED);
        Tensor *sw[2] = {uni_nd(v[i].nb, v[i].sb, -1, 1, true), uni_nd(v[i].na, v[i].sa, lo_b, hi_b, true)};
        snprintf(label, sizeof label, "%s case %zu swapped", op, i);
        bad += run_both(label, f_binary, sw, 2, &fn, TOL_RED);
    }
    return bad;
}

int cudacase_add(void) {
    return binary_cases("add", nx_add, -1, 1);
}
int cudacase_sub(void) {
    return binary_cases("sub", nx_sub, -1, 1);
}
int cudacase_mul(void) {
    return binary_cases("mul", nx_mul, -1, 1);
}
int cudacase_div(void) {
    return binary_cases("div", nx_div, 0.5f, 2.0f);
}

/* ---- reductions: thread, warp and block paths -------------------------- */

typedef struct {
    unsigned dims;
    bool keepdim, mean;
} SumArg;
static Tensor *f_sum(Tensor **in, const void *arg) {
    const SumArg *a = arg;
    return a->mean ? nx_mean(in[0], a->dims, a->keepdim) : nx_sum(in[0], a->dims, a->keepdim);
}
static int sum_cases(const char *op, bool mean) {
    static const struct {
        unsigned dims;
        bool keepdim;
    } v[] = {
        {NX_ALL, false},                /* all: block partials */
        {NX_DIM(0), false},             /* R = 3: thread per output */
        {NX_DIM(2) | NX_DIM(3), true},  /* R = 1517: warp per output */
        {NX_DIM(0) | NX_DIM(2), false}, /* strided boxes */
        {NX_DIM(0) | NX_DIM(2) | NX_DIM(3), true},
        {NX_DIM(1), false},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Tensor *in[1] = {uni(3, 5, 37, 41, -1, 2, true)};
        SumArg a = {v[i].dims, v[i].keepdim, mean};
        char label[64];
        snprintf(label, sizeof label, "%s dims 0x%x", op, v[i].dims);
        bad += run_both(label, f_sum, in, 1, &a, TOL_RED);
    }
    return bad;
}
int cudacase_sum(void) {
    return sum_cases("sum", false);
}
int cudacase_mean(void) {
    return sum_cases("mean", true);
}

/* ---- shape ops ---------------------------------------------------------- */

static Tensor *f_reshape(Tensor **in, const void *arg) {
    (void)arg;
    Tensor *r = nx_reshape(in[0], 2, (int[]){15, -1});
    return nx_relu(r); /* an op after the view, so that the gradient flows through reshape's backward */
}
int cudacase_reshape(void) {
    Tensor *in[1] = {uni(3, 5, 17, 19, -1, 1, true)};
    return run_both("reshape", f_reshape, in, 1, NULL, TOL_ELEM);
}

static Tensor *f_concat(Tensor **in, const void *arg) { return nx_concat(in, *(const int *)arg); }
int cudacase_concat(void) {
    Tensor *in[3] = {uni(3, 2, 17, 19, -1, 1, true), uni(3, 5, 17, 19, -1, 1, false), uni(3, 1, 17, 19, -1, 1, true)};
    Tensor *flat[2] = {uni_nd(2, (int[]){7, 33}, -1, 1, true), uni_nd(2, (int[]){7, 65}, -1, 1, true)};
    int three = 3, two = 2;
    return run_both("concat", f_concat, in, 3, &three, TOL_ELEM) +
           run_both("concat 2-d", f_concat, flat, 2, &two, TOL_ELEM);
}

typedef struct {
    float p;
    bool training;
} DropArg;
static Tensor *f_dropout(Tensor **in, const void *arg) {
    const DropArg *a = arg;
    return nx_dropout(in[0], a->p, a->training);
}
int cudacase_dropout(void) {
    static const DropArg v[] = {{0.5f, true}, {0.1f, true}, {0.0f, true}, {0.5f, false}};
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rng_take(6); /* start the draws off a multiple of 4 elements of the previous case */
        Tensor *in[1] = {uni(3, 5, 17, 19, -1, 1, true)};
        bad += run_both("dropout", f_dropout, in, 1, &v[i], (Tol){0, 0}); /* bit for bit */
    }
    return bad;
}

/* ---- softmax and losses ------------------------------------------------- */

static Tensor *f_softmax(Tensor **in, const void *arg) { return nx_softmax(in[0], *(const int *)arg); }
static Tensor *f_log_softmax(Tensor **in, const void *arg) { return nx_log_softmax(in[0], *(const int *)arg); }

/* inner == 1 (warp per row), inner > 1 with many rows (thread per row) and few rows (warp per strided row) */
static int softmax_cases(const char *op, OpFn f) {
    static const struct {
        int ndim, shape[4], dim;
    } v[] = {
        {2, {37, 1000}, 1}, {4, {20, 7, 30, 31}, 1}, {4, {2, 7, 5, 3}, 1}, {3, {3, 301, 5}, 1}, {4, {3, 5, 6, 77}, 3},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Tensor *in[1] = {uni_nd(v[i].ndim, v[i].shape, -4, 4, true)};
        char label[64];
        snprintf(label, sizeof label, "%s case %zu", op, i);
        bad += run_both(label, f, in, 1, &v[i].dim, TOL_RED);
    }
    return bad;
}
int cudacase_softmax(void) {
    return softmax_cases("softmax", f_softmax);
}
int cudacase_log_softmax(void) {
    return softmax_cases("log_softmax", f_log_softmax);
}

static Tensor *f_cross_entropy(Tensor **in, const void *arg) {
    (void)arg;
    return nx_cross_entropy(in[0], in[1]);
}
int cudacase_cross_entropy(void) {
    Tensor *a[2] = {uni_nd(2, (int[]){37, 1000}, -3, 3, true), targets(37, 1000)};
    Tensor *b[2] = {uni_nd(2, (int[]){1500, 10}, -3, 3, true), targets(1500, 10)};
    return run_both("cross_entropy", f_cross_entropy, a, 2, NULL, TOL_RED) +
           run_both("cross_entropy many rows", f_cross_entropy, b, 2, NULL, TOL_RED);
}

static Tensor *f_nll(Tensor **in, const void *arg) {
    (void)arg;
    return nx_nll(in[0], in[1]);
}
int cudacase_nll(void) {
    Tensor *a[2] = {uni_nd(2, (int[]){37, 1000}, -8, 0, true), targets(37, 1000)};
    Tensor *b[2] = {uni_nd(2, (int[]){1500, 10}, -8, 0, true), targets(1500, 10)};
    return run_both("nll", f_nll, a, 2, NULL, TOL_RED) + run_both("nll many rows", f_nll, b, 2, NULL, TOL_RED);
}

static Tensor *f_neighbor_l1(Tensor **in, const void *arg) {
    (void)arg;
    return nx_neighbor_l1(in[0]);
}
int cudacase_neighbor_l1(void) {
    Tensor *a[1] = {uni(3, 2, 37, 41, -1, 1, true)}, *b[1] = {uni(1, 3, 150, 161, -1, 1, true)};
    return run_both("neighbor_l1", f_neighbor_l1, a, 1, NULL, TOL_RED) +
           run_both("neighbor_l1 one large image", f_neighbor_l1, b, 1, NULL, TOL_RED);
}

/* ---- the registry loop -------------------------------------------------- */

typedef int (*CaseFn)(void);
static CaseFn cuda_cases[] = {
#define X(name) cudacase_##name,
#include "autograd/ops.def"
#undef X
};

START_TEST(test_op) {
    ck_assert_msg(cuda_cases[_i], "op '%s' has no CUDA case (tests/suite_cuda.c)", op_name(_i));
    test_seed(4321 + (uint64_t)_i);
    rng_seed(42);
    nx_step_reset();
    int bad = cuda_cases[_i]();
    nx_step_reset();
    /* progress on stderr, unbuffered: with CK_FORK=no a crash in a later case
     * would take Check's end-of-run report with it */
    fprintf(stderr, "cuda op %s: %s\n", op_name(_i), bad ? "MISMATCH" : "ok");
    ck_assert_msg(bad == 0, "op '%s': %d CPU/CUDA mismatches", op_name(_i), bad);
}
END_TEST

/* ---- optimizers --------------------------------------------------------- */

typedef struct {
    const char *label;
    OptimKind kind;
    SgdConfig sgd;
    AdamConfig adam;
} OptimCase;

static const OptimCase OPTIM_CASES[] = {
    {"sgd", OPTIM_SGD, .sgd = {0.1, 0, 0, 0, false}},
    {"sgd momentum wd", OPTIM_SGD, .sgd = {0.05, 0.9, 0.1, 1e-3, false}},
    {"sgd nesterov", OPTIM_SGD, .sgd = {0.05, 0.9, 0, 5e-4, true}},
    {"adam", OPTIM_ADAM, .adam = {1e-3, 0.9, 0.999, 1e-8, 0}},
    {"adam wd", OPTIM_ADAM, .adam = {2e-3, 0.8, 0.99, 1e-6, 1e-2}},
    {"adamw", OPTIM_ADAMW, .adam = {1e-3, 0.9, 0.999, 1e-8, 1e-2}},
};

static Optimizer *make_optim(const OptimCase *c, ParamStore *s) {
    if (c->kind == OPTIM_SGD) return optim_sgd(s, c->sgd);
    return c->kind == OPTIM_ADAM ? optim_adam(s, c->adam) : optim_adamw(s, c->adam);
}

static void make_store(ParamStore *s, Device d) {
    params_init(s, d);
    params_add(s, "a.weight", 2, (int[]){7, 13}, false);
    params_add(s, "a.bias", 1, (int[]){300}, false);
    params_add(s, "b.weight", 4, (int[]){3, 5, 7, 11}, false);
    params_add(s, "b.running_mean", 1, (int[]){5}, true);
    params_finalize(s);
}

START_TEST(test_optim) {
    const OptimCase *c = &OPTIM_CASES[_i];
    test_seed(777 + (uint64_t)_i);
    nx_step_reset();
    ParamStore sc, sg;
    make_store(&sc, NX_CPU);
    make_store(&sg, NX_CUDA);
    size_t bytes = sc.total * sizeof(float);
    Tensor *p0 = test_uniform(1, (int[]){(int)sc.total}, -1, 1);
    memcpy(sc.params, p0->data, bytes);
    device_memcpy(NX_CUDA, sg.params, NX_CPU, p0->data, bytes);
    Optimizer *oc = make_optim(c, &sc), *og = make_optim(c, &sg);
    float *got = nx_malloc(bytes);
    int bad = 0, differ = 0;
    for (int step = 1; step <= 3; step++) {
        Tensor *g = test_uniform(1, (int[]){(int)sc.total}, -1, 1);
        memcpy(sc.grads, g->data, bytes);
        device_memcpy(NX_CUDA, sg.grads, NX_CPU, g->data, bytes);
        optim_step(oc);
        optim_step(og);
        device_memcpy(NX_CPU, got, NX_CUDA, sg.params, bytes);
        char label[64];
        snprintf(label, sizeof label, "%s step %d", c->label, step);
        bad += compare_buf(label, "params", sc.params, got, (int64_t)sc.total, (Tol){1e-6, 0});
        for (size_t i = 0; i < sc.total; i++) differ += memcmp(&sc.params[i], &got[i], 4) != 0;
    }
    if (differ)
        fprintf(stderr, "cuda optim %s: %d of %zu parameter values not bit-identical\n", c->label, differ,
                3 * sc.total);
    free(got);
    optim_free(oc);
    optim_free(og);
    params_free(&sc);
    params_free(&sg);
    nx_step_reset();
    ck_assert_msg(bad == 0, "optimizer %s: %d CPU/CUDA mismatches", c->label, bad);
}
END_TEST

/* ---- random streams ----------------------------------------------------- */

#define RN 10007 /* not a multiple of 4 or 32 */

/* The dropout mask and values, forward and accumulating backward, bit for bit. */
START_TEST(test_dropout_bits) {
    static const struct {
        float p;
        uint64_t seed, offset;
    } v[] = {{0.5f, 42, 0}, {0.3f, 0x9E3779B97F4A7C15ull, 4 * 123457 + 2}, {0.9f, 7, (1ull << 34) + 1}};
    test_seed(99);
    nx_step_reset();
    Tensor *x = test_uniform(1, (int[]){RN}, -1, 1), *d0 = test_uniform(1, (int[]){RN}, -1, 1);
    size_t bytes = RN * sizeof(float);
    float *gx = device_malloc(NX_CUDA, bytes), *gy = device_malloc(NX_CUDA, bytes);
    float *ref = nx_malloc(bytes), *got = nx_malloc(bytes);
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        device_memcpy(NX_CUDA, gx, NX_CPU, x->data, bytes);
        dropout_forward_cpu(ref, x->data, RN, v[i].p, v[i].seed, v[i].offset);
        dropout_forward_cuda(gy, gx, RN, v[i].p, v[i].seed, v[i].offset);
        device_memcpy(NX_CPU, got, NX_CUDA, gy, bytes);
        int kept = 0;
        for (int k = 0; k < RN; k++) kept += ref[k] != 0;
        if (memcmp(ref, got, bytes) != 0) {
            fprintf(stderr, "cuda dropout p=%g: forward not bit-identical\n", v[i].p);
            bad++;
        }
        /* backward adds into an existing gradient */
        memcpy(ref, d0->data, bytes);
        device_memcpy(NX_CUDA, gy, NX_CPU, d0->data, bytes);
        dropout_backward_cpu(ref, x->data, RN, v[i].p, v[i].seed, v[i].offset);
        dropout_backward_cuda(gy, gx, RN, v[i].p, v[i].seed, v[i].offset);
        device_memcpy(NX_CPU, got, NX_CUDA, gy, bytes);
        if (memcmp(ref, got, bytes) != 0) {
            fprintf(stderr, "cuda dropout p=%g: backward not bit-identical\n", v[i].p);
            bad++;
        }
        /* a mask that keeps about 1 - p: the comparison is not of two all-zero buffers */
        double frac = (double)kept / RN;
        if (fabs(frac - (1 - v[i].p)) > 0.05) {
            fprintf(stderr, "cuda dropout p=%g: kept fraction %.3f\n", v[i].p, frac);
            bad++;
        }
    }
    device_free(NX_CUDA, gx);
    device_free(NX_CUDA, gy);
    free(ref);
    free(got);
    nx_step_reset();
    ck_assert_msg(bad == 0, "dropout: %d CPU/CUDA differences", bad);
}
END_TEST

/* The hard-concrete logistic noise: the same uniforms, logs to an ulp. */
START_TEST(test_logistic_noise) {
    static const struct {
        uint64_t seed, offset;
        float eps;
    } v[] = {{42, 0, 1e-6f}, {0x9E3779B97F4A7C15ull, 4 * 123457 + 3, 1e-6f}, {3, 1, 0.1f}};
    size_t bytes = RN * sizeof(float);
    float *g = device_malloc(NX_CUDA, bytes), *ref = nx_malloc(bytes), *got = nx_malloc(bytes);
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        logistic_noise_cpu(ref, RN, v[i].seed, v[i].offset, v[i].eps);
        logistic_noise_cuda(g, RN, v[i].seed, v[i].offset, v[i].eps);
        device_memcpy(NX_CPU, got, NX_CUDA, g, bytes);
        int exact = 0, off = 0;
        for (int k = 0; k < RN; k++) {
            exact += memcmp(&ref[k], &got[k], 4) == 0;
            /* each of the two logs within an ulp: 4 ulps of max(1, |noise|) covers both */
            if (!(fabsf(ref[k] - got[k]) <= 4 * FLT_EPSILON * fmaxf(1.0f, fabsf(ref[k])))) {
                if (off < 5)
                    fprintf(stderr, "cuda logistic_noise case %zu [%d]: cpu %.9g cuda %.9g\n", i, k, ref[k], got[k]);
                off++;
            }
        }
        fprintf(stderr, "cuda logistic_noise case %zu: %d of %d bit-identical\n", i, exact, RN);
        bad += off;
    }
    device_free(NX_CUDA, g);
    free(ref);
    free(got);
    ck_assert_msg(bad == 0, "logistic noise: %d values differ by more than 4 ulps", bad);
}
END_TEST

/* ---- out-of-range targets ------------------------------------------------ */

/* The `bad` report of the loss kernels (softmax.h): the first bad sample and
 * its target, or {-1, 0}; the ops stop on it, so the kernels are called here. */
START_TEST(test_bad_targets) {
    static const struct {
        int N, C, n_bad, at[3], value[3];
    } v[] = {
        {50, 7, 0, {0}, {0}},
        {50, 7, 2, {30, 13}, {-1, 7}},
        {50, 7, 1, {0}, {-5}},
        {3000, 10, 3, {2999, 1500, 2047}, {10, 11, -2147483647 - 1}},
    };
    test_seed(55);
    nx_step_reset();
    int bad = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const int N = v[i].N, C = v[i].C;
        Tensor *logits = test_uniform(2, (int[]){N, C}, -3, 3), *t = targets(N, C);
        for (int k = 0; k < v[i].n_bad; k++) t->idata[v[i].at[k]] = v[i].value[k];
        Tensor *gl = tensor_to(logits, NX_CUDA), *gt = tensor_to(t, NX_CUDA);
        float loss, stats[2 * 3000];
        int32_t want[2], got[2];
        float *gloss = device_malloc(NX_CUDA, 4), *gstats = device_malloc(NX_CUDA, sizeof(float) * 2 * N);
        int32_t *gbad = device_malloc(NX_CUDA, sizeof got);
        for (int kind = 0; kind < 2; kind++) { /* cross-entropy, then nll */
            if (kind == 0) {
                cross_entropy_forward_cpu(&loss, stats, want, logits->data, t->idata, N, C, NULL);
                cross_entropy_forward_cuda(gloss, gstats, gbad, gl->data, gt->idata, N, C,
                                           workspace_get(NX_CUDA, cross_entropy_forward_ws_cuda(N, C)));
            } else {
                nll_forward_cpu(&loss, want, logits->data, t->idata, N, C);
                nll_forward_cuda(gloss, gbad, gl->data, gt->idata, N, C);
            }
            device_memcpy(NX_CPU, got, NX_CUDA, gbad, sizeof got);
            if (memcmp(want, got, sizeof got) != 0) {
                fprintf(stderr, "cuda %s case %zu: bad = {%d, %d} on cpu, {%d, %d} on cuda\n",
                        kind ? "nll" : "cross_entropy", i, want[0], want[1], got[0], got[1]);
                bad++;
            }
        }
        device_free(NX_CUDA, gloss);
        device_free(NX_CUDA, gstats);
        device_free(NX_CUDA, gbad);
    }
    nx_step_reset();
    ck_assert_msg(bad == 0, "loss kernels: %d wrong `bad` reports", bad);
}
END_TEST

/* ---- one training step of each model, one NICE step ------------------- */

/* max |got - ref| / max |ref| over a tensor pair (data or grads), for the log */
static double normwise_err(const Tensor *ref, const Tensor *got, bool grads) {
    size_t bytes = tensor_bytes(ref);
    float *r = nx_calloc(1, bytes ? bytes : 4), *g = nx_calloc(1, bytes ? bytes : 4);
    const void *rs = grads ? (const void *)ref->grad : (const void *)ref->data;
    const void *gs = grads ? (const void *)got->grad : (const void *)got->data;
    if (rs) device_memcpy(NX_CPU, r, ref->device, rs, bytes);
    if (gs) device_memcpy(NX_CPU, g, got->device, gs, bytes);
    double scale = 0, err = 0;
    for (int64_t i = 0; i < ref->numel; i++) {
        scale = fmax(scale, fabs(r[i]));
        err = fmax(err, fabs((double)g[i] - r[i]));
    }
    free(r);
    free(g);
    return scale > 0 ? err / scale : err;
}

/* Compare every tensor of two stores of the same layout: grads of the
 * trainable ones (tol_g) and data of all (tol_p). Prints the worst normwise
 * error of each kind under `label`. */
static int compare_stores(const char *label, const ParamStore *c, const ParamStore *g, Tol tol_g, Tol tol_p) {
    int bad = 0;
    double worst_g = 0, worst_p = 0;
    const char *wg = "-", *wp = "-";
    for (int i = 0; i < c->n; i++) {
        Tensor *tc = c->t[i], *tg = g->t[i];
        char what[160];
        if (!c->is_buffer[i] && tc->requires_grad) {
            snprintf(what, sizeof what, "%s grad", tc->name);
            bad += compare_tensors(label, what, tc, tg, true, tol_g);
            double e = normwise_err(tc, tg, true);
            if (e > worst_g) worst_g = e, wg = tc->name;
        }
        snprintf(what, sizeof what, "%s after the step", tc->name);
        bad += compare_tensors(label, what, tc, tg, false, tol_p);
        double e = normwise_err(tc, tg, false);
        if (e > worst_p) worst_p = e, wp = tc->name;
    }
    fprintf(stderr, "cuda %s: worst normwise error: grads %.3g (%s), values after the step %.3g (%s)\n", label,
            worst_g, wg, worst_p, wp);
    return bad;
}

/* Same parameter values on both devices, bit for bit. */
static int same_init(const char *label, const ParamStore *c, const ParamStore *g) {
    size_t bytes = c->total * sizeof(float);
    float *h = nx_malloc(bytes);
    device_memcpy(NX_CPU, h, g_gpu, g->params, bytes);
    int bad = c->total != g->total || memcmp(h, c->params, bytes) != 0;
    if (bad) fprintf(stderr, "cuda %s: the initialisation differs between the devices\n", label);
    free(h);
    return bad;
}

typedef struct {
    const char *arch;
    int n, c, hw;
} ModelStepCase;

static const ModelStepCase MODEL_STEPS[] = {
    {"lenet5", 16, 1, 28}, {"vgg11", 4, 3, 32}, {"resnet18", 2, 3, 64}, {"resnet18-cifar", 2, 3, 32}};

static const Tol TOL_MODEL_OUT = {1e-4, 1e-4};  /* logits and loss after a dozen GEMM-based layers */
static const Tol TOL_MODEL_GRAD = {1e-3, 1e-3}; /* gradients: ReLU / max-pool decisions within rounding may flip */
static const Tol TOL_MODEL_STEP = {1e-5, 1e-5}; /* p - lr g: the step is small next to p */

START_TEST(test_model_step) {
    const ModelStepCase *mc = &MODEL_STEPS[_i];
    test_seed(2024 + (uint64_t)_i);
    nx_step_reset();
    Model m[2];
    Optimizer *opt[2];
    Tensor *logits[2], *loss[2];
    Tensor *x = test_uniform4(mc->n, mc->c, mc->hw, mc->hw, 0, 1), *y = targets(mc->n, 10);
    bool prev = nx_grad_enabled();
    nx_set_grad(true);
    for (int d = 0; d < 2; d++) {
        rng_seed(7);
        ck_assert_msg(model_create(&m[d], mc->arch, 10, mc->c, mc->hw, d ? g_gpu : NX_CPU) == 0, "%s: %s", mc->arch,
                      nx_error_msg());
        opt[d] = optim_sgd(&m[d].params, (SgdConfig){.lr = 0.01, .momentum = 0.9});
        model_set_training(&m[d], true);
    }
    int bad = same_init(mc->arch, &m[0].params, &m[1].params);
    for (int d = 0; d < 2; d++) {
        Device dev = d ? g_gpu : NX_CPU;
        tape_clear();
        rng_set_offset(0);
        logits[d] = model_forward(&m[d], tensor_to(x, dev));
        loss[d] = nx_cross_entropy(logits[d], tensor_to(y, dev));
        params_zero_grad(&m[d].params);
        tape_backward(loss[d]);
        optim_step(opt[d]);
        tape_clear();
    }
    nx_set_grad(prev);
    char label[64];
    snprintf(label, sizeof label, "model step %s", mc->arch);
    bad += compare_tensors(label, "logits", logits[0], logits[1], false, TOL_MODEL_OUT);
    bad += compare_tensors(label, "loss", loss[0], loss[1], false, TOL_MODEL_OUT);
    fprintf(stderr, "cuda %s: logits normwise error %.3g\n", label, normwise_err(logits[0], logits[1], false));
    bad += compare_stores(label, &m[0].params, &m[1].params, TOL_MODEL_GRAD, TOL_MODEL_STEP);
    for (int d = 0; d < 2; d++) {
        optim_free(opt[d]);
        model_free(&m[d]);
    }
    nx_step_reset();
    ck_assert_msg(bad == 0, "model %s: %d CPU/CUDA mismatches in one training step", mc->arch, bad);
}
END_TEST

/* nice/train.c's step, on both devices from the same stream offset. */
START_TEST(test_nice_step) {
    const int N = 16, B = 4;
    const float lambda1 = 5.0f, lambda2 = 0.1f; /* lambda2 != 0: L_S (neighbor_l1) runs too */
    HardConcrete hc = hc_default();
    test_seed(31337);
    nx_step_reset();
    Model m[2];
    Generator g[2];
    Optimizer *opt[2];
    Tensor *la[2], *z[2], *logits[2], *loss[2];
    uint64_t after[2];
    Tensor *x = test_uniform4(N, 1, 28, 28, 0, 1), *y = targets(N, 10);
    bool prev = nx_grad_enabled();
    nx_set_grad(true);
    for (int d = 0; d < 2; d++) {
        Device dev = d ? g_gpu : NX_CPU;
        rng_seed(11);
        ck_assert_msg(model_create(&m[d], "lenet5", 10, 1, 28, dev) == 0, "%s", nx_error_msg());
        ck_assert_msg(generator_create(&g[d], "mnist", 1, 28, dev) == 0, "%s", nx_error_msg());
        params_freeze(&m[d].params, "", true); /* discriminator-fixed, as nice_train without --finetune */
        model_set_training(&m[d], false);
        opt[d] = optim_adam(&g[d].params, adam_defaults(1e-3));
    }
    int bad = same_init("nice classifier", &m[0].params, &m[1].params) +
              same_init("nice generator", &g[0].params, &g[1].params);
    const uint64_t at = rng_offset();
    for (int d = 0; d < 2; d++) {
        Device dev = d ? g_gpu : NX_CPU;
        tape_clear();
        rng_set_offset(at);
        Tensor *xd = tensor_to(x, dev);
        la[d] = generator_forward(&g[d], xd);
        z[d] = hc_sample(&hc, la[d]);
        logits[d] = model_forward(&m[d], nice_mix(xd, z[d], B, NICE_BG_BLOCKS));
        Tensor *l = nx_add(nx_cross_entropy(logits[d], tensor_to(y, dev)),
                           nx_scale(nice_capacity_loss(&hc, la[d]), lambda1, 0));
        loss[d] = nx_add(l, nx_scale(nice_smooth_loss(&hc, la[d]), lambda2, 0));
        params_zero_grad(&g[d].params);
        tape_backward(loss[d]);
        optim_step(opt[d]);
        after[d] = rng_offset();
        tape_clear();
    }
    nx_set_grad(prev);
    if (after[0] != after[1]) {
        fprintf(stderr, "cuda nice step: stream offset after the step %llu on cpu, %llu on cuda\n",
                (unsigned long long)after[0], (unsigned long long)after[1]);
        bad++;
    }
    bad += compare_tensors("nice step", "log_alpha", la[0], la[1], false, TOL_GEMM);
    /* z: the noise's logs may differ by an ulp (test_logistic_noise) */
    bad += compare_tensors("nice step", "z", z[0], z[1], false, (Tol){1e-4, 1e-5});
    bad += compare_tensors("nice step", "logits", logits[0], logits[1], false, TOL_MODEL_OUT);
    bad += compare_tensors("nice step", "loss", loss[0], loss[1], false, TOL_MODEL_OUT);
    fprintf(stderr, "cuda nice step: normwise errors: log_alpha %.3g, z %.3g, logits %.3g\n",
            normwise_err(la[0], la[1], false), normwise_err(z[0], z[1], false),
            normwise_err(logits[0], logits[1], false));
    bad += compare_stores("nice step generator", &g[0].params, &g[1].params, TOL_MODEL_GRAD, TOL_MODEL_STEP);
    for (int d = 0; d < 2; d++) {
        optim_free(opt[d]);
        generator_free(&g[d]);
        model_free(&m[d]);
    }
    nx_step_reset();
    ck_assert_msg(bad == 0, "nice step: %d CPU/CUDA mismatches", bad);
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

#endif /* NX_WITH_CUDA */

Suite *suite_cuda(void) {
    Suite *s = suite_create("cuda");
    if (!cuda_available()) {
        printf("CUDA suites skipped: no GPU\n");
#ifdef NX_WITH_CUDA
        test_skip("suite cuda", "no GPU");
#else
        test_skip("suite cuda", "a CPU-only build");
#endif
        const char *self = getenv("NX_CUDA_SELFTEST");
        if (self && strcmp(self, "1") == 0) {
#ifdef NX_WITH_CUDA
            printf("suite cuda: self-test without a GPU: the op cases and training steps run CPU against CPU\n");
            g_gpu = NX_CPU;
            TCase *ops = tcase_create("self-test ops");
            tcase_set_timeout(ops, 300);
            tcase_add_loop_test(ops, test_op, 0, OP_COUNT);
            suite_add_tcase(s, ops);
            TCase *steps = tcase_create("self-test training steps");
            tcase_set_timeout(steps, 300);
            tcase_add_loop_test(steps, test_model_step, 0, (int)(sizeof MODEL_STEPS / sizeof MODEL_STEPS[0]));
            tcase_add_test(steps, test_nice_step);
            suite_add_tcase(s, steps);
#else
            printf("suite cuda: NX_CUDA_SELFTEST needs a CUDA build (the cases call the CUDA twins)\n");
#endif
        }
        return s;
    }
#ifdef NX_WITH_CUDA
    const char *fork = getenv("CK_FORK");
    if (!fork || strcmp(fork, "no") != 0) {
        fprintf(stderr, "suite cuda: setting CK_FORK=no (a CUDA context does not survive fork)\n");
        setenv("CK_FORK", "no", 1);
    }
    TCase *ops = tcase_create("ops");
    tcase_set_timeout(ops, 300);
    tcase_add_loop_test(ops, test_op, 0, OP_COUNT);
    suite_add_tcase(s, ops);
    TCase *opt = tcase_create("optim");
    tcase_set_timeout(opt, 60);
    tcase_add_loop_test(opt, test_optim, 0, (int)(sizeof OPTIM_CASES / sizeof OPTIM_CASES[0]));
    suite_add_tcase(s, opt);
    TCase *tgt = tcase_create("loss targets");
    tcase_add_test(tgt, test_bad_targets);
    suite_add_tcase(s, tgt);
    TCase *rng = tcase_create("random streams");
    tcase_set_timeout(rng, 60);
    tcase_add_test(rng, test_dropout_bits);
    tcase_add_test(rng, test_logistic_noise);
    suite_add_tcase(s, rng);
    TCase *steps = tcase_create("training steps");
    tcase_set_timeout(steps, 300);
    tcase_add_loop_test(steps, test_model_step, 0, (int)(sizeof MODEL_STEPS / sizeof MODEL_STEPS[0]));
    tcase_add_test(steps, test_nice_step);
    suite_add_tcase(s, steps);
#endif
    return s;
}
