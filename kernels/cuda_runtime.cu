/* cuda_runtime.cu: checked wrappers over the CUDA runtime (see cuda_api.h). */
#include "kernels/cuda_api.h"

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char last_error[256];

static void cuda_fail(const char *what, cudaError_t e) {
    fprintf(stderr, "nicex: fatal: CUDA %s failed: %s\n", what, cudaGetErrorString(e));
    abort();
}
#define CU(call)                                   \
    do {                                           \
        cudaError_t e_ = (call);                   \
        if (e_ != cudaSuccess) cuda_fail(#call, e_); \
    } while (0)

extern "C" int nx_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no driver" error */
        return 0;
    }
    return n;
}

extern "C" int nx_cuda_select(int index) {
    int n = nx_cuda_device_count();
    if (index < 0 || index >= n) {
        snprintf(last_error, sizeof last_error, "no CUDA device %d (%d present)", index, n);
        return -1;
    }
    CU(cudaSetDevice(index));
    return 0;
}

extern "C" const char *nx_cuda_last_error(void) { return last_error; }

extern "C" void *nx_cuda_malloc(size_t bytes) {
    void *p = NULL;
    CU(cudaMalloc(&p, bytes ? bytes : 256));
    return p;
}

extern "C" void nx_cuda_free(void *p) { CU(cudaFree(p)); }

extern "C" void nx_cuda_memset0(void *p, size_t bytes) { CU(cudaMemset(p, 0, bytes)); }

extern "C" void nx_cuda_memcpy(void *dst, bool dst_on_gpu, const void *src, bool src_on_gpu, size_t bytes) {
    cudaMemcpyKind kind = dst_on_gpu ? (src_on_gpu ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                     : (src_on_gpu ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    CU(cudaMemcpy(dst, src, bytes, kind));
}

extern "C" void nx_cuda_sync(void) { CU(cudaDeviceSynchronize()); }

/* ---- the per-kernel profile (bench/bench_gpu.c) -------------------------
 * While on, every dispatched kernel is followed by a device synchronisation,
 * and the wall time since the previous one (launch, kernel, and the host
 * work in between) is charged to that kernel's name. */
#define PROFILE_MAX 96
static struct {
    const char *name;
    double ms;
    long calls;
} g_prof[PROFILE_MAX];
static int g_prof_n;
static bool g_prof_on;
static struct timespec g_prof_last;

static double ms_since(struct timespec *last) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double ms = (t.tv_sec - last->tv_sec) * 1e3 + (t.tv_nsec - last->tv_nsec) * 1e-6;
    *last = t;
    return ms;
}

extern "C" void nx_cuda_profile_begin(void) {
    CU(cudaDeviceSynchronize());
    g_prof_n = 0;
    g_prof_on = true;
    (void)ms_since(&g_prof_last);
}

extern "C" void nx_cuda_profile_end(void) {
    CU(cudaDeviceSynchronize());
    g_prof_on = false;
}

extern "C" int nx_cuda_profile_get(int i, const char **name, double *ms, long *calls) {
    if (i < 0 || i >= g_prof_n) return g_prof_n;
    *name = g_prof[i].name, *ms = g_prof[i].ms, *calls = g_prof[i].calls;
    return g_prof_n;
}

static void profile_charge(const char *op) {
    CU(cudaDeviceSynchronize());
    double ms = ms_since(&g_prof_last);
    int i = 0;
    while (i < g_prof_n && strcmp(g_prof[i].name, op) != 0) i++;
    if (i == g_prof_n) {
        if (g_prof_n == PROFILE_MAX) return;
        g_prof[g_prof_n++] = {op, 0.0, 0};
    }
    g_prof[i].ms += ms;
    g_prof[i].calls++;
}

extern "C" void nx_cuda_after_launch(const char *op) {
    static int debug_sync = -1;
    if (debug_sync < 0) {
        const char *s = getenv("DEBUG_SYNC");
        debug_sync = s && s[0] == '1';
    }
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && debug_sync) e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        fprintf(stderr, "nicex: fatal: CUDA kernel of op '%s' failed: %s\n", op, cudaGetErrorString(e));
        abort();
    }
    if (g_prof_on) profile_charge(op);
}
