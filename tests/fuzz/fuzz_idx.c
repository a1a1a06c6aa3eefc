/* fuzz_idx.c: libFuzzer harness for data/idx.c (raw and gzip IDX files). */
#include "data/dataset.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, ".idx");
    uint8_t *px = NULL;
    int ndim = 0;
    int64_t dims[4];
    if (idx_read(path, 0, "pixels", &px, &ndim, dims) == 0) {
        int64_t total = 1;
        for (int d = 0; d < ndim; d++) total *= dims[d];
        uint64_t sum = 0; /* touch every byte the header announces */
        for (int64_t i = 0; i < total; i++) sum += px[i];
        (void)sum;
        free(px);
    } else {
        fuzz_check_message(path);
    }
    return 0;
}
