/* philox.h: Philox4x32-10 and its uniform floats, once for the CPU and the GPU.
 *
 * Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11), the
 * generator behind cuRAND's CURAND_RNG_PSEUDO_PHILOX4_32_10. One round:
 *     (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2     (32x32 -> 64 bits)
 *     c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
 * and the key is bumped by the Weyl constants (W0, W1) between rounds.
 *
 * Stream layout (tensor/rng.h): number i of the stream of `seed` is word
 * i % 4 of block i / 4, the block computed with counter (block lo, block hi,
 * 0, 0) and key (seed lo, seed hi): exactly curand_init(seed, 0, i).
 * A uniform is u * 2^-32 + 2^-33 in (0, 1], the word rounded to float and
 * one fused multiply-add, as curand_uniform.
 *
 * Used by tensor/rng.c (the host stream), kernels/dropout.{c,cu} and
 * kernels/nice.{c,cu}: the same code on both sides, so a mask drawn on the
 * GPU is bit-identical to the CPU's.
 */
#ifndef NX_KERNELS_PHILOX_H
#define NX_KERNELS_PHILOX_H

#include "kernels/hd.h"

#include <math.h>

typedef struct {
    uint32_t w[4];
} NxPhilox4;

/* One Philox4x32-10 block: philox(counter (c0, c1, c2, c3), key (k0, k1)). */
NX_HD NxPhilox4 nx_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2; /* M0, M1 */
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u; /* W0 */
        k1 += 0xBB67AE85u; /* W1 */
    }
    NxPhilox4 r;
    r.w[0] = c0, r.w[1] = c1, r.w[2] = c2, r.w[3] = c3;
    return r;
}

/* Block `block` of the stream of `seed`: its 4 words, stream numbers 4*block .. 4*block + 3. */
NX_HD NxPhilox4 nx_philox_block(uint64_t seed, uint64_t block) {
    return nx_philox4x32_10((uint32_t)block, (uint32_t)(block >> 32), 0, 0, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* u * 2^-32 + 2^-33 in (0, 1]: the word rounded to float (round to nearest),
 * then one fused multiply-add: curand_uniform. */
NX_HD float nx_philox_to_uniform(uint32_t word) {
#ifdef __CUDA_ARCH__
    return __fmaf_rn(__uint2float_rn(word), 2.3283064365386963e-10f, 1.1641532182693481e-10f);
#else
    return fmaf((float)word, 2.3283064365386963e-10f, 1.1641532182693481e-10f);
#endif
}

/* Uniform number i of the stream of `seed`. */
NX_HD float nx_philox_uniform(uint64_t seed, uint64_t i) {
    return nx_philox_to_uniform(nx_philox_block(seed, i >> 2).w[i & 3]);
}

#endif
