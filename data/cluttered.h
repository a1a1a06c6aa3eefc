/* cluttered.h: a cluttered Fashion-MNIST, for localisation against ground truth.
 *
 * Each sample is an S x S canvas (S > 28) holding one Fashion-MNIST item,
 * pasted whole at a uniformly random position, among F fragments: random
 * square crops (side 7..14) of other items of a different class, each
 * rescaled so that its mean lit brightness equals the item's (brightness
 * is no shortcut to the item). Fragments are placed where they do not
 * touch the item's 28 x 28 box (up to 50 tries each, else dropped) and
 * may overlap one another (the brighter pixel wins). The label is the
 * item's; the ground-truth mask is exactly the item's lit pixels
 * (source pixel > 0) at its position, 255 inside, 0 outside.
 *
 * Files written by cluttered_write (uncompressed IDX, as Fashion-MNIST's):
 *   DIR/{train,t10k}-images-idx3-ubyte   (n, S, S)
 *   DIR/{train,t10k}-labels-idx1-ubyte   (n)
 *   DIR/{train,t10k}-masks-idx3-ubyte    (n, S, S)
 * so `--data fashion-mnist:DIR` reads the images and labels, and
 * eval/localise.h reads the masks.
 */
#ifndef NX_CLUTTERED_H
#define NX_CLUTTERED_H

#include "data/dataset.h"

typedef struct {
    int size;       /* S, the canvas side (default 48) */
    int fragments;  /* F per canvas (default 6) */
    int min_frag, max_frag; /* fragment side range (default 7..14) */
    uint64_t seed;
} ClutterConfig;

ClutterConfig clutter_default(void);

/* Generate n samples from the source dataset (28 x 28, 1 channel) into
 * images and masks (n, S, S), labels (n); where (n, 3) gets each sample's
 * source index, row and column of the item (may be NULL). Sample i draws
 * from the Philox stream data_stream(seed, CLUTTER_TAG, i), so any sample
 * can be regenerated alone. -1 + nx_error_set on a bad configuration. */
int clutter_generate(uint8_t *images /* (n, S, S) */, uint8_t *masks /* (n, S, S) */, int32_t *labels /* (n) */,
                     int32_t *where /* (n, 3) or NULL */, const Dataset *src, int64_t n, const ClutterConfig *cfg);

#define CLUTTER_TAG 0x434c5554ull /* "CLUT" */

/* Write one split's three IDX files into dir (atomic writes). prefix is
 * "train" or "t10k". */
int clutter_write_split(const char *dir, const char *prefix, const uint8_t *images, const uint8_t *masks,
                        const int32_t *labels, int64_t n, int size);

/* Write a raw IDX file of unsigned bytes (ndim 1 or 3). */
int idx_write(const char *path, const uint8_t *data, int ndim, const int64_t *dims);

#endif
