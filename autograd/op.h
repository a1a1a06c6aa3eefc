/* op.h: what every autograd/op_<name>.c includes (with its own kernel
 * family's header, kernels/<family>.h).
 *
 * Device dispatch is explicit: DISPATCH(dev, relu_forward, y, x, n) calls
 * relu_forward_cuda(y, x, n) when dev is NX_CUDA and relu_forward_cpu(...)
 * otherwise. In a CPU-only build (make CUDA=0) the CUDA branch is a fatal
 * error that names the kernel: never a silent CPU fallback, and no reference
 * to a CUDA twin (so the CPU-only build links without any). In a CUDA build
 * every twin is referenced here, so a twin that is missing is a link error.
 *
 * Scratch memory: a kernel that needs some has a size query with the same
 * two suffixes, <kernel>_ws_cpu / <kernel>_ws_cuda (bytes). OP_WORKSPACE(dev,
 * kernel, args...) asks the query of dev's kernel and returns that much of
 * dev's workspace (tensor/arena.c), which the op passes to the kernel.
 *
 * With NX_PROFILE=1 every dispatch is timed (autograd/profile.h); off, the
 * cost is one test of a global.
 */
#ifndef NX_OP_H
#define NX_OP_H

#include "autograd/ops.h"
#include "autograd/profile.h"

#ifdef NX_WITH_CUDA
#include "kernels/cuda_api.h"
#define DISPATCH(dev, kernel, ...)                                  \
    do {                                                            \
        double nx_t0_ = nx_prof_on() ? nx_prof_now() : -1;          \
        if ((dev) == NX_CUDA) {                                     \
            kernel##_cuda(__VA_ARGS__);                             \
            nx_cuda_after_launch(#kernel);                          \
        } else {                                                    \
            kernel##_cpu(__VA_ARGS__);                              \
        }                                                           \
        if (nx_t0_ >= 0) nx_prof_kernel(#kernel, nx_t0_, (dev) == NX_CUDA); \
    } while (0)
#define OP_WORKSPACE(dev, kernel, ...) \
    workspace_get((dev), (dev) == NX_CUDA ? kernel##_ws_cuda(__VA_ARGS__) : kernel##_ws_cpu(__VA_ARGS__))
#else
#define DISPATCH(dev, kernel, ...)                                                           \
    do {                                                                                     \
        if ((dev) == NX_CUDA) nx_fatal("%s on cuda: nicex was built without CUDA", #kernel); \
        double nx_t0_ = nx_prof_on() ? nx_prof_now() : -1;                                   \
        kernel##_cpu(__VA_ARGS__);                                                           \
        if (nx_t0_ >= 0) nx_prof_kernel(#kernel, nx_t0_, false);                             \
    } while (0)
#define OP_WORKSPACE(dev, kernel, ...)                                                                 \
    ((dev) == NX_CUDA ? (nx_fatal("%s on cuda: nicex was built without CUDA", #kernel), (void *)NULL) \
                      : workspace_get((dev), kernel##_ws_cpu(__VA_ARGS__)))
#endif

/* sum and mean over a dims mask (autograd/op_sum.c); mean divides by the count. */
Tensor *op_reduce(int op, Tensor *x, unsigned dims, bool keepdim, bool mean);

/* Context structs for backward live in the host arena (freed at step reset). */
#define OP_CTX(type) ((type *)arena_alloc(host_arena(), sizeof(type)))

/* Fail fast on shape errors inside an op, naming the op and the shapes. */
#define OP_CHECK(op, cond, ...) NX_CHECK(cond, "op " op ": " __VA_ARGS__)

/* All inputs on one device. */
static inline void op_same_device(const char *op, Tensor *a, Tensor *b) {
    if (a && b && a->device != b->device)
        nx_fatal("op %s: inputs on %s and %s (copy explicitly with tensor_to)", op, device_name(a->device),
                 device_name(b->device));
}

#endif
