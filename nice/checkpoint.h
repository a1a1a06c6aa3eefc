/* checkpoint.h: saving and loading NICE files (`nicex nice train --out`).
 *
 * One safetensors file holds the generator ("generator.*"), the classifier
 * it explains ("classifier.*", frozen or finetuned) and, as metadata, the
 * architectures, input shape, block size, lambdas, the gate's beta, gamma,
 * zeta and the option names of nice/names.c, so explaining needs nothing
 * else. F16 / BF16 files (nicex convert) load too.
 */
#ifndef NX_NICE_CHECKPOINT_H
#define NX_NICE_CHECKPOINT_H

#include "nice/train.h"

/* Save the generator together with the classifier it explains (keys
 * "generator.*" and "classifier.*") and the settings as metadata. */
int nice_save(const char *path, const Generator *g, const Model *m, const NiceConfig *c, const char *dataset);
/* Load both, creating them from the metadata; c gets the saved settings.
 * Every setting is range-checked (block 1..64 dividing the image, finite
 * lambdas, beta > 0, ...), every tensor's shape must match (not only its
 * element count) and every value be finite: -1 + nx_error_set naming the
 * file and the key otherwise. */
int nice_load(const char *path, Generator *g, Model *m, NiceConfig *c, Device d);

#endif
