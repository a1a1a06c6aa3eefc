/* known_region.h: the synthetic task whose class is decided by one known
 * image region, shared by suite_baselines and suite_rtis.
 *
 * 32x32 one-channel images: flat 0.5 background, a checkerboard of amplitude
 * amp in the top-right quadrant R and another in the bottom-left D (a
 * distractor). The classifier (arch "known-region", 2 classes):
 *   f   = |Laplacian(x)|                       (N, 1, 32, 32), its one stage
 *   z_0 = 0,   z_1 = a * sum over R of f - 3,  a = 6 / (0.8 * |R|)
 * so only R's texture decides class 1 (z_1 = 2.81 at amp 0.1, a bit under
 * 3: the pixels on R's edges have fewer textured neighbours); blurring R
 * (deleting it) removes it. kr_model_staged computes the same logits
 * through four resolution stages.
 */
#ifndef NX_TESTS_KNOWN_REGION_H
#define NX_TESTS_KNOWN_REGION_H

#include <stdbool.h>

#include "layers/model.h"

#define KR_H 32

/* Is pixel (y, x) in the deciding region R (the top-right quadrant)? */
bool kr_in_region(int y, int x);
/* The classifier above, on the CPU. */
void kr_model(Model *m);
/* The same logits (up to float rounding) from a four-stage network, so
 * that a decoder reading the stages (RTIS) has several resolutions:
 *   stage 1  f = |Laplacian(x)|               (N, 1, 32, 32)
 *   stage 2  2x2 average pool of stage 1      (N, 1, 16, 16)
 *   stage 3  2x2 average pool of stage 2      (N, 1, 8, 8)
 *   stage 4  2x2 average pool of stage 3      (N, 1, 4, 4), features
 *   z_0 = 0, z_1 = 64 a * sum over the 2x2 cells of R of stage 4 - 3
 * (a cell is the mean of its 8x8 pixels of f). Arch "known-region-staged". */
void kr_model_staged(Model *m);
/* One image (KR_H, KR_H): checkerboards of amplitude amp in R (when tex_r)
 * and D (when tex_d), of parity phase (0 or 1). */
void kr_image(float *out, float amp, int phase, bool tex_r, bool tex_d);
/* The task's images: n of them with both checkerboards, amp 0.1 (1 + 0.2 i). */
float *kr_images(int n);
/* Share of a map's positive mass (KR_H x KR_H) inside R (0.25 = chance). */
double kr_mass_inside(const float *map);

#endif
