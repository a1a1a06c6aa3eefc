/* jpeg_seeds.c: JPEG seeds for the fuzz corpus, encoded with libjpeg (the
 * machine has no PIL or ImageMagick): baseline RGB 4:2:0, grayscale,
 * progressive, 4:4:4 with restart markers, optimised Huffman tables.
 * Usage: jpeg_seeds DIR  (make fuzz-corpus builds and runs it). */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

static void write_jpeg(const char *dir, const char *name, int w, int h, int gray, int progressive, int h_samp,
                       int restart, int optimize) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = gray ? 1 : 3;
    c.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 60, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    if (!gray) c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = h_samp;
    c.restart_interval = (unsigned)restart;
    c.optimize_coding = optimize;
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * 3);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < w * (gray ? 1 : 3); x++) row[x] = (unsigned char)(x * 37 + y * 11 + (x * y) % 7);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    fclose(f);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    write_jpeg(dir, "rgb420_16x8.jpg", 16, 8, 0, 0, 2, 0, 0);
    write_jpeg(dir, "gray_9x7.jpg", 9, 7, 1, 0, 1, 0, 0);
    write_jpeg(dir, "progressive_17x9.jpg", 17, 9, 0, 1, 2, 0, 0);
    write_jpeg(dir, "rgb444_restart_24x16.jpg", 24, 16, 0, 0, 1, 1, 1);
    write_jpeg(dir, "progressive_gray_8x8.jpg", 8, 8, 1, 1, 1, 0, 1);
    return 0;
}
