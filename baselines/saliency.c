/* saliency.c: the Saliency Map of Simonyan, Vedaldi and Zisserman (2014).
 *
 *   S[n, i, j] = max over channels c of | d logit_{t_n}(x_n) / d x_n[c, i, j] |
 *
 * the gradient of the target's logit (not its softmax) with respect to the
 * input, in absolute value, maxed over channels. One forward and one
 * backward per internal batch; the backward is seeded with the one-hot of
 * each image's target, so image n's gradient is that of its own logit.
 * No native resolution.
 */
#include "baselines/baselines.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

void saliency_defaults(SaliencyOpts *o, int side) {
    (void)side;
    *o = (SaliencyOpts){.internal_batch = 64};
}

/* grad (N, C, H, W) of the target logits at x, into g (host). Shared with IG. */
void bl_input_gradient(float *g, Model *m, Tensor *x, const int32_t *target, float *logit_out /* (N) or NULL */) {
    int n = x->shape[0];
    x->requires_grad = true;
    Tensor *logits = model_forward(m, x);
    float *seed = bl_onehot(target, n, m->n_classes);
    if (logit_out) {
        float *lh = tensor_to_host(logits);
        for (int i = 0; i < n; i++) logit_out[i] = lh[(size_t)i * m->n_classes + target[i]];
        free(lh);
    }
    tape_backward_from(logits, seed);
    free(seed);
    device_memcpy(NX_CPU, g, x->device, tensor_grad(x), tensor_bytes(x));
}

int baseline_saliency(float *maps, float *native, Model *m, const Tensor *x, const int32_t *target,
                      const SaliencyOpts *o) {
    (void)native;
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], B = o->internal_batch;
    if (B < 1) {
        nx_error_set("--internal-batch: %d, must be at least 1", B);
        return -1;
    }
    ClassifierState st;
    bl_enter(m, &st);
    float *xd = bl_copy_input(x);
    float *g = nx_malloc(sizeof(float) * (size_t)(B < N ? B : N) * C * H * W);
    for (int i0 = 0; i0 < N; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        nx_step_reset();
        bl_input_gradient(g, m, bl_rows(xd, x->device, i0, b, C, H, W), target + i0, NULL);
        for (int i = 0; i < b; i++)
            for (int p = 0; p < H * W; p++) {
                float v = 0;
                for (int c = 0; c < C; c++) v = fmaxf(v, fabsf(g[((size_t)i * C + c) * H * W + p]));
                maps[(size_t)(i0 + i) * H * W + p] = v;
            }
    }
    free(g);
    device_free(x->device, xd);
    bl_leave(m, &st);
    return 0;
}

static const BaselineOption saliency_options[] = {
    {"internal-batch", BO_INT, offsetof(SaliencyOpts, internal_batch), NULL, 1, 1 << 20,
     "images per forward/backward (memory bound; default 64)"},
};

static void defaults_v(void *o, int side) { saliency_defaults(o, side); }
static int run_v(float *maps, float *native, Model *m, const Tensor *x, const int32_t *t, const void *o) {
    return baseline_saliency(maps, native, m, x, t, o);
}

const BaselineMethod baseline_method_saliency = {
    .name = "saliency",
    .summary = "|d logit_target / d x|, max over channels (Simonyan et al. 2014)",
    .opts_size = sizeof(SaliencyOpts),
    .defaults = defaults_v,
    .options = saliency_options,
    .n_options = sizeof saliency_options / sizeof saliency_options[0],
    .run = run_v,
};
