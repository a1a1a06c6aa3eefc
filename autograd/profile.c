/* profile.c: the NX_PROFILE=1 table of kernel and step-phase wall times
 * (autograd/profile.h). Sums only: seconds per kernel name and grad mode,
 * seconds per phase; printed to stderr at exit. */
#include "autograd/profile.h"
#include "autograd/tape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef NX_WITH_CUDA
#include "kernels/cuda_api.h"
#endif

int nx_prof_state_ = -1;

enum { PH_FORWARD, PH_BACKWARD, PH_AFTER, PH_NOGRAD, PH_OUTSIDE, PH_COUNT };
static const char *g_phase_name[PH_COUNT] = {"forward", "backward", "after", "no-grad", "outside-steps"};

#define KERNELS_MAX 128
typedef struct {
    const char *name; /* the DISPATCH kernel name (a string literal) */
    bool grad;        /* grad mode at the call */
    long calls;
    double s;
} KernelSum;
static KernelSum g_k[KERNELS_MAX];
static int g_nk;

static double g_wall[PH_COUNT], g_kern[PH_COUNT]; /* summed over closed steps */
static long g_steps[PH_COUNT];
static double g_step_kern[PH_COUNT];              /* kernel time of the open step, per phase */
static int g_phase = PH_OUTSIDE;                  /* where a kernel's time goes now */
static double g_t_step, g_t_bwd0, g_t_bwd1;
static bool g_had_backward;

double nx_prof_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void close_step(double t) {
    if (g_phase == PH_OUTSIDE) return;
    if (g_had_backward) {
        double w[3] = {g_t_bwd0 - g_t_step, g_t_bwd1 - g_t_bwd0, t - g_t_bwd1};
        for (int p = PH_FORWARD; p <= PH_AFTER; p++) g_wall[p] += w[p], g_kern[p] += g_step_kern[p], g_steps[p]++;
    } else {
        double k = 0;
        for (int p = PH_FORWARD; p <= PH_AFTER; p++) k += g_step_kern[p];
        g_wall[PH_NOGRAD] += t - g_t_step, g_kern[PH_NOGRAD] += k, g_steps[PH_NOGRAD]++;
    }
    memset(g_step_kern, 0, sizeof g_step_kern);
}

static int by_time(const void *a, const void *b) {
    double x = ((const KernelSum *)a)->s, y = ((const KernelSum *)b)->s;
    return (x < y) - (x > y);
}

static void report(void) {
    close_step(nx_prof_now());
    g_phase = PH_OUTSIDE;
    FILE *f = stderr;
    fprintf(f, "profile: NX_PROFILE=1 wall-clock sums (ms); other = phase - kernels (tape, op glue, data, loop)\n");
    fprintf(f, "profile %-8s %-14s %8s %12s %12s %12s\n", "phase", "name", "steps", "wall_ms", "kernel_ms", "other_ms");
    for (int p = 0; p < PH_COUNT; p++) {
        if (p == PH_OUTSIDE) {
            if (g_kern[p] > 0)
                fprintf(f, "profile %-8s %-14s %8s %12s %12.3f %12s\n", "phase", g_phase_name[p], "-", "-",
                        1e3 * g_kern[p], "-");
            continue;
        }
        fprintf(f, "profile %-8s %-14s %8ld %12.3f %12.3f %12.3f\n", "phase", g_phase_name[p], g_steps[p],
                1e3 * g_wall[p], 1e3 * g_kern[p], 1e3 * (g_wall[p] - g_kern[p]));
    }
    qsort(g_k, (size_t)g_nk, sizeof g_k[0], by_time);
    fprintf(f, "profile %-8s %-28s %-4s %8s %12s %12s\n", "kernel", "name", "grad", "calls", "total_ms", "ms_per_call");
    for (int i = 0; i < g_nk; i++)
        fprintf(f, "profile %-8s %-28s %-4s %8ld %12.3f %12.4f\n", "kernel", g_k[i].name, g_k[i].grad ? "on" : "off",
                g_k[i].calls, 1e3 * g_k[i].s, 1e3 * g_k[i].s / (double)g_k[i].calls);
}

bool nx_prof_init_(void) {
    if (nx_prof_state_ >= 0) return nx_prof_state_ > 0;
    const char *s = getenv("NX_PROFILE");
    nx_prof_state_ = s && strcmp(s, "1") == 0;
    if (nx_prof_state_) atexit(report);
    return nx_prof_state_ > 0;
}

void nx_prof_kernel(const char *name, double t0, bool on_gpu) {
#ifdef NX_WITH_CUDA
    if (on_gpu) nx_cuda_sync();
#else
    (void)on_gpu;
#endif
    double s = nx_prof_now() - t0;
    bool grad = nx_grad_enabled();
    if (g_phase == PH_OUTSIDE) g_kern[PH_OUTSIDE] += s;
    else g_step_kern[g_phase] += s;
    int i = 0;
    while (i < g_nk && !(g_k[i].grad == grad && strcmp(g_k[i].name, name) == 0)) i++;
    if (i == g_nk) {
        if (g_nk == KERNELS_MAX) return;
        g_k[g_nk++] = (KernelSum){.name = name, .grad = grad};
    }
    g_k[i].calls++, g_k[i].s += s;
}

void nx_prof_event(NxProfEvent ev) {
    if (!nx_prof_on()) return;
    double t = nx_prof_now();
    switch (ev) {
    case NX_PROF_STEP:
        close_step(t);
        g_t_step = t, g_had_backward = false, g_phase = PH_FORWARD;
        break;
    case NX_PROF_BACKWARD_BEGIN:
        if (g_phase == PH_OUTSIDE) g_t_step = t; /* a backward outside the step loop: forward unknown */
        g_t_bwd0 = t, g_had_backward = true, g_phase = PH_BACKWARD;
        break;
    case NX_PROF_BACKWARD_END:
        g_t_bwd1 = t, g_phase = PH_AFTER;
        break;
    }
}
