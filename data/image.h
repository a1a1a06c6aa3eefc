/* image.h: decoding JPEG and PNG, bilinear resizing, writing PNG.
 *
 * Pixel layout: images outside a Dataset are 8-bit, interleaved (H, W, C)
 * with C = 1 (gray) or 3 (RGB), the order libjpeg and libpng use.
 *
 * Decoding reads the whole file, looks at its first bytes (FF D8 FF: JPEG,
 * 89 'PNG': PNG) and converts to 8-bit gray or RGB: PNG palettes and low
 * bit depths are expanded, 16-bit samples are cut to 8 bits, alpha is
 * dropped (as PIL's convert("RGB")). JPEG uses libjpeg's defaults (islow
 * IDCT, fancy upsampling), so pixels equal PIL's. A JPEG that libjpeg warns
 * about (premature end of data, corrupt data) is an error, except for
 * extraneous bytes before a marker, which many real files have.
 *
 * Resizing is PIL's Image.resize(size, BILINEAR): a triangle filter whose
 * support widens with the shrink factor (so shrinking is antialiased),
 * horizontal pass then vertical pass, each rounded to uint8, in Pillow's
 * own fixed point: the result equals PIL's byte for byte (tests/data has
 * PIL's output for a pattern; Imagenette images were checked too).
 */
#ifndef NX_IMAGE_H
#define NX_IMAGE_H

#include "tensor/common.h"

/* Limits on what a file may declare, checked before any allocation: a
 * header of a few bytes can claim 100000 x 100000 pixels. */
#ifndef IMAGE_MAX_SIDE
#define IMAGE_MAX_SIDE 32768
#endif
#ifndef IMAGE_MAX_PIXELS
#define IMAGE_MAX_PIXELS ((int64_t)1 << 27) /* 134 Mpixel, 384 MiB as RGB */
#endif
#define IMAGE_MAX_FILE (256 << 20) /* bytes of one image file */

/* Decode the file at path. On success *pixels (malloc'd) is (h, w, c) with
 * c = 1 or 3. Returns -1 with nx_error_set("path: problem") otherwise. */
int image_load(const char *path, uint8_t **pixels, int *h, int *w, int *c);
/* The same from memory; name is used in error messages. */
int image_decode(const char *name, const uint8_t *buf, size_t len, uint8_t **pixels, int *h, int *w, int *c);

/* Resize one 8-bit plane (sh, sw) -> (dh, dw), PIL bilinear. dst and src
 * must not overlap. */
void image_resize_plane(uint8_t *dst /* (dh, dw) */, int dh, int dw, const uint8_t *src /* (sh, sw) */, int sh,
                        int sw);

/* ---- PNG writing (data/png.c) ----------------------------------------- */

/* Encode (h, w, channels) interleaved 8-bit pixels, channels 1 (gray) or 3
 * (RGB), as PNG with libpng's default zlib settings. On success *out
 * (malloc'd) holds *bytes bytes. Returns -1 with nx_error_set otherwise. */
int png_encode(const uint8_t *pixels /* (h, w, channels) */, int h, int w, int channels, uint8_t **out,
               size_t *bytes);
/* Only the encoded size (compression curves need the size of many images). */
int png_encoded_size(const uint8_t *pixels /* (h, w, channels) */, int h, int w, int channels, size_t *bytes);
/* Encode and write to path atomically (a temporary file in the same folder,
 * then rename). *bytes_out (may be NULL) receives the file size. */
int png_write(const char *path, const uint8_t *pixels /* (h, w, channels) */, int h, int w, int channels,
              size_t *bytes_out);

/* Planar (C, H, W) <-> interleaved (H, W, C) for 8-bit images. */
void image_planar_to_interleaved(uint8_t *dst /* (h, w, c) */, const uint8_t *src /* (c, h, w) */, int c, int h,
                                 int w);
void image_interleaved_to_planar(uint8_t *dst /* (c, h, w) */, const uint8_t *src /* (h, w, c) */, int c, int h,
                                 int w);

#endif
