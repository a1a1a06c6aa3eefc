/* checkpoint.c: NICE files: the generator with the classifier it explains
 * and the settings it was trained with (see checkpoint.h). Tensors load
 * through the one validated loader (safetensors_read_params); metadata
 * numbers are parsed whole and range-checked. */
#include "nice/checkpoint.h"
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nice_save(const char *path, const Generator *g, const Model *m, const NiceConfig *c, const char *dataset) {
    int n = g->params.n + m->params.n;
    const char **names = nx_calloc((size_t)n, sizeof *names);
    const Tensor **ts = nx_calloc((size_t)n, sizeof *ts);
    char **owned = nx_calloc((size_t)n, sizeof *owned);
    for (int i = 0; i < n; i++) {
        bool gen = i < g->params.n;
        const Tensor *t = gen ? g->params.t[i] : m->params.t[i - g->params.n];
        size_t len = strlen(t->name) + 16;
        owned[i] = nx_malloc(len);
        snprintf(owned[i], len, "%s.%s", gen ? "generator" : "classifier", t->name);
        names[i] = owned[i];
        ts[i] = t;
    }
    char v[16][32];
    snprintf(v[0], 32, "%d", g->in_c);
    snprintf(v[1], 32, "%d", g->hw);
    snprintf(v[2], 32, "%d", m->n_classes);
    snprintf(v[3], 32, "%d", m->in_c);
    snprintf(v[4], 32, "%d", m->in_h);
    snprintf(v[5], 32, "%d", c->block);
    snprintf(v[6], 32, "%g", c->lambda1);
    snprintf(v[7], 32, "%g", c->lambda2);
    snprintf(v[8], 32, "%.9g", c->hc.beta);
    snprintf(v[9], 32, "%.9g", c->hc.gamma);
    snprintf(v[10], 32, "%.9g", c->hc.zeta);
    const char *meta[] = {"format", "nicex-nice",
                          "generator_arch", g->arch,
                          "generator_in_channels", v[0],
                          "generator_size", v[1],
                          "classifier_arch", m->arch,
                          "classes", v[2],
                          "in_channels", v[3],
                          "in_size", v[4],
                          "block", v[5],
                          "lambda1", v[6],
                          "lambda2", v[7],
                          "beta", v[8],
                          "gamma", v[9],
                          "zeta", v[10],
                          "background", nice_background_name(c->background),
                          "test_mask", nice_test_mask_name(c->hc.test_mask),
                          "capacity_norm", nice_norm_name(c->hc.capacity_norm),
                          "smooth_norm", c->hc.smooth_norm == NICE_NORM_MEAN ? "mean" : "sum",
                          "finetune", c->finetune ? c->finetune : "",
                          "dataset", dataset ? dataset : "",
                          /* the classifier's input normalisation (model_save writes the same pair) */
                          "normalize_mean", "", "normalize_std", ""};
    int n_meta = (int)(sizeof meta / sizeof meta[0] / 2);
    char norm[2][64];
    if (model_normalize_meta(m, norm[0], norm[1])) meta[2 * n_meta - 3] = norm[0], meta[2 * n_meta - 1] = norm[1];
    else n_meta -= 2;
    int rc = safetensors_save(path, n, names, ts, n_meta, meta);
    for (int i = 0; i < n; i++) free(owned[i]);
    free(owned);
    free(names);
    free(ts);
    return rc;
}

/* A required integer setting, whole and in [lo, hi] (meta_parse_int). */
static int meta_int(SafetensorsFile *sf, const char *key, int *out, long long lo, long long hi) {
    const char *v = safetensors_meta(sf, key);
    long long x;
    if (!v) {
        nx_error_set("%s: not a NICE generator file (no '%s' in the metadata)", sf->path, key);
        return -1;
    }
    if (meta_parse_int(sf->path, key, v, lo, hi, &x) != 0) return -1;
    *out = (int)x;
    return 0;
}

/* An optional float setting: absent keeps *out; else finite and in [lo, hi] (above lo when open). */
static int meta_float(SafetensorsFile *sf, const char *key, float *out, float lo, float hi, bool open) {
    const char *v = safetensors_meta(sf, key);
    return v ? meta_parse_float(sf->path, key, v, lo, hi, open, out) : 0;
}

int nice_load(const char *path, Generator *g, Model *m, NiceConfig *c, Device d) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    int rc = -1, gc, ghw, classes, in_c, in_size, block;
    const char *garch = safetensors_meta(&sf, "generator_arch"), *carch = safetensors_meta(&sf, "classifier_arch");
    if (!garch || !carch) {
        nx_error_set("%s: not a NICE generator file (no generator/classifier arch)", path);
        goto done;
    }
    if (meta_int(&sf, "generator_in_channels", &gc, 1, MODEL_MAX_CHANNELS) ||
        meta_int(&sf, "generator_size", &ghw, 1, MODEL_MAX_SIDE) ||
        meta_int(&sf, "classes", &classes, 1, MODEL_MAX_CLASSES) ||
        meta_int(&sf, "in_channels", &in_c, 1, MODEL_MAX_CHANNELS) ||
        meta_int(&sf, "in_size", &in_size, 1, MODEL_MAX_SIDE) || meta_int(&sf, "block", &block, 1, NICE_MAX_BLOCK))
        goto done;
    if (ghw % block != 0 || gc != in_c || ghw != in_size) {
        nx_error_set("%s: inconsistent metadata: block %d, generator input %dx%dx%d, classifier input %dx%dx%d", path,
                     block, gc, ghw, ghw, in_c, in_size, in_size);
        goto done;
    }
    const char *s;
    NiceConfig def = nice_config_default();
    def.block = block;
    *c = def;
    if (meta_float(&sf, "lambda1", &c->lambda1, 0, 1e6f, false) || meta_float(&sf, "lambda2", &c->lambda2, 0, 1e6f, false) ||
        meta_float(&sf, "beta", &c->hc.beta, 0, 100, true) || meta_float(&sf, "gamma", &c->hc.gamma, -100, -1e-6f, false) ||
        meta_float(&sf, "zeta", &c->hc.zeta, 1.000001f, 100, false))
        goto done;
    /* names the CLI also takes (nice/names.c); an unknown one is a broken file */
    if ((s = safetensors_meta(&sf, "background")) && nice_background_parse(s, &c->background) != 0) goto bad_name;
    if ((s = safetensors_meta(&sf, "test_mask")) && nice_test_mask_parse(s, &c->hc.test_mask) != 0) goto bad_name;
    if ((s = safetensors_meta(&sf, "capacity_norm")) && nice_capacity_norm_parse(s, &c->hc.capacity_norm) != 0)
        goto bad_name;
    if ((s = safetensors_meta(&sf, "smooth_norm")) && nice_smooth_norm_parse(s, &c->hc.smooth_norm) != 0) goto bad_name;
    if (generator_create(g, garch, gc, ghw, d) != 0) {
        nx_error_set("%s: %s", path, nx_error_msg());
        goto done;
    }
    if (model_create(m, carch, classes, in_c, in_size, d) != 0) {
        nx_error_set("%s: %s", path, nx_error_msg());
        generator_free(g);
        goto done;
    }
    if (model_normalize_from_meta(m, path, safetensors_meta(&sf, "normalize_mean"),
                                  safetensors_meta(&sf, "normalize_std")) != 0 ||
        safetensors_read_params(&sf, &g->params, &(StLoadOptions){.prefix = "generator", .ignore_extra = true,
                                                                 .require_finite = true}) != 0 ||
        safetensors_read_params(&sf, &m->params, &(StLoadOptions){.prefix = "classifier", .ignore_extra = true,
                                                                 .require_finite = true}) != 0) {
        generator_free(g);
        model_free(m);
        goto done;
    }
    rc = 0;
    goto done;
bad_name: {
    char why[160];
    snprintf(why, sizeof why, "%s", nx_error_msg());
    nx_error_set("%s: metadata: %s", path, why);
}
done:
    safetensors_close(&sf);
    return rc;
}
