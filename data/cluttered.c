/* cluttered.c: the cluttered Fashion-MNIST generator (see cluttered.h).
 *
 * For sample i, every draw comes from the Philox stream
 * s = data_stream(seed, CLUTTER_TAG, i), word k = philox_word(s, k), in this
 * order: the item's source index, its row and column, then per fragment
 * the source index (redrawn while its class equals the item's), the side,
 * the crop's row and column (redrawn, up to 10 times, until a third of the
 * crop is lit), and the placement tries. The brightness gain is capped at 4.
 */
#include "data/cluttered.h"

#include "tensor/rng.h"
#include "tensor/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ClutterConfig clutter_default(void) {
    return (ClutterConfig){.size = 48, .fragments = 6, .min_frag = 7, .max_frag = 14, .seed = 0};
}

typedef struct {
    uint64_t stream, k;
} Draw;

/* Integer in [0, n). */
static uint32_t draw_below(Draw *d, uint32_t n) {
    return (uint32_t)(((uint64_t)philox_word(d->stream, d->k++) * n) >> 32);
}

/* Mean of the lit (> 0) pixels of a w x w window at (r, c) of a 28 x 28 image; 0 when none. */
static double lit_mean(const uint8_t *img, int r, int c, int side) {
    double s = 0;
    int n = 0;
    for (int y = r; y < r + side; y++)
        for (int x = c; x < c + side; x++)
            if (img[y * 28 + x]) s += img[y * 28 + x], n++;
    return n ? s / n : 0;
}

int clutter_generate(uint8_t *images, uint8_t *masks, int32_t *labels, int32_t *where, const Dataset *src, int64_t n,
                     const ClutterConfig *cfg) {
    const int S = cfg->size;
    if (src->c != 1 || src->h != 28 || src->w != 28) {
        nx_error_set("cluttered: the source must be 1x28x28 (Fashion-MNIST), got %dx%dx%d", src->c, src->h, src->w);
        return -1;
    }
    if (S <= 28 || S > 1024) {
        nx_error_set("cluttered: --size %d must be larger than 28 (and at most 1024)", S);
        return -1;
    }
    if (cfg->fragments < 0 || cfg->min_frag < 2 || cfg->max_frag < cfg->min_frag || cfg->max_frag > 28) {
        nx_error_set("cluttered: --fragments must be >= 0 and fragment sides within 2..28");
        return -1;
    }
    if (src->n < 2) {
        nx_error_set("cluttered: the source has fewer than 2 images");
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        Draw d = {data_stream(cfg->seed, CLUTTER_TAG, (uint64_t)i), 0};
        uint8_t *img = images + (size_t)i * S * S, *msk = masks + (size_t)i * S * S;
        memset(img, 0, (size_t)S * S);
        memset(msk, 0, (size_t)S * S);
        int64_t j = draw_below(&d, (uint32_t)src->n);
        const uint8_t *item = src->pixels + (size_t)j * 784;
        int r0 = (int)draw_below(&d, (uint32_t)(S - 28 + 1)), c0 = (int)draw_below(&d, (uint32_t)(S - 28 + 1));
        double item_mean = lit_mean(item, 0, 0, 28);
        for (int f = 0; f < cfg->fragments; f++) {
            int64_t fj;
            int guard = 0;
            do fj = draw_below(&d, (uint32_t)src->n);
            while (src->labels[fj] == src->labels[j] && ++guard < 100);
            const uint8_t *fsrc = src->pixels + (size_t)fj * 784;
            int side = cfg->min_frag + (int)draw_below(&d, (uint32_t)(cfg->max_frag - cfg->min_frag + 1));
            if (side >= S) continue;
            int cr = 0, cc = 0, lit = 0;
            for (int t = 0; t < 10 && lit * 3 < side * side; t++) { /* a crop at least a third lit */
                cr = (int)draw_below(&d, (uint32_t)(28 - side + 1)), cc = (int)draw_below(&d, (uint32_t)(28 - side + 1));
                lit = 0;
                for (int y = cr; y < cr + side; y++)
                    for (int x = cc; x < cc + side; x++) lit += fsrc[y * 28 + x] > 0;
            }
            double fm = lit_mean(fsrc, cr, cc, side);
            double gain = fm > 0 ? item_mean / fm : 0;
            if (gain > 4) gain = 4;
            int pr = -1, pc = -1;
            for (int t = 0; t < 50; t++) {
                int r = (int)draw_below(&d, (uint32_t)(S - side + 1)), c = (int)draw_below(&d, (uint32_t)(S - side + 1));
                bool apart = r + side <= r0 || r >= r0 + 28 || c + side <= c0 || c >= c0 + 28;
                if (apart) {
                    pr = r, pc = c;
                    break;
                }
            }
            if (pr < 0 || gain == 0) continue;
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++) {
                    double v = fsrc[(cr + y) * 28 + cc + x] * gain;
                    uint8_t q = v > 255 ? 255 : (uint8_t)(v + 0.5);
                    uint8_t *p = img + (size_t)(pr + y) * S + pc + x;
                    if (q > *p) *p = q;
                }
        }
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                uint8_t v = item[y * 28 + x];
                if (v) {
                    img[(size_t)(r0 + y) * S + c0 + x] = v;
                    msk[(size_t)(r0 + y) * S + c0 + x] = 255;
                }
            }
        labels[i] = src->labels[j];
        if (where) where[3 * i] = (int32_t)j, where[3 * i + 1] = r0, where[3 * i + 2] = c0;
    }
    return 0;
}

int idx_write(const char *path, const uint8_t *data, int ndim, const int64_t *dims) {
    AtomicFile af;
    if (atomic_file_open(&af, path) != 0) return -1;
    uint8_t head[4 + 4 * 4] = {0, 0, 0x08, (uint8_t)ndim};
    size_t total = 1;
    for (int k = 0; k < ndim; k++) {
        uint32_t v = (uint32_t)dims[k];
        head[4 + 4 * k] = (uint8_t)(v >> 24), head[5 + 4 * k] = (uint8_t)(v >> 16);
        head[6 + 4 * k] = (uint8_t)(v >> 8), head[7 + 4 * k] = (uint8_t)v;
        total *= (size_t)dims[k];
    }
    if (atomic_file_write(&af, head, 4 + 4 * (size_t)ndim) != 0 || atomic_file_write(&af, data, total) != 0) {
        atomic_file_abort(&af);
        return -1;
    }
    return atomic_file_commit(&af);
}

int clutter_write_split(const char *dir, const char *prefix, const uint8_t *images, const uint8_t *masks,
                        const int32_t *labels, int64_t n, int size) {
    char path[4096];
    int64_t d3[3] = {n, size, size}, d1[1] = {n};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    if (idx_write(path, images, 3, d3) != 0) return -1;
    snprintf(path, sizeof path, "%s/%s-masks-idx3-ubyte", dir, prefix);
    if (idx_write(path, masks, 3, d3) != 0) return -1;
    uint8_t *lab = nx_malloc((size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) lab[i] = (uint8_t)labels[i];
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    int rc = idx_write(path, lab, 1, d1);
    free(lab);
    return rc;
}
