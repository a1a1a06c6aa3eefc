/* fuzz_safetensors.c: libFuzzer harness for tensor/safetensors.c: the header
 * parser and validation, then every tensor's data and the metadata, and the
 * model-metadata checks of layers/checkpoint.c. */
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, ".safetensors");
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) {
        fuzz_check_message(path);
        return 0;
    }
    for (int i = 0; i < sf.n; i++) {
        const StTensorInfo *ti = &sf.t[i];
        if (safetensors_find(&sf, ti->name) != ti) nx_fatal("fuzz: find('%s') is not the first entry", ti->name);
        uint8_t *buf = malloc((size_t)(ti->end - ti->begin) + 1);
        if (safetensors_read_raw(&sf, ti, buf) != 0) nx_fatal("fuzz: read of a validated tensor failed: %s", nx_error_msg());
        free(buf);
    }
    for (int i = 0; i < sf.n_meta; i++) (void)safetensors_meta(&sf, sf.meta_key[i]);
    ModelMeta mm;
    if (model_meta_parse(&sf, &mm) != 0) fuzz_check_message(path);
    safetensors_close(&sf);
    return 0;
}
