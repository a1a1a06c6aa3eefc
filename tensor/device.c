/* device.c: device names, allocation and the one explicit copy function.
 *
 * Every allocation and every transfer in nicex goes through here, so the
 * CUDA branch is visible in one place. A CPU-only build (make CUDA=0) turns
 * any CUDA request into a fatal error that says so.
 */
#include "tensor/tensor.h"
#include "kernels/cuda_api.h"

#include <stdlib.h>
#include <string.h>

const char *device_name(Device d) { return d == NX_CUDA ? "cuda" : "cpu"; }

int device_parse(const char *s, Device *out) {
    if (strcmp(s, "cpu") == 0) {
        *out = NX_CPU;
        return 0;
    }
    if (strncmp(s, "cuda", 4) == 0 && (s[4] == 0 || s[4] == ':')) {
        int index = 0;
        if (s[4] == ':') {
            char *end;
            long v = strtol(s + 5, &end, 10);
            if (*end || end == s + 5 || v < 0) {
                nx_error_set("--device: bad device '%s' (expected cpu, cuda or cuda:N)", s);
                return -1;
            }
            index = (int)v;
        }
#ifdef NX_WITH_CUDA
        if (nx_cuda_select(index) != 0) {
            nx_error_set("--device %s: %s", s, nx_cuda_last_error());
            return -1;
        }
        *out = NX_CUDA;
        return 0;
#else
        (void)index;
        nx_error_set("--device %s: this nicex was built without CUDA (make CUDA=0 or no nvcc)", s);
        return -1;
#endif
    }
    nx_error_set("--device: unknown device '%s' (expected cpu, cuda or cuda:N)", s);
    return -1;
}

bool cuda_available(void) {
#ifdef NX_WITH_CUDA
    return nx_cuda_device_count() > 0;
#else
    return false;
#endif
}

#ifndef NX_WITH_CUDA
#define NO_CUDA() nx_fatal("CUDA requested but this nicex was built without CUDA")
#endif

/* Allocations made through device_malloc, per device (the arena check of
 * `nicex train --report-memory`: none after the first step). */
static int64_t g_mallocs[2];
int64_t device_malloc_count(Device d) { return g_mallocs[d == NX_CUDA]; }

void *device_malloc(Device d, size_t bytes) {
    g_mallocs[d == NX_CUDA]++;
    if (d == NX_CUDA) {
#ifdef NX_WITH_CUDA
        return nx_cuda_malloc(bytes);
#else
        NO_CUDA();
#endif
    }
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        nx_fatal("out of host memory (asked for %zu bytes)", bytes);
    return p;
}

void device_free(Device d, void *p) {
    if (!p) return;
    if (d == NX_CUDA) {
#ifdef NX_WITH_CUDA
        nx_cuda_free(p);
        return;
#else
        NO_CUDA();
#endif
    }
    free(p);
}

void device_memset0(Device d, void *p, size_t bytes) {
    if (d == NX_CUDA) {
#ifdef NX_WITH_CUDA
        nx_cuda_memset0(p, bytes);
        return;
#else
        NO_CUDA();
#endif
    }
    memset(p, 0, bytes);
}

void device_memcpy(Device dst_dev, void *dst, Device src_dev, const void *src, size_t bytes) {
    if (bytes == 0 || dst == src) return;
    if (dst_dev == NX_CPU && src_dev == NX_CPU) {
        memmove(dst, src, bytes);
        return;
    }
#ifdef NX_WITH_CUDA
    nx_cuda_memcpy(dst, dst_dev == NX_CUDA, src, src_dev == NX_CUDA, bytes);
#else
    NO_CUDA();
#endif
}
