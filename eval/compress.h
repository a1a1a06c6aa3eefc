/* compress.h: compression curves (NICE, Fig. 9).
 *
 * A mask z (n, H, W) in [0, 1] (NICE's test-time mask as it is; another
 * method's map thresholded by mask_top_fraction) gives, for a block size b
 * dividing H and W, the mixed-resolution image of nice/mixres.c:
 *     x~ = x * z + x_b * (1 - z)      (eq. 13; x_b: b x b block means)
 * rounded to 8 bits (what the PNG holds, and what the classifier is shown)
 * and written as PNG with default zlib settings (data/png.c); the result is
 * the mean PNG size in bytes and the accuracy against the true labels.
 * The baseline (compress_downsample) stores the b x b block means as a
 * (H/b) x (W/b) 8-bit PNG and shows the classifier that image upsampled
 * bilinearly (align_corners false, PyTorch's and PIL's default); b = 1 is
 * the original images' row.
 */
#ifndef NX_COMPRESS_H
#define NX_COMPRESS_H

#include "layers/model.h"
#include "data/dataset.h"
#include "nice/nice.h"

typedef struct {
    int n, block;
    double mean_bytes, accuracy;
} CompressPoint;

/* mask = 1 on the round(density * P) highest-ranked pixels of map (ties by
 * the permutation of `stream`), 0 elsewhere. */
void mask_top_fraction(float *mask /* (P) */, const float *map /* (P) */, int P, double density, uint64_t stream);

int compress_mixed(CompressPoint *r, Model *m, const float *images /* (n, C, H, W) */, const int32_t *labels /* (n) */,
                   const float *masks /* (n, H, W) */, int n, int C, int H, int W, int b, NiceBackground bg, int batch);
int compress_downsample(CompressPoint *r, Model *m, const float *images /* (n, C, H, W) */, const int32_t *labels,
                        int n, int C, int H, int W, int b, int batch);

/* `nicex nice compress`: the NICE generator g's test-time mask (hc) makes
 * the mixed-resolution image (block b, background bg) of each of the first
 * n images of d; the 8-bit image is what the classifier m is shown and what
 * out_dir/NNNNN.png holds (with write_images; else only its size is
 * measured). out_dir/index.csv (atomic) gets one row per image: file,
 * bytes, original_bytes (the image itself as PNG), label, prediction.
 * out_dir must exist. -1 + nx_error_set on a write error; -2 when a path
 * under out_dir does not fit 4096 characters. */
typedef struct {
    int n, block;
    double bytes, original_bytes; /* totals over the n images */
    int correct;
} NiceCompressResult;
int compress_nice_folder(NiceCompressResult *r, Generator *g, Model *m, const HardConcrete *hc, int b,
                         NiceBackground bg, const Dataset *d, int n, const char *out_dir, bool write_images);

#endif
