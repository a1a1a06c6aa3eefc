/* checkpoint.c: saving and loading models and training state (see checkpoint.h). */
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool model_normalize_meta(const Model *m, char mean[64], char std[64]) {
    if (!m->normalize) return false;
    for (int k = 0; k < 2; k++) {
        const float *v = k ? m->norm_std : m->norm_mean;
        char *out = k ? std : mean;
        int len = 0;
        out[0] = 0;
        for (int c = 0; c < m->in_c && c < 3; c++)
            len += snprintf(out + len, 64 - (size_t)len, "%s%.9g", c ? "," : "", (double)v[c]);
    }
    return true;
}

int model_normalize_from_meta(Model *m, const char *path, const char *mean, const char *std) {
    if ((!mean || !*mean) && (!std || !*std)) return 0;
    char spec[160];
    snprintf(spec, sizeof spec, "%s/%s", mean ? mean : "", std ? std : "");
    bool on;
    float mv[3], sv[3];
    if (model_normalize_parse(spec, &on, mv, sv) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", nx_error_msg());
        nx_error_set("%s: bad normalize_mean/normalize_std metadata: %s", path, why);
        return -1;
    }
    return on ? model_set_normalize(m, mv, sv) : 0;
}

int model_save(const Model *m, const char *path, int n_extra, const char *const *extra) {
    char classes[16], in_c[16], in_hw[16];
    snprintf(classes, sizeof classes, "%d", m->n_classes);
    snprintf(in_c, sizeof in_c, "%d", m->in_c);
    snprintf(in_hw, sizeof in_hw, "%d", m->in_h);
    const char *meta[64] = {"format", "nicex", "arch", m->arch, "classes", classes, "in_channels", in_c,
                            "in_size", in_hw};
    int n = 5;
    char norm[2][64];
    if (model_normalize_meta(m, norm[0], norm[1])) {
        meta[2 * n] = "normalize_mean", meta[2 * n + 1] = norm[0], n++;
        meta[2 * n] = "normalize_std", meta[2 * n + 1] = norm[1], n++;
    }
    NX_CHECK(n + n_extra <= 32, "model_save: too much metadata");
    for (int i = 0; i < n_extra; i++) meta[2 * (n + i)] = extra[2 * i], meta[2 * (n + i) + 1] = extra[2 * i + 1];
    return safetensors_save_params(path, &m->params, n + n_extra, meta);
}

int meta_parse_int(const char *path, const char *key, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        nx_error_set("%s: metadata '%s' is '%.40s': expected an integer in [%lld, %lld]", path, key, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int meta_parse_float(const char *path, const char *key, const char *s, float lo, float hi, bool open, float *out) {
    char *end;
    float x = strtof(s, &end);
    if (!*s || *end || !isfinite(x) || (open ? x <= lo : x < lo) || x > hi) {
        nx_error_set("%s: metadata '%s' is '%.40s': expected a number %s %g and <= %g", path, key, s, open ? ">" : ">=",
                     (double)lo, (double)hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int meta_int_opt(const SafetensorsFile *sf, const char *key, long long lo, long long hi, int *out) {
    const char *v = safetensors_meta(sf, key);
    long long x;
    if (!v) return 0;
    if (meta_parse_int(sf->path, key, v, lo, hi, &x) != 0) return -1;
    *out = (int)x;
    return 0;
}

static const char *meta_or_empty(const SafetensorsFile *sf, const char *key) {
    const char *v = safetensors_meta(sf, key);
    return v ? v : "";
}

int model_meta_parse(const SafetensorsFile *sf, ModelMeta *mm) {
    memset(mm, 0, sizeof *mm);
    const char *arch = safetensors_meta(sf, "arch");
    if (arch && strlen(arch) >= sizeof mm->arch) {
        nx_error_set("%s: metadata 'arch' is too long (%zu characters)", sf->path, strlen(arch));
        return -1;
    }
    if (arch) snprintf(mm->arch, sizeof mm->arch, "%s", arch);
    if (meta_int_opt(sf, "classes", 1, MODEL_MAX_CLASSES, &mm->n_classes) != 0 ||
        meta_int_opt(sf, "in_channels", 1, MODEL_MAX_CHANNELS, &mm->in_c) != 0 ||
        meta_int_opt(sf, "in_size", 1, MODEL_MAX_SIDE, &mm->in_hw) != 0)
        return -1;
    if (mm->n_classes <= 0) {
        /* a PyTorch export: the classes are the rows of the last layer's bias */
        const char *last[] = {"fc2.bias", "classifier.bias", "fc.bias"};
        for (int i = 0; i < 3 && mm->n_classes <= 0; i++) {
            const StTensorInfo *ti = safetensors_find(sf, last[i]);
            if (ti && ti->ndim == 1 && ti->shape[0] >= 1 && ti->shape[0] <= MODEL_MAX_CLASSES)
                mm->n_classes = (int)ti->shape[0];
        }
    }
    return 0;
}

int model_load(Model *m, const char *path, const char *arch_override, int n_classes, int in_c, int in_hw, Device d) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    ModelMeta mm;
    int rc = model_meta_parse(&sf, &mm);
    char nm[80], ns[80]; /* copied: the file is closed before the model exists */
    if (rc == 0 && ((size_t)snprintf(nm, sizeof nm, "%s", meta_or_empty(&sf, "normalize_mean")) >= sizeof nm ||
                    (size_t)snprintf(ns, sizeof ns, "%s", meta_or_empty(&sf, "normalize_std")) >= sizeof ns)) {
        nx_error_set("%s: bad normalize_mean/normalize_std metadata: too long", path);
        rc = -1;
    }
    safetensors_close(&sf);
    if (rc != 0) return -1;
    char arch[32];
    snprintf(arch, sizeof arch, "%s", mm.arch);
    if (mm.n_classes) n_classes = mm.n_classes;
    if (mm.in_c) in_c = mm.in_c;
    if (mm.in_hw) in_hw = mm.in_hw;
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
    if (model_create(m, arch, n_classes, in_c, in_hw, d) != 0) {
        nx_error_set("%s: %s", path, nx_error_msg());
        return -1;
    }
    if (model_normalize_from_meta(m, path, nm, ns) != 0) {
        model_free(m);
        return -1;
    }
    if (safetensors_load_params(path, &m->params, false) != 0) {
        model_free(m);
        return -1;
    }
    return 0;
}

int model_check_data(const Model *m, const char *model_name, int c, int h, int w, int n_classes, const char *data_name) {
    if (c == m->in_c && h == m->in_h && w == m->in_w && n_classes == m->n_classes) return 0;
    nx_error_set("%s: images are %dx%dx%d in %d classes; the %s model in %s takes %dx%dx%d in %d classes", data_name,
                 c, h, w, n_classes, m->arch, model_name, m->in_c, m->in_h, m->in_w, m->n_classes);
    return -1;
}

int file_hash(const char *path, uint64_t *hash) {
    FILE *f = nx_fopen_regular(path, NULL);
    if (!f) return -1;
    uint64_t h = 0xcbf29ce484222325ull;
    uint8_t buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < got; i++) h = (h ^ buf[i]) * 0x100000001b3ull;
    int err = ferror(f);
    fclose(f);
    if (err) {
        nx_error_set("%s: read error", path);
        return -1;
    }
    *hash = h;
    return 0;
}

static int meta_parse_u64(const char *path, const char *key, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-') {
        nx_error_set("%s: metadata '%s' is '%.40s': expected an unsigned 64-bit integer", path, key, s);
        return -1;
    }
    *out = v;
    return 0;
}

int train_state_save(const char *path, const Optimizer *o, const TrainState *st) {
    return train_state_save_paired(path, o, st, NULL);
}

int train_state_load(const char *path, Optimizer *o, TrainState *st) {
    return train_state_load_paired(path, o, st, NULL);
}

int train_state_save_paired(const char *path, const Optimizer *o, const TrainState *st, const char *ckpt_path) {
    ParamStore *s = o->store;
    char hash[24] = "";
    uint64_t h;
    if (ckpt_path) {
        if (file_hash(ckpt_path, &h) != 0) return -1;
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h);
    }
    char epoch[24], steps[24], seed[24], offset[24];
    snprintf(epoch, sizeof epoch, "%d", st->epoch);
    snprintf(steps, sizeof steps, "%lld", (long long)st->steps);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)st->seed);
    snprintf(offset, sizeof offset, "%llu", (unsigned long long)st->rng_offset);
    const char *meta[] = {"epoch", epoch, "steps", steps, "seed", seed, "rng_offset", offset,
                          "checkpoint_epoch", epoch, "checkpoint_fnv1a64", hash};
    int slots = optim_state_slots(o);
    const char *names[3] = {"param_step", "state0", "state1"};
    const Tensor *ts[3];
    float *counts = nx_malloc(sizeof(float) * (size_t)(s->n ? s->n : 1));
    for (int i = 0; i < s->n; i++) counts[i] = (float)o->param_step[i];
    ts[0] = tensor_wrap(NX_CPU, NX_F32, counts, 1, (int[]){s->n});
    for (int k = 0; k < slots; k++) ts[1 + k] = tensor_wrap(s->device, NX_F32, params_state(s, k), 1, (int[]){(int)s->total});
    int rc = safetensors_save(path, 1 + slots, names, ts, ckpt_path ? 6 : 4, meta);
    free(counts);
    return rc;
}

int train_state_load_paired(const char *path, Optimizer *o, TrainState *st, const char *ckpt_path) {
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
    long long ep, nsteps;
    uint64_t seed_v, off_v;
    if (meta_parse_int(path, "epoch", e, 0, 100000000, &ep) != 0 ||
        meta_parse_int(path, "steps", n, 0, (long long)1 << 50, &nsteps) != 0 ||
        meta_parse_u64(path, "seed", seed, &seed_v) != 0 || meta_parse_u64(path, "rng_offset", off, &off_v) != 0)
        goto done;
    if (ckpt_path) {
        const char *want = safetensors_meta(&sf, "checkpoint_fnv1a64");
        uint64_t h;
        char have[24];
        if (file_hash(ckpt_path, &h) != 0) goto done;
        snprintf(have, sizeof have, "%016llx", (unsigned long long)h);
        if (!want || !*want) {
            fprintf(stderr, "nicex: warning: %s does not record its checkpoint (an older nicex): cannot check that it "
                            "belongs to %s\n", path, ckpt_path);
        } else if (strcmp(want, have) != 0) {
            nx_error_set("%s: belongs to the checkpoint of epoch %lld (hash %s), not to %s as it is now (hash %s): "
                         "the pair is from different epochs or runs (a run killed while saving?)",
                         path, ep, want, ckpt_path, have);
            goto done;
        }
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
    for (int i = 0; i < s->n; i++)
        if (!(counts[i] >= 0 && counts[i] <= 1e15f && counts[i] == floorf(counts[i]))) {
            nx_error_set("%s: param_step[%d] is %g: not a step count", path, i, (double)counts[i]);
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
    st->epoch = (int)ep;
    st->steps = nsteps;
    o->steps = st->steps;
    st->seed = seed_v;
    st->rng_offset = off_v;
    rc = 0;
done:
    safetensors_close(&sf);
    return rc;
}
