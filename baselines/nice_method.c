/* nice_method.c: NICE (nice/) behind the same interface as the baselines.
 *
 * A trained generator G maps each image to log_alpha (N, 1, H, W), one
 * value per pixel; larger keeps the pixel (docs/nice.md). The map is
 *   --map log_alpha   log_alpha itself (default: continuous, so every pixel
 *                     is ranked, as the deletion/insertion metrics need)
 *   --map mask        the deterministic test-time gate z in [0, 1] (eq. 12)
 * NICE has no target argument: G explains the class the classifier it was
 * trained with predicts; `target` is recorded but does not change the map.
 */
#include "baselines/baselines.h"
#include "eval/accuracy.h"
#include "nice/checkpoint.h"

#include <stddef.h>
#include <string.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
#define SHIPPED_GENERATOR NX_MODELS_DIR "/nice-lenet5-fashion-mnist.safetensors"

void nice_method_defaults(NiceMethodOpts *o, int side) {
    (void)side;
    *o = (NiceMethodOpts){.gen = SHIPPED_GENERATOR, .map = "log_alpha"};
}

int baseline_nice(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target,
                  const NiceMethodOpts *o) {
    (void)native, (void)target;
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    bool use_mask = strcmp(o->map, "mask") == 0;
    if (!use_mask && strcmp(o->map, "log_alpha") != 0) {
        nx_error_set("--map: '%s' is not log_alpha or mask", o->map);
        return -1;
    }
    const char *path = o->gen ? o->gen : SHIPPED_GENERATOR;
    Generator g;
    Model gm;
    NiceConfig c;
    if (nice_load(path, &g, &gm, &c, x->device) != 0) return -1;
    model_free(&gm);
    if (g.in_c != C || g.hw != H || H != W) {
        nx_error_set("--gen %s: the generator takes %dx%dx%d images, these are %dx%dx%d", path, g.in_c, g.hw, g.hw, C,
                     H, W);
        generator_free(&g);
        return -1;
    }
    ClassifierState st;
    bl_enter(m, &st);
    nx_no_grad();
    float *xd = bl_copy_input(x);
    const int B = 256;
    for (int i0 = 0; i0 < N; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        nx_step_reset();
        Tensor *la = generator_forward(&g, bl_rows(xd, x->device, i0, b, C, H, W));
        Tensor *out = use_mask ? hc_test_mask(&c.hc, la) : la;
        device_memcpy(NX_CPU, maps + (size_t)i0 * H * W, out->device, out->data, tensor_bytes(out));
    }
    device_free(x->device, xd);
    bl_leave(m, &st);
    generator_free(&g);
    return 0;
}

static const BaselineOption nice_options[] = {
    {"gen", BO_STR, offsetof(NiceMethodOpts, gen), NULL, 0, 0,
     "NICE file from nicex nice train (default: the shipped LeNet5 generator)"},
    {"map", BO_STR, offsetof(NiceMethodOpts, map), NULL, 0, 0,
     "log_alpha (default, continuous) | mask (the test-time gate z, eq. 12)"},
};

static void defaults_v(void *o, int side) { nice_method_defaults(o, side); }
static int run_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_nice(maps, native, m, x, t, o);
}

const BaselineMethod baseline_method_nice = {
    .name = "nice",
    .summary = "NICE: the log_alpha of a trained generator (Li & Ji; nice/, docs/nice.md)",
    .opts_size = sizeof(NiceMethodOpts),
    .defaults = defaults_v,
    .options = nice_options,
    .n_options = sizeof nice_options / sizeof nice_options[0],
    .run = run_v,
};
