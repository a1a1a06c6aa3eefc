/* image.c: JPEG (libjpeg) and PNG (libpng) decoding, PIL-exact bilinear resize.
 *
 * Decoding works from memory: the file is read whole, its first bytes say
 * which decoder to use (not its extension). Both libraries report fatal
 * errors through a callback that longjmps back to us with the message.
 *
 * Resize: Pillow's ImagingResample (src/libImaging/Resample.c) with the
 * bilinear filter, reproduced step for step, fixed point included:
 *   scale = in / out, filterscale = max(scale, 1), support = filterscale
 *   for output pixel i: center = (i + 0.5) * scale,
 *     taps j in [(int)(center - support + 0.5), (int)(center + support + 0.5))
 *     clipped to the image, weight tri((j - center + 0.5) / filterscale),
 *     tri(x) = max(0, 1 - |x|), normalised to sum 1, then rounded to
 *     fixed point with 22 fractional bits;
 *   out = clip8((2^21 + sum src * w) >> 22).
 * Horizontal pass first (into uint8), then vertical; a pass whose size does
 * not change is skipped. Upscaling reduces to the usual half-pixel-centred
 * bilinear interpolation with edge clamping; downscaling averages over a
 * window as wide as the shrink factor (antialiasing).
 */
#include "data/image.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "tensor/safetensors.h" /* nx_fopen_regular */

/* ---- reading a whole file ---------------------------------------------- */

static int read_file(const char *path, uint8_t **buf, size_t *len) {
    uint64_t size;
    FILE *f = nx_fopen_regular(path, &size);
    if (!f) return -1;
    if (size > IMAGE_MAX_FILE) {
        nx_error_set("%s: %llu bytes: over the %d MiB limit for an image file", path, (unsigned long long)size,
                     IMAGE_MAX_FILE >> 20);
        fclose(f);
        return -1;
    }
    *len = (size_t)size;
    *buf = nx_malloc(*len);
    if (fread(*buf, 1, *len, f) != *len) {
        nx_error_set("%s: read error: %s", path, strerror(errno));
        free(*buf);
        *buf = NULL;
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* Image sizes from a file's header are checked before any allocation. */
static int check_size(const char *name, const char *kind, int64_t h, int64_t w) {
    if (h < 1 || w < 1 || h > IMAGE_MAX_SIDE || w > IMAGE_MAX_SIDE || h * w > IMAGE_MAX_PIXELS) {
        nx_error_set("%s: %s header declares %lldx%lld pixels: over the limit (sides up to %d, %lld pixels)", name,
                     kind, (long long)w, (long long)h, IMAGE_MAX_SIDE, (long long)IMAGE_MAX_PIXELS);
        return -1;
    }
    return 0;
}

/* ---- JPEG ----------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    char warning[JMSG_LENGTH_MAX]; /* first warning that we treat as an error */
} JpegErr;

static void jpeg_on_error(j_common_ptr cinfo) {
    JpegErr *e = (JpegErr *)cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace messages */
    JpegErr *e = (JpegErr *)cinfo->err;
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_EXTRANEOUS_DATA) return; /* stray bytes before a marker: harmless */
    if (!e->warning[0]) cinfo->err->format_message(cinfo, e->warning);
}

/* A progressive JPEG can hold thousands of tiny scans, each a pass over the
 * whole image: stop after a plausible number (libjpeg-turbo's advice). */
static void jpeg_on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > 256) {
        JpegErr *e = (JpegErr *)cinfo->err;
        snprintf(e->msg, sizeof e->msg, "more than 256 progressive scans");
        longjmp(e->jump, 1);
    }
}

static int jpeg_decode(const char *name, const uint8_t *buf, size_t len, uint8_t **pixels, int *h, int *w, int *c) {
    struct jpeg_decompress_struct cinfo;
    JpegErr err;
    memset(&err, 0, sizeof err);
    uint8_t *volatile out = NULL;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_on_error;
    err.pub.emit_message = jpeg_on_message;
    if (setjmp(err.jump)) {
        nx_error_set("%s: corrupt JPEG: %s", name, err.msg);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_on_progress};
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (check_size(name, "JPEG", cinfo.image_height, cinfo.image_width) != 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        nx_error_set("%s: CMYK JPEG is not supported (convert it to RGB)", name);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int oh = (int)cinfo.output_height, ow = (int)cinfo.output_width, oc = cinfo.output_components;
    out = nx_malloc((size_t)oh * ow * oc);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * ow * oc;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (err.warning[0]) {
        nx_error_set("%s: corrupt JPEG: %s", name, err.warning);
        free(out);
        return -1;
    }
    *pixels = out;
    *h = oh;
    *w = ow;
    *c = oc;
    return 0;
}

/* ---- PNG ------------------------------------------------------------------ */

typedef struct {
    jmp_buf jump;
    char msg[256];
    const uint8_t *buf;
    size_t len, pos;
} PngCtx;

static void png_on_error(png_structp png, png_const_charp msg) {
    PngCtx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    longjmp(ctx->jump, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_mem_read(png_structp png, png_bytep dst, png_size_t n) {
    PngCtx *ctx = png_get_io_ptr(png);
    if (ctx->len - ctx->pos < n) png_error(png, "truncated (unexpected end of file)");
    memcpy(dst, ctx->buf + ctx->pos, n);
    ctx->pos += n;
}

static int png_decode(const char *name, const uint8_t *buf, size_t len, uint8_t **pixels, int *h, int *w, int *c) {
    PngCtx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.buf = buf;
    ctx.len = len;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) nx_fatal("libpng: out of memory");
    uint8_t *volatile out = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(ctx.jump)) {
        nx_error_set("%s: corrupt PNG: %s", name, ctx.msg);
        png_destroy_read_struct(&png, &info, NULL);
        free(out);
        free(rows);
        return -1;
    }
    png_set_read_fn(png, &ctx, png_mem_read);
    png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    png_read_info(png, info);
    if (check_size(name, "PNG", png_get_image_height(png, info), png_get_image_width(png, info)) != 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int oh = (int)png_get_image_height(png, info), ow = (int)png_get_image_width(png, info);
    int oc = png_get_channels(png, info);
    if (oc != 1 && oc != 3) png_error(png, "unexpected channel count after conversion");
    if (png_get_rowbytes(png, info) != (size_t)ow * oc) png_error(png, "unexpected row size after conversion");
    out = nx_malloc((size_t)oh * ow * oc);
    rows = nx_malloc((size_t)oh * sizeof(png_bytep));
    for (int y = 0; y < oh; y++) rows[y] = out + (size_t)y * ow * oc;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *pixels = out;
    *h = oh;
    *w = ow;
    *c = oc;
    return 0;
}

int image_decode(const char *name, const uint8_t *buf, size_t len, uint8_t **pixels, int *h, int *w, int *c) {
    *pixels = NULL;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return jpeg_decode(name, buf, len, pixels, h, w, c);
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0) return png_decode(name, buf, len, pixels, h, w, c);
    if (len == 0) {
        nx_error_set("%s: empty file", name);
        return -1;
    }
    char hex[3 * 4 + 1] = {0};
    for (size_t i = 0; i < len && i < 4; i++) snprintf(hex + (i ? 3 * i - 1 : 0), 4, i ? " %02x" : "%02x", buf[i]);
    nx_error_set("%s: not a JPEG or PNG image (%zu bytes, starting %s)", name, len, hex);
    return -1;
}

int image_load(const char *path, uint8_t **pixels, int *h, int *w, int *c) {
    uint8_t *buf;
    size_t len;
    *pixels = NULL;
    if (read_file(path, &buf, &len) != 0) return -1;
    int rc = image_decode(path, buf, len, pixels, h, w, c);
    free(buf);
    return rc;
}

/* ---- resize (Pillow's bilinear, exactly) ---------------------------------- */

#define PRECISION_BITS (32 - 8 - 2)

typedef struct {
    int ksize;
    int *bounds; /* (out, 2): first tap, number of taps */
    int *k;      /* (out, ksize) fixed-point weights */
} Coeffs;

static double tri(double x) {
    if (x < 0) x = -x;
    return x < 1 ? 1 - x : 0;
}

static void coeffs_init(Coeffs *cf, int in, int out) {
    double scale = (double)in / out, filterscale = scale < 1 ? 1 : scale;
    double support = 1.0 * filterscale;
    cf->ksize = (int)ceil(support) * 2 + 1;
    cf->bounds = nx_malloc((size_t)out * 2 * sizeof(int));
    cf->k = nx_calloc((size_t)out * cf->ksize, sizeof(int));
    double *kk = nx_malloc((size_t)cf->ksize * sizeof(double));
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, ww = 0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            kk[x] = tri((x + xmin - center + 0.5) * ss);
            ww += kk[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0 ? kk[x] / ww : kk[x];
            double fixed = v * (1 << PRECISION_BITS);
            cf->k[xx * cf->ksize + x] = (int)(v < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        cf->bounds[2 * xx] = xmin;
        cf->bounds[2 * xx + 1] = xmax;
    }
    free(kk);
}

static void coeffs_free(Coeffs *cf) {
    free(cf->bounds);
    free(cf->k);
}

static inline uint8_t clip8(int v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

void image_resize_plane(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, int sw) {
    NX_CHECK(dh > 0 && dw > 0 && sh > 0 && sw > 0, "image_resize_plane: bad sizes %dx%d -> %dx%d", sh, sw, dh, dw);
    if (dh == sh && dw == sw) {
        memcpy(dst, src, (size_t)dh * dw);
        return;
    }
    const uint8_t *cur = src;
    uint8_t *tmp = NULL;
    if (dw != sw) { /* horizontal: (sh, sw) -> (sh, dw) */
        Coeffs cf;
        coeffs_init(&cf, sw, dw);
        uint8_t *o = dh == sh ? dst : (tmp = nx_malloc((size_t)sh * dw));
        for (int y = 0; y < sh; y++)
            for (int x = 0; x < dw; x++) {
                const int *k = cf.k + x * cf.ksize;
                const uint8_t *row = src + (size_t)y * sw + cf.bounds[2 * x];
                int ss = 1 << (PRECISION_BITS - 1);
                for (int t = 0; t < cf.bounds[2 * x + 1]; t++) ss += row[t] * k[t];
                o[(size_t)y * dw + x] = clip8(ss);
            }
        coeffs_free(&cf);
        cur = o;
    }
    if (dh != sh) { /* vertical: (sh, dw) -> (dh, dw) */
        Coeffs cf;
        coeffs_init(&cf, sh, dh);
        for (int y = 0; y < dh; y++) {
            const int *k = cf.k + y * cf.ksize;
            int y0 = cf.bounds[2 * y], ny = cf.bounds[2 * y + 1];
            for (int x = 0; x < dw; x++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int t = 0; t < ny; t++) ss += cur[(size_t)(y0 + t) * dw + x] * k[t];
                dst[(size_t)y * dw + x] = clip8(ss);
            }
        }
        coeffs_free(&cf);
    }
    free(tmp);
}

/* ---- layouts -------------------------------------------------------------- */

void image_planar_to_interleaved(uint8_t *dst, const uint8_t *src, int c, int h, int w) {
    size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int k = 0; k < c; k++) dst[p * c + k] = src[k * hw + p];
}

void image_interleaved_to_planar(uint8_t *dst, const uint8_t *src, int c, int h, int w) {
    size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int k = 0; k < c; k++) dst[k * hw + p] = src[p * c + k];
}
