/* controls.c: the two maps every comparison needs beside the methods.
 *
 *   random     M[n, i, j] = u, u uniform in (0, 1] from the Philox stream
 *              (seed, "RAND", id_n): one seed repeats the maps exactly, and
 *              an image's map does not depend on its batch
 *   intensity  M[n, i, j] = mean over channels of x_n[c, i, j]: the image's
 *              own brightness. On Fashion-MNIST, objects on a black
 *              background, this is a strong "explanation": a method that
 *              cannot beat it explains little more than where the object is.
 * Neither looks at the classifier (it stays untouched).
 */
#include "baselines/baselines.h"
#include "tensor/rng.h"

#include <stddef.h>
#include <stdlib.h>

#define TAG_RANDOM 0x52414e44ull /* "RAND" */

void control_defaults(ControlOpts *o, int side) {
    (void)side;
    *o = (ControlOpts){0};
}

int baseline_random(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target,
                    const ControlOpts *o) {
    (void)native, (void)m, (void)target;
    int N = x->shape[0], HW = x->shape[2] * x->shape[3];
    for (int i = 0; i < N; i++) {
        uint64_t s = bl_stream(&o->common, TAG_RANDOM, i);
        for (int p = 0; p < HW; p++) maps[(size_t)i * HW + p] = philox_uniform(s, (uint64_t)p);
    }
    return 0;
}

int baseline_intensity(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target,
                       const ControlOpts *o) {
    (void)native, (void)m, (void)target, (void)o;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3];
    float *h = tensor_to_host(x);
    for (int i = 0; i < N; i++)
        for (int p = 0; p < HW; p++) {
            float s = 0;
            for (int c = 0; c < C; c++) s += h[((size_t)i * C + c) * HW + p];
            maps[(size_t)i * HW + p] = s / (float)C;
        }
    free(h);
    return 0;
}

static void defaults_v(void *o, int side) { control_defaults(o, side); }
static int random_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_random(maps, native, m, x, t, o);
}
static int intensity_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_intensity(maps, native, m, x, t, o);
}

const BaselineMethod baseline_method_random = {
    .name = "random",
    .summary = "control: a seeded uniform map (--seed)",
    .opts_size = sizeof(ControlOpts),
    .defaults = defaults_v,
    .run = random_v,
};

const BaselineMethod baseline_method_intensity = {
    .name = "intensity",
    .summary = "control: the image's brightness, mean over channels",
    .opts_size = sizeof(ControlOpts),
    .defaults = defaults_v,
    .run = intensity_v,
};
