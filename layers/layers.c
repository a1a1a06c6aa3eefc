/* layers.c: Conv2d, Linear, BatchNorm2d and the printed layer summary. */
#include "layers/layers.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- init ------------------------------------------------------------- */

static void upload(Tensor *t, const float *h) {
    device_memcpy(t->device, t->data, NX_CPU, h, tensor_bytes(t));
}

void init_uniform(Tensor *t, float bound) {
    float *h = nx_malloc(tensor_bytes(t));
    uint64_t seed = rng_get_seed(), off = rng_take((uint64_t)t->numel);
    for (int64_t i = 0; i < t->numel; i++) h[i] = bound * (2.0f * philox_uniform(seed, off + i) - 1.0f);
    upload(t, h);
    free(h);
}

void init_normal(Tensor *t, float std) {
    /* Box-Muller on pairs of uniforms from the stream. */
    float *h = nx_malloc(tensor_bytes(t));
    uint64_t seed = rng_get_seed(), off = rng_take((uint64_t)(t->numel + 1) / 2 * 2);
    for (int64_t i = 0; i < t->numel; i += 2) {
        double u1 = philox_uniform(seed, off + i), u2 = philox_uniform(seed, off + i + 1);
        double r = sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
        h[i] = (float)(std * r * cos(a));
        if (i + 1 < t->numel) h[i + 1] = (float)(std * r * sin(a));
    }
    upload(t, h);
    free(h);
}

void init_const(Tensor *t, float v) { tensor_fill(t, v); }

static Tensor *declare(ParamStore *s, const char *prefix, const char *leaf, int ndim, const int *shape,
                       bool buffer) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s", prefix, leaf);
    return params_add(s, name, ndim, shape, buffer);
}

/* ---- Conv2d ----------------------------------------------------------- */

void conv2d_init(Conv2d *l, ParamStore *s, const char *prefix, int in, int out, int k, int stride, int pad,
                 bool bias) {
    *l = (Conv2d){.in = in, .out = out, .k = k, .stride = stride, .pad = pad, .groups = 1};
    l->weight = declare(s, prefix, "weight", 4, (int[]){out, in, k, k}, false);
    l->bias = bias ? declare(s, prefix, "bias", 1, (int[]){out}, false) : NULL;
}

void conv2d_reset(Conv2d *l) {
    float bound = 1.0f / sqrtf((float)(l->in / l->groups * l->k * l->k));
    init_uniform(l->weight, bound);
    if (l->bias) init_uniform(l->bias, bound);
}

Tensor *conv2d_forward(Conv2d *l, Tensor *x) {
    Tensor *y = nx_conv2d(x, l->weight, l->bias, l->stride, l->pad, l->groups);
    if (summary_active()) {
        int64_t params = l->weight->numel + (l->bias ? l->bias->numel : 0);
        int64_t flops = 2 * y->numel * (int64_t)(l->in / l->groups) * l->k * l->k;
        summary_row(l->weight->name, y, params, flops);
    }
    return y;
}

/* ---- Linear ----------------------------------------------------------- */

void linear_init(Linear *l, ParamStore *s, const char *prefix, int in, int out, bool bias) {
    *l = (Linear){.in = in, .out = out};
    l->weight = declare(s, prefix, "weight", 2, (int[]){out, in}, false);
    l->bias = bias ? declare(s, prefix, "bias", 1, (int[]){out}, false) : NULL;
}

void linear_reset(Linear *l) {
    float bound = 1.0f / sqrtf((float)l->in);
    init_uniform(l->weight, bound);
    if (l->bias) init_uniform(l->bias, bound);
}

Tensor *linear_forward(Linear *l, Tensor *x) {
    Tensor *y = nx_linear(x, l->weight, l->bias);
    if (summary_active())
        summary_row(l->weight->name, y, l->weight->numel + (l->bias ? l->bias->numel : 0),
                    2 * (int64_t)y->shape[0] * l->in * l->out);
    return y;
}

/* ---- BatchNorm2d ------------------------------------------------------ */

void batchnorm2d_init(BatchNorm2d *l, ParamStore *s, const char *prefix, int c) {
    *l = (BatchNorm2d){.c = c, .momentum = 0.1f, .eps = 1e-5f};
    l->weight = declare(s, prefix, "weight", 1, (int[]){c}, false);
    l->bias = declare(s, prefix, "bias", 1, (int[]){c}, false);
    l->running_mean = declare(s, prefix, "running_mean", 1, (int[]){c}, true);
    l->running_var = declare(s, prefix, "running_var", 1, (int[]){c}, true);
}

void batchnorm2d_reset(BatchNorm2d *l) {
    init_const(l->weight, 1);
    init_const(l->bias, 0);
    init_const(l->running_mean, 0);
    init_const(l->running_var, 1);
}

Tensor *batchnorm2d_forward(BatchNorm2d *l, Tensor *x, bool training) {
    Tensor *y = nx_batchnorm2d(x, l->weight, l->bias, l->running_mean, l->running_var, training, l->momentum,
                               l->eps);
    if (summary_active()) summary_row(l->weight->name, y, 2 * (int64_t)l->c, 4 * y->numel);
    return y;
}

/* ---- stateless layers ------------------------------------------------ */

Tensor *relu_forward(const char *name, Tensor *x) {
    Tensor *y = nx_relu(x);
    summary_row(name, y, 0, y->numel);
    return y;
}

Tensor *maxpool2d_forward(const char *name, Tensor *x, int kernel, int stride, int pad) {
    Tensor *y = nx_maxpool2d(x, kernel, stride, pad);
    summary_row(name, y, 0, y->numel * kernel * kernel);
    return y;
}

Tensor *avgpool2d_forward(const char *name, Tensor *x, int kernel, int stride, int pad) {
    Tensor *y = nx_avgpool2d(x, kernel, stride, pad);
    summary_row(name, y, 0, y->numel * kernel * kernel);
    return y;
}

Tensor *global_avgpool_forward(const char *name, Tensor *x) {
    Tensor *y = nx_global_avgpool(x);
    summary_row(name, y, 0, x->numel);
    return y;
}

Tensor *dropout_forward(const char *name, Tensor *x, float p, bool training) {
    Tensor *y = nx_dropout(x, p, training);
    summary_row(name, y, 0, 0);
    return y;
}

/* ---- summary ---------------------------------------------------------- */

static FILE *g_summary;
static int64_t g_total_params, g_total_flops;

void summary_begin(FILE *out) {
    g_summary = out;
    g_total_params = g_total_flops = 0;
    fprintf(out, "%-36s %-20s %12s %14s\n", "layer", "output", "params", "FLOPs");
}

bool summary_active(void) { return g_summary != NULL; }

void summary_row(const char *name, const Tensor *y, int64_t params, int64_t flops) {
    if (!g_summary) return;
    char layer[64];
    snprintf(layer, sizeof layer, "%s", name);
    char *dot = strrchr(layer, '.');
    if (dot && (strcmp(dot, ".weight") == 0)) *dot = 0; /* "conv1.weight" -> "conv1" */
    fprintf(g_summary, "%-36s %-20s %12lld %14lld\n", layer, tensor_shape_str(y), (long long)params,
            (long long)flops);
    g_total_params += params;
    g_total_flops += flops;
}

void summary_end(void) {
    if (!g_summary) return;
    fprintf(g_summary, "%-36s %-20s %12lld %14lld\n", "total", "", (long long)g_total_params,
            (long long)g_total_flops);
    g_summary = NULL;
}
