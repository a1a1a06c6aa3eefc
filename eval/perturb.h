/* perturb.h: what the perturbation metrics share (eval/deletion.c,
 * randomise.c, compress.c, localise.c).
 *
 *   ranking     pixels (or cells) by a map, largest first; equal values in
 *               the order of a seeded permutation, so a constant map ranks
 *               like a random one and a run repeats exactly
 *   blur        separable Gaussian, k taps, weights exp(-t^2 / 2 sigma^2)
 *               normalised, border reflect-101 (OpenCV's GaussianBlur default,
 *               which the RISE and I-GOS codes call); a kernel wider than
 *               the image keeps reflecting
 *   resampling  bilinear with align_corners true (I-GOS's UpsamplingBilinear2d),
 *               nearest (block replication), and average pooling by an
 *               integer factor
 *   scoring     the softmax probability of a class, in batches, with the
 *               classifier in eval mode and no tape
 * Images are float (C, H, W) in [0, 1]; maps float (H, W).
 */
#ifndef NX_PERTURB_H
#define NX_PERTURB_H

#include "layers/model.h"

/* order[0..n) = indices of v, largest value first; ties in the order of the
 * Philox permutation of `stream` (data_permutation). */
void rank_desc(int32_t *order /* (n) */, const float *v /* (n) */, int n, uint64_t stream);

/* out = x blurred per channel (out != x). */
void gaussian_blur(float *out /* (C, H, W) */, const float *x /* (C, H, W) */, int C, int H, int W, int k, float sigma);

/* in (h, w) -> out (H, W), bilinear, align_corners true (h or w 1: constant). */
void upsample_bilinear_ac(float *out /* (H, W) */, const float *in /* (h, w) */, int h, int w, int H, int W);
/* in (h, w) -> out (H, W), nearest: H and W multiples of h and w. */
void upsample_nearest(float *out /* (H, W) */, const float *in /* (h, w) */, int h, int w, int H, int W);
/* in (H, W) -> out (H/f, W/f), the mean of each f x f block (f divides H and W). */
void avgpool_map(float *out /* (H/f, W/f) */, const float *in /* (H, W) */, int H, int W, int f);

/* prob[i] = softmax(model(x_i))[cls[i]]; with cls NULL, the class is the
 * argmax, written to pred (if not NULL). Batches of `batch` images on the
 * model's device; resets the step arena. */
void class_probs(float *prob /* (n) or NULL */, int32_t *pred /* (n) or NULL */, Model *m, const float *x /* (n, C, H, W) */,
                 int n, int C, int H, int W, const int32_t *cls /* (n) or NULL */, int batch);

/* Trapezoid rule: sum over k of (x[k+1] - x[k]) (y[k] + y[k+1]) / 2. */
double auc_trapezoid(const double *x, const double *y, int n);

#define EVAL_TAG_TIES 0x54494553ull  /* "TIES": tie-breaking permutation of image i */
#define EVAL_TAG_NOISE 0x4e4f4953ull /* "NOIS": randomisation's uniform values */
#define EVAL_TAG_PICK 0x5049434bull  /* "PICK": randomisation's random pixels */

#endif
