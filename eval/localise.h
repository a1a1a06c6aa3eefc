/* localise.h: localisation against a ground-truth mask (data/cluttered.h).
 *
 * pointing game  a hit when the map's maximum (ties: the first in the
 *                seeded permutation of data_stream(seed, EVAL_TAG_TIES, i))
 *                lies inside the object's mask; the hit rate over images
 * mass inside    sum over the mask of (M - min M) / sum over all pixels of
 *                (M - min M); a constant map counts as uniform (the mask's
 *                area fraction), which is also what a random map scores
 *                on average; reported beside the mean area as the chance level
 */
#ifndef NX_LOCALISE_H
#define NX_LOCALISE_H

#include <stdint.h>

typedef struct {
    int n;
    double hit_rate, mass_inside, area; /* area: mean fraction of the canvas inside the mask */
} LocaliseResult;

void localise_score(LocaliseResult *r, const float *maps /* (n, H, W) */, const uint8_t *masks /* (n, H, W), != 0 inside */,
                    int n, int H, int W, uint64_t seed);

#endif
