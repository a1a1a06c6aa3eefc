/* checkpoint.h: models saved as safetensors with PyTorch's state_dict keys.
 *
 * model.safetensors holds every parameter and buffer under its state_dict
 * key plus metadata (arch, classes, input size), so `nicex eval --ckpt F`
 * needs no --model, and torch's load_state_dict(strict=False) reads it
 * (nicex keeps no num_batches_tracked). A file exported from PyTorch loads
 * too; its num_batches_tracked entries are skipped.
 *
 * Training state (for --resume) goes to a companion file "<ckpt>.state":
 * the optimizer's moment blocks, the epoch, the step count, the seed and
 * the random-stream offset, so a resumed run continues exactly, and the
 * epoch and hash of the checkpoint it belongs to.
 * Every write is atomic (temporary file, then rename).
 */
#ifndef NX_CHECKPOINT_H
#define NX_CHECKPOINT_H

#include "layers/model.h"
#include "optim/optim.h"
#include "tensor/safetensors.h"

/* extra: n_extra metadata pairs (key, value) stored with the model. */
int model_save(const Model *m, const char *path, int n_extra, const char *const *extra);
/* Create the model described by the file's metadata (arch, classes, input)
 * on device d and load its weights. arch_override (may be NULL) is used
 * when the file has no metadata (a PyTorch export), with n_classes and
 * in_c/in_hw (0: defaults). -1 + nx_error_set on any problem. */
int model_load(Model *m, const char *path, const char *arch_override, int n_classes, int in_c, int in_hw, Device d);

/* The input normalisation of m (layers/model.h) as the metadata pair
 * "normalize_mean" / "normalize_std" ("0.485,0.456,0.406"): returns false,
 * and leaves the buffers alone, when m does not normalise. Every file that
 * stores a classifier (model_save, nice_save) writes it this way. */
bool model_normalize_meta(const Model *m, char mean[64], char std[64]);
/* Set m's normalisation from that pair as read from path's metadata (NULL
 * or empty: none). -1 + nx_error_set naming path on a malformed pair. */
int model_normalize_from_meta(Model *m, const char *path, const char *mean, const char *std);

/* Bounds on what a checkpoint's metadata may say (checked before any
 * model is built): the classes, the input channels and the input side. */
#define MODEL_MAX_CLASSES 100000
#define MODEL_MAX_CHANNELS 64
#define MODEL_MAX_SIDE 4096

/* The model a checkpoint describes. Fields absent from the metadata are
 * empty / 0 (a PyTorch export). */
typedef struct {
    char arch[32];
    int n_classes, in_c, in_hw;
} ModelMeta;
/* Read and range-check the metadata of an open file: -1 + nx_error_set
 * ("F: metadata 'classes' is '2000000000': expected an integer in [1, 100000]"). */
int model_meta_parse(const SafetensorsFile *sf, ModelMeta *mm);
/* A strict integer from metadata text: the whole of s, in [lo, hi]. */
int meta_parse_int(const char *path, const char *key, const char *s, long long lo, long long hi, long long *out);
/* A strict number: the whole of s, finite, in [lo, hi] ((lo, hi] when open). */
int meta_parse_float(const char *path, const char *key, const char *s, float lo, float hi, bool open, float *out);

/* The data must fit the model before the first batch: channels, image size
 * and class count. -1 + nx_error_set("DATA: images are 3x32x32 in 10 classes;
 * the model in CKPT takes 1x28x28 in 10 classes"). */
int model_check_data(const Model *m, const char *model_name, int c, int h, int w, int n_classes, const char *data_name);

/* FNV-1a (64 bits) of a file's bytes: ties a training-state file to the
 * checkpoint it was written with. */
int file_hash(const char *path, uint64_t *hash);

typedef struct {
    int epoch;        /* epochs completed */
    int64_t steps;    /* optimizer steps */
    uint64_t seed, rng_offset;
} TrainState;

int train_state_save(const char *path, const Optimizer *o, const TrainState *st);
int train_state_load(const char *path, Optimizer *o, TrainState *st);
/* The same, pairing the state with a checkpoint: the state records the
 * epoch and file_hash of ckpt_path (just written), and loading refuses a
 * state whose checkpoint is not ckpt_path as it is now (another epoch or
 * another run: a run killed between the two renames). A state without the
 * record (written by train_state_save) loads with a warning on stderr. */
int train_state_save_paired(const char *path, const Optimizer *o, const TrainState *st, const char *ckpt_path);
int train_state_load_paired(const char *path, Optimizer *o, TrainState *st, const char *ckpt_path);

#endif
