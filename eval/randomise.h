/* randomise.h: post-hoc randomisation (NICE, Fig. 6).
 *
 * For each fraction K, the K * H * W pixels an explanation ranks highest
 * (top), lowest (bottom), or a uniformly random K * H * W pixels (random,
 * which ignores the map: the reference curve) get uniform random values in
 * [0, 1), drawn independently per channel; the classifier's accuracy
 * against the true labels is measured on the result. A faithful map loses
 * accuracy fastest under `top` and slowest under `bottom`. K = 0 is the
 * clean accuracy. Draws: image i's noise from data_stream(seed,
 * EVAL_TAG_NOISE, i) and its random pixels from data_stream(seed,
 * EVAL_TAG_PICK, i), the same for every K and method; ranking ties from
 * data_stream(seed, EVAL_TAG_TIES, i).
 */
#ifndef NX_RANDOMISE_H
#define NX_RANDOMISE_H

#include "layers/model.h"

typedef enum { RAND_TOP, RAND_BOTTOM, RAND_RANDOM } RandMode;
const char *rand_mode_name(RandMode m);

/* acc[j] = accuracy with fraction ks[j] (in [0, 1]) replaced, mode `mode`. */
void randomise_accuracy(double *acc /* (n_k) */, Model *m, const float *images /* (n, C, H, W) */,
                        const int32_t *labels /* (n) */, const float *maps /* (n, H, W) */, int n, int C, int H, int W,
                        const double *ks, int n_k, RandMode mode, uint64_t seed, int batch);

#endif
