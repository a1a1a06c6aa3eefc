/* png.c: PNG encoding with libpng (8-bit gray or RGB, interleaved (H, W, C)).
 *
 * libpng's defaults throughout (zlib level 6, adaptive row filters), so that
 * byte counts are those of an ordinary PNG writer: the compression curves
 * of eval/ measure PNG sizes of masked images with png_encoded_size. The
 * encoder writes into a growing memory buffer; png_write then puts the
 * bytes into a temporary file next to path and renames it over path.
 */
#include "data/image.h"
#include "tensor/safetensors.h" /* AtomicFile */

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct {
    jmp_buf jump;
    char msg[256];
    uint8_t *buf;
    size_t len, cap;
    bool count_only; /* keep the length, drop the bytes */
} PngOut;

static void on_error(png_structp png, png_const_charp msg) {
    PngOut *o = png_get_error_ptr(png);
    snprintf(o->msg, sizeof o->msg, "%s", msg);
    longjmp(o->jump, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void mem_write(png_structp png, png_bytep data, png_size_t n) {
    PngOut *o = png_get_io_ptr(png);
    if (!o->count_only) {
        if (o->len + n > o->cap) {
            o->cap = (o->len + n) * 2;
            o->buf = nx_realloc(o->buf, o->cap);
        }
        memcpy(o->buf + o->len, data, n);
    }
    o->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

static int encode(PngOut *o, const uint8_t *pixels, int h, int w, int channels) {
    if ((channels != 1 && channels != 3) || h <= 0 || w <= 0) {
        nx_error_set("PNG: cannot encode a %dx%d image with %d channels (need 1 or 3)", h, w, channels);
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, o, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) nx_fatal("libpng: out of memory");
    png_bytep *volatile rows = nx_malloc((size_t)h * sizeof(png_bytep));
    if (setjmp(o->jump)) {
        nx_error_set("PNG: encoding failed: %s", o->msg);
        png_destroy_write_struct(&png, &info);
        free(rows);
        return -1;
    }
    png_set_write_fn(png, o, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(pixels + (size_t)y * w * channels);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return 0;
}

int png_encode(const uint8_t *pixels, int h, int w, int channels, uint8_t **out, size_t *bytes) {
    PngOut o;
    memset(&o, 0, sizeof o);
    *out = NULL;
    if (encode(&o, pixels, h, w, channels) != 0) {
        free(o.buf);
        return -1;
    }
    *out = o.buf;
    *bytes = o.len;
    return 0;
}

int png_encoded_size(const uint8_t *pixels, int h, int w, int channels, size_t *bytes) {
    PngOut o;
    memset(&o, 0, sizeof o);
    o.count_only = true;
    if (encode(&o, pixels, h, w, channels) != 0) return -1;
    *bytes = o.len;
    return 0;
}

int png_write(const char *path, const uint8_t *pixels, int h, int w, int channels, size_t *bytes_out) {
    uint8_t *buf;
    size_t n;
    if (png_encode(pixels, h, w, channels, &buf, &n) != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nx_error_msg());
        nx_error_set("%s: %s", path, msg);
        return -1;
    }
    AtomicFile af;
    int rc = atomic_file_open(&af, path);
    if (rc == 0) {
        af.sync = false; /* images are many and cheap to redo; rename alone keeps readers from half files */
        atomic_file_write(&af, buf, n);
        rc = atomic_file_commit(&af);
    }
    free(buf);
    if (rc == 0 && bytes_out) *bytes_out = n;
    return rc;
}
