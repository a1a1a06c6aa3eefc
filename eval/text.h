/* text.h: a tiny 5x7 bitmap font for labels on PNG grids.
 *
 * Printable ASCII; lower case is drawn as upper case, characters without a
 * glyph as '?'. Each glyph is 5 x 7 pixels with one pixel of spacing, scaled
 * by an integer factor.
 */
#ifndef NX_TEXT_H
#define NX_TEXT_H

#include <stdint.h>

/* Width and height in pixels of s drawn at this scale. */
int text_width(const char *s, int scale);
int text_height(int scale);
/* Draw s with its top-left corner at (x, y) into pixels (H, W, 3); clipped. */
void text_draw(uint8_t *pixels /* (H, W, 3) */, int H, int W, int x, int y, const char *s, int scale,
               const uint8_t rgb[3]);

#endif
