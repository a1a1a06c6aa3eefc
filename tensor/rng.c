/* rng.c: the one seeded random stream (rng.h). Philox4x32-10 itself, and
 * the conversion of its words to uniform floats, are in kernels/philox.h,
 * shared with the CUDA kernels that draw from the same stream.
 */
#include "tensor/rng.h"
#include "kernels/philox.h"

void philox4x32_10(uint32_t out[4], const uint32_t counter[4], const uint32_t key[2]) {
    NxPhilox4 r = nx_philox4x32_10(counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
    for (int j = 0; j < 4; j++) out[j] = r.w[j];
}

uint32_t philox_word(uint64_t seed, uint64_t i) { return nx_philox_block(seed, i >> 2).w[i & 3]; }

/* As curand_uniform: u * 2^-32 + 2^-33, one fused multiply-add as on the GPU. */
float philox_uniform(uint64_t seed, uint64_t i) { return nx_philox_uniform(seed, i); }

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
