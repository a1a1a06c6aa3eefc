/* rng.c: Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11), the counter-based generator behind cuRAND's
 * CURAND_RNG_PSEUDO_PHILOX4_32_10. See rng.h for how the stream is laid out.
 *
 * One round: (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2 (32x32 -> 64 bits)
 *            c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
 * and the key is bumped by the Weyl constants (W0, W1) between rounds.
 */
#include "tensor/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void philox4x32_10(uint32_t out[4], const uint32_t counter[4], const uint32_t key[2]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

uint32_t philox_word(uint64_t seed, uint64_t i) {
    uint64_t block = i >> 2;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    philox4x32_10(out, ctr, key);
    return out[i & 3];
}

/* As curand_uniform: u * 2^-32 + 2^-33, one fused multiply-add as on the GPU. */
float philox_uniform(uint64_t seed, uint64_t i) {
    return fmaf((float)philox_word(seed, i), 2.3283064365386963e-10f, 1.1641532182693481e-10f);
}

static uint64_t g_seed = 0, g_offset = 0;

void rng_seed(uint64_t seed) {
    g_seed = seed;
    g_offset = 0;
}
uint64_t rng_get_seed(void) { return g_seed; }
uint64_t rng_offset(void) { return g_offset; }
void rng_set_offset(uint64_t offset) { g_offset = offset; }

uint64_t rng_take(uint64_t n) {
    uint64_t first = g_offset;
    g_offset += (n + 3) & ~(uint64_t)3; /* keep every draw on a Philox block boundary */
    return first;
}

float rng_uniform(void) { return philox_uniform(g_seed, rng_take(1)); }

uint32_t rng_below(uint32_t n) {
    /* Lemire's multiply-shift; the tiny bias (n / 2^32) is irrelevant here. */
    return (uint32_t)(((uint64_t)philox_word(g_seed, rng_take(1)) * n) >> 32);
}
