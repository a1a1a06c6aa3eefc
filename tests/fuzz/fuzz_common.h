/* fuzz_common.h: helpers shared by the libFuzzer harnesses of tests/fuzz.
 *
 * The file readers take a path, so each input is written to one private
 * temporary file (in $TMPDIR or /tmp) and read back from there.
 */
#ifndef NX_FUZZ_COMMON_H
#define NX_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor/common.h"

static inline const char *fuzz_tmp_path(const char *suffix) {
    static char path[256];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/nicex-fuzz-%d%s", dir && *dir ? dir : "/tmp", (int)getpid(), suffix);
    }
    return path;
}

static inline const char *fuzz_write(const uint8_t *data, size_t size, const char *suffix) {
    const char *p = fuzz_tmp_path(suffix);
    FILE *f = fopen(p, "wb");
    if (!f) nx_fatal("fuzz: cannot write %s", p);
    if (size && fwrite(data, 1, size, f) != size) nx_fatal("fuzz: short write to %s", p);
    fclose(f);
    return p;
}

/* Every failure must leave one message that names the file. */
static inline void fuzz_check_message(const char *path) {
    if (!strstr(nx_error_msg(), path)) nx_fatal("fuzz: error message does not name the file: %s", nx_error_msg());
}

#endif
