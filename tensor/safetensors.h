/* safetensors.h: reading and writing checkpoints in the safetensors format.
 *
 * The format (https://github.com/huggingface/safetensors):
 *   8 bytes   N, the header length, unsigned 64-bit little endian
 *   N bytes   a JSON object, UTF-8, possibly padded with spaces:
 *             {"__metadata__": {"key": "value", ...},          (optional)
 *              "name": {"dtype": "F32", "shape": [d0, d1, ...],
 *                       "data_offsets": [begin, end]}, ...}
 *   the data  each tensor's bytes, little endian, row major, at
 *             [begin, end) counted from the end of the header.
 *
 * nicex writes F32 (F16 or BF16 on request: safetensors_save_as; I32 for
 * int tensors), tensors in the order given, the header padded with spaces to a multiple of 8 bytes, atomically (a
 * temporary file in the same folder, then rename). It reads any valid file:
 * the header is parsed by a small strict JSON parser and checked (known
 * dtypes, offsets inside the data, end - begin = numel * element size, no
 * overlaps, data not truncated). Parameter names are PyTorch state_dict
 * keys, so a torchvision model saved with safetensors.torch.save_file loads
 * as is.
 *
 * Every failure returns -1 after nx_error_set() with one line that names the
 * file and the problem:
 *   "ckpt.safetensors: truncated: header says 8 + 120 + 4000 bytes, file has 2000"
 *   "ckpt.safetensors: bad header JSON at byte 41: expected ':' after a key"
 *   "ckpt.safetensors: key 'fc.weight' is missing from the file"
 *   "ckpt.safetensors: 'fc.weight': shape mismatch: expected (10, 512), found (1000, 512)"
 *   "ckpt.safetensors: 'x': unsupported dtype F64 (nicex reads F32, F16 and BF16, and I64/I32 for integer buffers)"
 */
#ifndef NX_SAFETENSORS_H
#define NX_SAFETENSORS_H

#include <stdio.h>

#include "tensor/tensor.h"

#define ST_MAX_DIMS 8

typedef struct StTensorInfo {
    char *name;
    char dtype[8];               /* "F32", "I64", ... */
    int elem_size;               /* bytes per element */
    int ndim;                    /* 0 for a scalar (e.g. num_batches_tracked) */
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;         /* byte offsets from the start of the data */
} StTensorInfo;

typedef struct SafetensorsFile {
    char *path;
    FILE *f;
    uint64_t header_len;
    uint64_t data_start;         /* 8 + header_len */
    uint64_t file_size;
    int n;                       /* tensors, in header order */
    StTensorInfo *t;
    int n_meta;                  /* __metadata__ entries */
    char **meta_key, **meta_val;
} SafetensorsFile;

/* Open a file and parse and validate its header. */
int safetensors_open(SafetensorsFile *sf, const char *path);
void safetensors_close(SafetensorsFile *sf);
/* NULL when absent. */
const StTensorInfo *safetensors_find(const SafetensorsFile *sf, const char *name);
const char *safetensors_meta(const SafetensorsFile *sf, const char *key);
/* Read a tensor's raw bytes (end - begin of them) into host memory. */
int safetensors_read_raw(SafetensorsFile *sf, const StTensorInfo *ti, void *dst);

/* Write tensors (any device, F32 or I32) under the given names, plus
 * n_meta metadata pairs meta[2k] = key, meta[2k+1] = value (may be NULL
 * when n_meta is 0). Names must be distinct. */
int safetensors_save(const char *path, int n, const char *const *names, const Tensor *const *tensors,
                     int n_meta, const char *const *meta);
/* Write every tensor of a store (parameters and buffers) under its name. */
int safetensors_save_params(const char *path, const ParamStore *s, int n_meta, const char *const *meta);

/* Half-precision files: the _as variants store float tensors as F16 or
 * BF16 (I32 stays I32), rounded to nearest even; loading widens F16 and
 * BF16 back to fp32 (exactly: every half value is an fp32 value), so a
 * PyTorch model saved after .half() or .bfloat16() loads too. */
typedef enum { ST_SAVE_F32 = 0, ST_SAVE_F16 = 1, ST_SAVE_BF16 = 2 } StSaveDtype;
int safetensors_save_as(const char *path, int n, const char *const *names, const Tensor *const *tensors,
                        int n_meta, const char *const *meta, StSaveDtype as);
int safetensors_save_params_as(const char *path, const ParamStore *s, int n_meta, const char *const *meta,
                               StSaveDtype as);
/* The conversions, bit exact (round to nearest even when narrowing). */
float st_f16_to_f32(uint16_t h);
uint16_t st_f32_to_f16(float f);
float st_bf16_to_f32(uint16_t h);
uint16_t st_f32_to_bf16(float f);

/* Load every tensor of the store from the file, by name (params_find).
 * A store tensor missing from the file, a shape mismatch or an unsupported
 * dtype is an error. F32 loads as is; F16 / BF16 are widened to fp32;
 * I64 / I32 are converted to float
 * (integer buffers). Keys of the file that the store lacks are an error
 * unless ignore_extra; keys ending in "num_batches_tracked" (batchnorm's
 * step counter, which nicex does not keep) are always skipped. Tensors may
 * live on CUDA: data goes through device_memcpy. Nothing is changed in the
 * store when an error is found before the data is read. */
int safetensors_load_params(const char *path, ParamStore *s, bool ignore_extra);

/* The one validated loader behind safetensors_load_params, for an open
 * file: every store tensor t is the file's key "<prefix>.<t->name>" (the
 * name itself when prefix is NULL or ""), with the checks and conversions
 * above. Extra keys are counted among those under the prefix only; with
 * require_finite a NaN or inf value is an error naming the key and element
 * ("F: 'generator.conv1.weight' holds nan at element 3: the file is
 * broken"). One file can fill several stores (a NICE file: "generator",
 * "classifier"). Tensors before the failing one may already be loaded. */
typedef struct {
    const char *prefix;
    bool ignore_extra;
    bool require_finite;
} StLoadOptions;
int safetensors_read_params(SafetensorsFile *sf, ParamStore *s, const StLoadOptions *o);

/* Limits that bound the time and memory a hostile header can cost. */
#define ST_MAX_TENSORS 100000 /* tensors in one file (ResNet-152 has ~1,000) */
#define ST_MAX_META 4096      /* __metadata__ entries */

/* ---- opening files to read (also used by data/) ------------------------- */
/* Open path for reading only if it is a regular file: a FIFO, a device, a
 * socket or a directory is refused at once (the open itself never blocks).
 * *size (may be NULL) receives the file size. NULL + nx_error_set
 * ("path: cannot open: ..." or "path: is a FIFO, not a regular file"). */
FILE *nx_fopen_regular(const char *path, uint64_t *size);
int nx_open_regular(const char *path, uint64_t *size); /* the same as a file descriptor, -1 on error */

/* ---- atomic file writes (also used by data/png.c) ---------------------- */
/* Write to "<path>.tmp.XXXXXX" in the same folder, then fsync and rename
 * over path on commit; abort removes the temporary file. */
typedef struct AtomicFile {
    char *path, *tmp_path;
    FILE *f;
    bool failed;
    bool sync; /* fsync before the rename; true after open (PNG writing turns it off) */
} AtomicFile;
int atomic_file_open(AtomicFile *af, const char *path);
int atomic_file_write(AtomicFile *af, const void *data, size_t bytes);
int atomic_file_commit(AtomicFile *af); /* closes; -1 + nx_error_set on any write error */
void atomic_file_abort(AtomicFile *af);
/* Unlink every temporary file still open (async-signal-safe: for SIGINT /
 * SIGTERM handlers). An existing path that is not a regular file (a FIFO,
 * a device, a directory) is never replaced: atomic_file_open refuses it. */
void atomic_file_remove_temporaries(void);

#endif
