/* rng.h: the one seeded random stream of nicex (Philox 4x32-10).
 *
 * A counter-based generator: number i of the stream for seed s is a pure
 * function of (s, i), so the CPU and the GPU (cuRAND's Philox4_32_10) draw the
 * same numbers, in any order and in parallel. The process holds one seed and
 * one offset; an op that needs k random numbers takes them with
 * rng_take(k), which returns the offset of the first and advances the
 * stream by k. Init, shuffling, dropout and hard-concrete noise all draw
 * from here, so one --seed makes a run repeat exactly.
 *
 * Element i is output word (i mod 4) of Philox4x32-10 with key = seed
 * (low word first) and counter = (i / 4 as 64 bits, 0, 0), exactly as
 * curand_init(seed, 0, i, &state); curand(&state) produces it.
 * Uniforms are u * 2^-32 + 2^-33 in (0, 1], as curand_uniform.
 */
#ifndef NX_RNG_H
#define NX_RNG_H

#include <stdint.h>

/* One Philox4x32-10 block: out = philox(counter, key). */
void philox4x32_10(uint32_t out[4], const uint32_t counter[4], const uint32_t key[2]);
/* Word i of the stream for seed. */
uint32_t philox_word(uint64_t seed, uint64_t i);
float philox_uniform(uint64_t seed, uint64_t i); /* (0, 1] */

void rng_seed(uint64_t seed);   /* also resets the offset to 0 */
uint64_t rng_get_seed(void);
uint64_t rng_offset(void);
void rng_set_offset(uint64_t offset);
uint64_t rng_take(uint64_t n);  /* reserve n numbers (rounded up to whole Philox blocks of 4); returns the first one's offset */

/* Host conveniences that draw from the global stream. */
float rng_uniform(void);                 /* (0, 1] */
uint32_t rng_below(uint32_t n);          /* integer in [0, n) */

#endif
