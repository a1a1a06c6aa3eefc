/* cifar.c: the CIFAR-10 binary release.
 *
 * Each batch file (data_batch_1..5.bin, test_batch.bin) is a run of
 * 3073-byte records: one label byte (0..9), then 3072 pixel bytes, the
 * 1024 red values of the 32x32 image row by row, then green, then blue;
 * that is (C, H, W) planar, the layout of Dataset.pixels, so records are
 * copied as they are. The official files hold 10000 records each; any whole
 * number is accepted (tests use small files).
 */
#include "data/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/safetensors.h" /* nx_fopen_regular */

#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_MAX_RECORDS (1 << 22) /* 12 GiB of pixels; CIFAR-10 has 60000 */

int cifar10_read_batch(const char *path, uint8_t **pixels, int32_t **labels, int64_t *n) {
    uint64_t fsize;
    FILE *f = nx_fopen_regular(path, &fsize);
    if (!f) return -1;
    int64_t size = (int64_t)fsize, records = size / CIFAR_RECORD, rest = size % CIFAR_RECORD;
    if (size == 0 || rest != 0) {
        nx_error_set("%s: truncated: %lld bytes is not a whole number of %d-byte records (%lld records and %lld bytes)",
                     path, (long long)size, CIFAR_RECORD, (long long)records, (long long)rest);
        fclose(f);
        return -1;
    }
    if (*n + records > CIFAR_MAX_RECORDS) {
        nx_error_set("%s: %lld records would make %lld in all, over the limit of %d", path, (long long)records,
                     (long long)(*n + records), CIFAR_MAX_RECORDS);
        fclose(f);
        return -1;
    }
    *pixels = nx_realloc(*pixels, (size_t)(*n + records) * CIFAR_PIXELS);
    *labels = nx_realloc(*labels, (size_t)(*n + records) * sizeof(int32_t));
    uint8_t *rec = nx_malloc((size_t)CIFAR_RECORD * (size_t)(records < 1024 ? records : 1024));
    for (int64_t r = 0; r < records;) {
        int64_t k = records - r < 1024 ? records - r : 1024;
        if (fread(rec, CIFAR_RECORD, (size_t)k, f) != (size_t)k) {
            nx_error_set("%s: read error at record %lld: %s", path, (long long)r,
                         feof(f) ? "unexpected end of file" : strerror(errno));
            free(rec);
            fclose(f);
            return -1;
        }
        for (int64_t i = 0; i < k; i++) {
            const uint8_t *p = rec + i * CIFAR_RECORD;
            if (p[0] > 9) {
                nx_error_set("%s: record %lld has label %d, expected 0..9: not a CIFAR-10 batch file?", path,
                             (long long)(r + i), p[0]);
                free(rec);
                fclose(f);
                return -1;
            }
            (*labels)[*n + r + i] = p[0];
            memcpy(*pixels + (size_t)(*n + r + i) * CIFAR_PIXELS, p + 1, CIFAR_PIXELS);
        }
        r += k;
    }
    free(rec);
    fclose(f);
    *n += records;
    return 0;
}
