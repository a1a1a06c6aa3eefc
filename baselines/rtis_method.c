/* rtis_method.c: RTIS (baselines/rtis.h) behind the baselines' interface.
 *
 * A trained masking model maps each image and a class to a mask m in
 * [0, 1] at input resolution (larger = kept); the map is m for the
 * target class, the native map the mask before upsampling (8x8 for the
 * shipped LeNet5 model). One forward of the masking model per call.
 *   --rtis FILE   from nicex rtis train (default: the shipped LeNet5 model)
 * The file must have been trained for the classifier's architecture, class
 * count and input size (refused otherwise).
 */
#include "baselines/baselines.h"
#include "baselines/rtis.h"
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
#define SHIPPED_RTIS NX_MODELS_DIR "/rtis-lenet5-fashion-mnist.safetensors"

void rtis_method_defaults(RtisMethodOpts *o, int side) {
    (void)side;
    *o = (RtisMethodOpts){.rtis = SHIPPED_RTIS};
}

int baseline_rtis(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target, const RtisMethodOpts *o) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const char *path = o->rtis ? o->rtis : SHIPPED_RTIS;
    float *xh = tensor_to_host(x); /* copied first: rtis_explain allocates step tensors */
    ClassifierState st;
    bl_enter(m, &st);
    RtisModel r;
    int rc = -1;
    if (rtis_load(path, &r, m, NULL, NULL) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nx_error_msg());
        nx_error_set("--rtis: %s", msg);
        goto done;
    }
    if (C != r.in_c || H != r.in_hw || W != r.in_hw) {
        nx_error_set("--rtis %s: the masking model takes %dx%dx%d images, these are %dx%dx%d", path, r.in_c, r.in_hw,
                     r.in_hw, C, H, W);
        rtis_free(&r);
        goto done;
    }
    float *low = native ? native : NULL;
    rc = rtis_explain(maps, low, NULL, &r, m, xh, N, target);
    rtis_free(&r);
done:
    free(xh);
    bl_leave(m, &st);
    return rc;
}

/* The native side from the file's metadata (0 when it cannot be read). */
static void native_size_v(const Model *m, const void *o, int H, int W, int *nh, int *nw) {
    (void)m, (void)H, (void)W;
    const RtisMethodOpts *ro = o;
    SafetensorsFile sf;
    *nh = *nw = 0;
    if (safetensors_open(&sf, ro->rtis ? ro->rtis : SHIPPED_RTIS) != 0) return;
    const char *s = safetensors_meta(&sf, "mask_size");
    long long v;
    if (s && meta_parse_int(sf.path, "mask_size", s, 1, MODEL_MAX_SIDE, &v) == 0) *nh = *nw = (int)v;
    safetensors_close(&sf);
}

/* Refuse early (before any image is read) a file for another classifier. */
static int check_v(const Model *m, const void *o, int H, int W) {
    (void)H, (void)W;
    const RtisMethodOpts *ro = o;
    RtisModel r;
    if (rtis_load(ro->rtis ? ro->rtis : SHIPPED_RTIS, &r, (Model *)m, NULL, NULL) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nx_error_msg());
        nx_error_set("--rtis: %s", msg);
        return -1;
    }
    rtis_free(&r);
    return 0;
}

static const BaselineOption rtis_options[] = {
    {"rtis", BO_STR, offsetof(RtisMethodOpts, rtis), NULL, 0, 0,
     "RTIS file from nicex rtis train (default: the shipped LeNet5 model)"},
};

static void defaults_v(void *o, int side) { rtis_method_defaults(o, side); }
static int run_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_rtis(maps, native, m, x, t, o);
}

const BaselineMethod baseline_method_rtis = {
    .name = "rtis",
    .summary = "RTIS: the mask of a trained masking model for the target class (Dabkowski & Gal; docs/rtis.md)",
    .opts_size = sizeof(RtisMethodOpts),
    .defaults = defaults_v,
    .options = rtis_options,
    .n_options = sizeof rtis_options / sizeof rtis_options[0],
    .check = check_v,
    .native_size = native_size_v,
    .run = run_v,
};
