/* op.h: what every autograd/op_<name>.c includes.
 *
 * Device dispatch is explicit: DISPATCH(dev, relu_forward, y, x, n) calls
 * relu_forward_cuda(y, x, n) when dev is NX_CUDA and relu_forward_cpu(...)
 * otherwise. In a CPU-only build (make CUDA=0) the CUDA branch is a fatal
 * error that names the kernel: never a silent CPU fallback. In a CUDA build a
 * kernel whose twin has not been written is also a fatal error that names it
 * (the CUDA twins are declared weak (NX_CUDA_TWIN) in the kernels/ headers, so the test
 * suite can list the missing ones instead of failing to link).
 */
#ifndef NX_OP_H
#define NX_OP_H

#include "autograd/ops.h"
#include "kernels/kernels.h"

#ifdef NX_WITH_CUDA
#include "kernels/cuda_api.h"
#define DISPATCH(dev, kernel, ...)                                                           \
    do {                                                                                     \
        if ((dev) == NX_CUDA) {                                                              \
            if (!kernel##_cuda) nx_fatal("kernel %s has no CUDA twin yet", #kernel "_cuda"); \
            kernel##_cuda(__VA_ARGS__);                                                      \
            nx_cuda_after_launch(#kernel);                                                   \
        } else {                                                                             \
            kernel##_cpu(__VA_ARGS__);                                                       \
        }                                                                                    \
    } while (0)
#else
#define DISPATCH(dev, kernel, ...)                                                     \
    do {                                                                               \
        if ((dev) == NX_CUDA) nx_fatal("%s on cuda: nicex was built without CUDA", #kernel); \
        kernel##_cpu(__VA_ARGS__);                                                     \
    } while (0)
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
