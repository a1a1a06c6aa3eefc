/* checkpoint.c: saving and loading models and training state (see checkpoint.h). */
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_save(const Model *m, const char *path, int n_extra, const char *const *extra) {
    char classes[16], in_c[16], in_hw[16];
    snprintf(classes, sizeof classes, "%d", m->n_classes);
    snprintf(in_c, sizeof in_c, "%d", m->in_c);
    snprintf(in_hw, sizeof in_hw, "%d", m->in_h);
    const char *meta[64] = {"format", "nicex", "arch", m->arch, "classes", classes, "in_channels", in_c,
                            "in_size", in_hw};
    int n = 5;
    char norm[2][64]; /* "normalize_mean", "normalize_std": layers/model.h */
    if (m->normalize) {
        for (int k = 0; k < 2; k++) {
            const float *v = k ? m->norm_std : m->norm_mean;
            int len = 0;
            for (int c = 0; c < m->in_c && c < 3; c++)
                len += snprintf(norm[k] + len, sizeof norm[k] - (size_t)len, "%s%.9g", c ? "," : "", (double)v[c]);
            meta[2 * n] = k ? "normalize_std" : "normalize_mean";
            meta[2 * n++ + 1] = norm[k];
        }
    }
    NX_CHECK(n + n_extra <= 32, "model_save: too much metadata");
    for (int i = 0; i < n_extra; i++) meta[2 * (n + i)] = extra[2 * i], meta[2 * (n + i) + 1] = extra[2 * i + 1];
    return safetensors_save_params(path, &m->params, n + n_extra, meta);
}

static const char *meta_or_empty(const SafetensorsFile *sf, const char *key) {
    const char *v = safetensors_meta(sf, key);
    return v ? v : "";
}

int model_load(Model *m, const char *path, const char *arch_override, int n_classes, int in_c, int in_hw, Device d) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    char arch[32];
    snprintf(arch, sizeof arch, "%s", meta_or_empty(&sf, "arch"));
    const char *classes = meta_or_empty(&sf, "classes"), *c = meta_or_empty(&sf, "in_channels"),
               *hw = meta_or_empty(&sf, "in_size");
    if (*classes) n_classes = atoi(classes);
    if (*c) in_c = atoi(c);
    if (*hw) in_hw = atoi(hw);
    if (n_classes <= 0) {
        /* a PyTorch export: the classes are the rows of the last layer's bias */
        const char *last[] = {"fc2.bias", "classifier.bias", "fc.bias"};
        for (int i = 0; i < 3 && n_classes <= 0; i++) {
            const StTensorInfo *ti = safetensors_find(&sf, last[i]);
            if (ti && ti->ndim == 1) n_classes = (int)ti->shape[0];
        }
    }
    bool norm = false;
    float mean[3], std[3];
    const char *nm = meta_or_empty(&sf, "normalize_mean"), *ns = meta_or_empty(&sf, "normalize_std");
    if (*nm || *ns) {
        char spec[160];
        snprintf(spec, sizeof spec, "%s/%s", nm, ns);
        if (model_normalize_parse(spec, &norm, mean, std) != 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", nx_error_msg());
            nx_error_set("%s: bad normalize_mean/normalize_std metadata: %s", path, why);
            safetensors_close(&sf);
            return -1;
        }
    }
    safetensors_close(&sf);
    if (arch_override && *arch_override) {
        if (*arch && strcmp(arch, arch_override) != 0) {
            nx_error_set("%s: holds a %s model, not %s", path, arch, arch_override);
            return -1;
        }
        snprintf(arch, sizeof arch, "%s", arch_override);
    }
    if (!*arch) {
        nx_error_set("%s: no 'arch' in the metadata (a PyTorch export?): name the model with --model", path);
        return -1;
    }
    if (n_classes <= 0) {
        nx_error_set("%s: cannot tell the number of classes", path);
        return -1;
    }
    if (model_create(m, arch, n_classes, in_c, in_hw, d) != 0) return -1;
    if (norm && model_set_normalize(m, mean, std) != 0) {
        model_free(m);
        return -1;
    }
    if (safetensors_load_params(path, &m->params, false) != 0) {
        model_free(m);
        return -1;
    }
    return 0;
}

int train_state_save(const char *path, const Optimizer *o, const TrainState *st) {
    ParamStore *s = o->store;
    char epoch[24], steps[24], seed[24], offset[24];
    snprintf(epoch, sizeof epoch, "%d", st->epoch);
    snprintf(steps, sizeof steps, "%lld", (long long)st->steps);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)st->seed);
    snprintf(offset, sizeof offset, "%llu", (unsigned long long)st->rng_offset);
    const char *meta[] = {"epoch", epoch, "steps", steps, "seed", seed, "rng_offset", offset};
    int slots = optim_state_slots(o);
    const char *names[3] = {"param_step", "state0", "state1"};
    const Tensor *ts[3];
    float *counts = nx_malloc(sizeof(float) * (size_t)(s->n ? s->n : 1));
    for (int i = 0; i < s->n; i++) counts[i] = (float)o->param_step[i];
    ts[0] = tensor_wrap(NX_CPU, NX_F32, counts, 1, (int[]){s->n});
    for (int k = 0; k < slots; k++) ts[1 + k] = tensor_wrap(s->device, NX_F32, params_state(s, k), 1, (int[]){(int)s->total});
    int rc = safetensors_save(path, 1 + slots, names, ts, 4, meta);
    free(counts);
    return rc;
}

int train_state_load(const char *path, Optimizer *o, TrainState *st) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    ParamStore *s = o->store;
    int rc = -1, slots = optim_state_slots(o);
    const char *e = safetensors_meta(&sf, "epoch"), *n = safetensors_meta(&sf, "steps");
    const char *seed = safetensors_meta(&sf, "seed"), *off = safetensors_meta(&sf, "rng_offset");
    const StTensorInfo *steps = safetensors_find(&sf, "param_step");
    if (!e || !n || !seed || !off || !steps) {
        nx_error_set("%s: not a nicex training-state file (missing epoch, steps, seed or param_step)", path);
        goto done;
    }
    if (steps->numel != s->n) {
        nx_error_set("%s: state of %lld tensors, the model has %d", path, (long long)steps->numel, s->n);
        goto done;
    }
    for (int k = 0; k < slots; k++) {
        char name[32];
        snprintf(name, sizeof name, "state%d", k);
        const StTensorInfo *ti = safetensors_find(&sf, name);
        if (!ti || ti->numel != (int64_t)s->total || strcmp(ti->dtype, "F32") != 0) {
            nx_error_set("%s: '%s' missing or not %zu floats (a different model or optimizer?)", path, name, s->total);
            goto done;
        }
    }
    float *counts = nx_malloc(sizeof(float) * (size_t)(s->n ? s->n : 1));
    if (safetensors_read_raw(&sf, steps, counts) != 0) {
        free(counts);
        goto done;
    }
    for (int i = 0; i < s->n; i++) o->param_step[i] = (int64_t)counts[i];
    free(counts);
    float *host = nx_malloc(s->total * sizeof(float));
    for (int k = 0; k < slots; k++) {
        char name[32];
        snprintf(name, sizeof name, "state%d", k);
        if (safetensors_read_raw(&sf, safetensors_find(&sf, name), host) != 0) {
            free(host);
            goto done;
        }
        device_memcpy(s->device, params_state(s, k), NX_CPU, host, s->total * sizeof(float));
    }
    free(host);
    st->epoch = atoi(e);
    st->steps = atoll(n);
    o->steps = st->steps;
    st->seed = strtoull(seed, NULL, 10);
    st->rng_offset = strtoull(off, NULL, 10);
    rc = 0;
done:
    safetensors_close(&sf);
    return rc;
}
