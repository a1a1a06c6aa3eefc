/* convert.c: `nicex convert`: rewrite a safetensors file with its float
 * tensors stored as F32, F16 or BF16 (e.g. to ship a checkpoint at half the
 * size; nicex and PyTorch load F16 / BF16 back as fp32).
 *
 * Every tensor keeps its name, shape and order, the metadata is copied, and
 * the float tensors (F32, F16 or BF16 in the input) are rounded to nearest
 * even into the requested type (tensor/safetensors.h). I32 tensors stay
 * I32; I64 ones (PyTorch's num_batches_tracked) become I32 when they fit.
 * Other dtypes are refused. The output is written atomically, and may be
 * the input file.
 */
#include "autograd/tape.h" /* nx_step_reset */
#include "cli/args.h"
#include "cli/cli.h"
#include "tensor/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tensor i of sf as a host tensor: floats as F32, integers as I32. */
static Tensor *read_tensor(SafetensorsFile *sf, const StTensorInfo *ti) {
    const char *dt = ti->dtype;
    bool f32 = strcmp(dt, "F32") == 0, f16 = strcmp(dt, "F16") == 0, bf16 = strcmp(dt, "BF16") == 0;
    bool i32 = strcmp(dt, "I32") == 0, i64 = strcmp(dt, "I64") == 0;
    if (!(f32 || f16 || bf16 || i32 || i64)) {
        nx_error_set("%s: '%s': dtype %s cannot be converted (F32, F16, BF16, I32, I64)", sf->path, ti->name, dt);
        return NULL;
    }
    if (ti->ndim > NX_MAX_DIMS) {
        nx_error_set("%s: '%s': %d dimensions, nicex tensors have at most %d", sf->path, ti->name, ti->ndim,
                     NX_MAX_DIMS);
        return NULL;
    }
    int shape[NX_MAX_DIMS];
    for (int d = 0; d < ti->ndim; d++) {
        if (ti->shape[d] > 0x7fffffff) {
            nx_error_set("%s: '%s': dimension %lld is too large", sf->path, ti->name, (long long)ti->shape[d]);
            return NULL;
        }
        shape[d] = (int)ti->shape[d];
    }
    Tensor *t = tensor_new(NX_CPU, (i32 || i64) ? NX_I32 : NX_F32, ti->ndim, shape);
    void *raw = nx_malloc((size_t)(ti->end - ti->begin) + 8);
    if (safetensors_read_raw(sf, ti, raw) != 0) {
        free(raw);
        return NULL;
    }
    int64_t n = ti->numel;
    if (f32 || i32) memcpy(t->data, raw, (size_t)n * 4);
    else if (f16 || bf16)
        for (int64_t k = 0; k < n; k++) {
            uint16_t h = ((const uint16_t *)raw)[k];
            t->data[k] = f16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
        }
    else
        for (int64_t k = 0; k < n; k++) {
            int64_t v = ((const int64_t *)raw)[k];
            if (v < INT32_MIN || v > INT32_MAX) {
                nx_error_set("%s: '%s': I64 value %lld does not fit I32", sf->path, ti->name, (long long)v);
                free(raw);
                return NULL;
            }
            ((int32_t *)t->data)[k] = (int32_t)v;
        }
    free(raw);
    return t;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *dtype = "f16";
    bool f16 = false, bf16 = false, json = false;
    const Opt opts[] = {
        {"in", OPT_STR, &in, "the safetensors file to read (required)"},
        {"out", OPT_STR, &out, "the file to write (required; may be --in)"},
        {"dtype", OPT_STR, &dtype, "f32 | f16 | bf16: how float tensors are stored (default f16)"},
        {"f16", OPT_FLAG, &f16, "same as --dtype f16"},
        {"bf16", OPT_FLAG, &bf16, "same as --dtype bf16"},
        {"json", OPT_FLAG, &json, "print a JSON summary"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex convert --in A.safetensors --out B.safetensors [--dtype f16|bf16|f32]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!in || !out) {
        fprintf(stderr, "nicex: convert needs --in FILE and --out FILE\n");
        return 2;
    }
    if (f16 && bf16) {
        fprintf(stderr, "nicex: --f16 and --bf16 exclude each other\n");
        return 2;
    }
    if (f16) dtype = "f16";
    if (bf16) dtype = "bf16";
    StSaveDtype as;
    if (strcmp(dtype, "f32") == 0) as = ST_SAVE_F32;
    else if (strcmp(dtype, "f16") == 0) as = ST_SAVE_F16;
    else if (strcmp(dtype, "bf16") == 0) as = ST_SAVE_BF16;
    else {
        fprintf(stderr, "nicex: --dtype: '%s' is not f32, f16 or bf16\n", dtype);
        return 2;
    }
    SafetensorsFile sf;
    if (safetensors_open(&sf, in) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 1;
    }
    int n = sf.n;
    const char **names = nx_calloc((size_t)(n ? n : 1), sizeof *names);
    const Tensor **ts = nx_calloc((size_t)(n ? n : 1), sizeof *ts);
    const char **meta = nx_calloc((size_t)(2 * sf.n_meta + 2), sizeof *meta);
    rc = 1;
    uint64_t in_bytes = sf.file_size;
    for (int i = 0; i < n; i++) {
        names[i] = sf.t[i].name;
        if (!(ts[i] = read_tensor(&sf, &sf.t[i]))) {
            fprintf(stderr, "nicex: %s\n", nx_error_msg());
            goto done;
        }
    }
    for (int m = 0; m < sf.n_meta; m++) meta[2 * m] = sf.meta_key[m], meta[2 * m + 1] = sf.meta_val[m];
    if (safetensors_save_as(out, n, names, ts, sf.n_meta, meta, as) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        goto done;
    }
    FILE *f = fopen(out, "rb");
    long out_bytes = -1;
    if (f) {
        fseek(f, 0, SEEK_END);
        out_bytes = ftell(f);
        fclose(f);
    }
    if (json)
        printf("{\"in\": \"%s\", \"out\": \"%s\", \"dtype\": \"%s\", \"tensors\": %d, \"in_bytes\": %llu, "
               "\"out_bytes\": %ld}\n",
               in, out, dtype, n, (unsigned long long)in_bytes, out_bytes);
    else
        printf("%s -> %s: %d tensors, floats as %s, %llu -> %ld bytes\n", in, out, n, dtype,
               (unsigned long long)in_bytes, out_bytes);
    rc = 0;
done:
    free(names);
    free(ts);
    free(meta);
    safetensors_close(&sf);
    nx_step_reset();
    return rc;
}
