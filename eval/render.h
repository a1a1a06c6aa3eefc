/* render.h: turning images and maps into 8-bit pictures (PNG via data/image.h).
 *
 * Images are float (C, H, W) in [0, 1] (C = 1 or 3); maps are float (H, W).
 * Pictures are uint8 (H, W, 3), interleaved RGB.
 */
#ifndef NX_RENDER_H
#define NX_RENDER_H

#include <stddef.h>
#include <stdint.h>

/* x clamped to [0, 1], rounded to 8 bits; gray is replicated to RGB when rgb. */
void render_image(uint8_t *out /* (H, W, rgb ? 3 : C) */, const float *x /* (C, H, W) */, int C, int H, int W,
                  int rgb);
/* A map in [0, 1] through a perceptual colormap (dark blue - red - yellow). */
void render_heatmap(uint8_t *out /* (H, W, 3) */, const float *m /* (H, W) */, int H, int W);
/* The image dimmed to gray, with the heatmap blended where the map is high. */
void render_overlay(uint8_t *out /* (H, W, 3) */, const float *x /* (C, H, W) */, const float *m /* (H, W) */, int C,
                    int H, int W);
/* Min-max normalise into [0, 1] (all 0 when max == min: no NaN). */
void normalise_map(float *m, int64_t n);

/* Tiles (each (h, w, 3)) laid out in rows of `cols`, with a 2-pixel gap,
 * scaled up by an integer factor so small images are visible. */
typedef struct {
    uint8_t *pixels; /* (H, W, 3) */
    int h, w;
} Picture;
Picture grid_compose(const uint8_t *const *tiles, int n, int h, int w, int cols, int scale);

#endif
