/* fuzz_image.c: libFuzzer harness for data/image.c, built twice: FUZZ_PNG
 * prefixes every input with the PNG signature, FUZZ_JPEG with FF D8 FF, so
 * each binary spends its time in one decoder. A decoded image is resized
 * (the folder loader's next step). */
#include "data/image.h"
#include "tests/fuzz/fuzz_common.h"

#if defined(FUZZ_PNG)
static const uint8_t SIG[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
#else
static const uint8_t SIG[] = {0xFF, 0xD8, 0xFF};
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* corpus files are whole images: keep them as they are when they start with the signature */
    uint8_t *buf = malloc(size + sizeof SIG);
    size_t len = size;
    if (size >= sizeof SIG && memcmp(data, SIG, sizeof SIG) == 0) memcpy(buf, data, size);
    else memcpy(buf, SIG, sizeof SIG), memcpy(buf + sizeof SIG, data, size), len += sizeof SIG;
    uint8_t *px = NULL;
    int h, w, c;
    if (image_decode("fuzz-input", buf, len, &px, &h, &w, &c) == 0) {
        if (h < 1 || w < 1 || (c != 1 && c != 3)) nx_fatal("fuzz: decoded %dx%dx%d", h, w, c);
        uint8_t *plane = malloc((size_t)h * w), *out = malloc(16 * 16);
        for (int64_t i = 0; i < (int64_t)h * w; i++) plane[i] = px[i * c];
        image_resize_plane(out, 16, 16, plane, h, w);
        free(plane);
        free(out);
        free(px);
    } else if (!strstr(nx_error_msg(), "fuzz-input")) {
        nx_fatal("fuzz: error message does not name the input: %s", nx_error_msg());
    }
    free(buf);
    return 0;
}
