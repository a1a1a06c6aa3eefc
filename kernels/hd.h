/* hd.h: the base of every kernels/ header.
 *
 * The fixed-width types every kernel signature uses, and NX_HD, which marks
 * the small scalar functions that a CPU loop (kernels/<family>.c) and its
 * CUDA twin (kernels/<family>.cu) share through kernels/<family>_math.h and
 * kernels/philox.h: compiled by nvcc they are __host__ __device__, by the C
 * compiler plain static inline. One definition, so the twins cannot drift.
 */
#ifndef NX_KERNELS_HD_H
#define NX_KERNELS_HD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define NX_HD static inline __host__ __device__
#else
#define NX_HD static inline
#endif

/* IEEE operations with one rounding each, which nvcc may not fuse into a
 * multiply-add (NX_FMA is the one fused operation, on both sides), for the
 * shared math whose CPU loop (C11: no contraction) must round the same way.
 * The C side needs <math.h> for fmaf and sqrtf. */
#ifdef __CUDA_ARCH__
#define NX_FMUL(a, b) __fmul_rn((a), (b))
#define NX_FADD(a, b) __fadd_rn((a), (b))
#define NX_FDIV(a, b) __fdiv_rn((a), (b))
#define NX_FSQRT(a) __fsqrt_rn(a)
#define NX_FMA(a, b, c) __fmaf_rn((a), (b), (c))
#define NX_DMUL(a, b) __dmul_rn((a), (b))
#define NX_DADD(a, b) __dadd_rn((a), (b))
#else
#define NX_FMUL(a, b) ((a) * (b))
#define NX_FADD(a, b) ((a) + (b))
#define NX_FDIV(a, b) ((a) / (b))
#define NX_FSQRT(a) sqrtf(a)
#define NX_FMA(a, b, c) fmaf((a), (b), (c))
#define NX_DMUL(a, b) ((a) * (b))
#define NX_DADD(a, b) ((a) + (b))
#endif

#endif
