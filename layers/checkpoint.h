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
 * the random-stream offset, so a resumed run continues exactly.
 * Every write is atomic (temporary file, then rename).
 */
#ifndef NX_CHECKPOINT_H
#define NX_CHECKPOINT_H

#include "layers/model.h"
#include "optim/optim.h"

/* extra: n_extra metadata pairs (key, value) stored with the model. */
int model_save(const Model *m, const char *path, int n_extra, const char *const *extra);
/* Create the model described by the file's metadata (arch, classes, input)
 * on device d and load its weights. arch_override (may be NULL) is used
 * when the file has no metadata (a PyTorch export), with n_classes and
 * in_c/in_hw (0: defaults). -1 + nx_error_set on any problem. */
int model_load(Model *m, const char *path, const char *arch_override, int n_classes, int in_c, int in_hw, Device d);

typedef struct {
    int epoch;        /* epochs completed */
    int64_t steps;    /* optimizer steps */
    uint64_t seed, rng_offset;
} TrainState;

int train_state_save(const char *path, const Optimizer *o, const TrainState *st);
int train_state_load(const char *path, Optimizer *o, TrainState *st);

#endif
