/* fuzz_cifar.c: libFuzzer harness for data/cifar.c (one CIFAR-10 batch file). */
#include "data/dataset.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, ".bin");
    uint8_t *px = NULL;
    int32_t *labels = NULL;
    int64_t n = 0;
    if (cifar10_read_batch(path, &px, &labels, &n) == 0) {
        for (int64_t i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] > 9) nx_fatal("fuzz: label %d out of range", labels[i]);
        uint64_t sum = 0;
        for (int64_t i = 0; i < n * 3072; i++) sum += px[i];
        (void)sum;
    } else {
        fuzz_check_message(path);
    }
    free(px);
    free(labels);
    return 0;
}
