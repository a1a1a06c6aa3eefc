/* maps.c: reading and writing maps.safetensors (format in maps.h). */
#include "eval/maps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/safetensors.h"

void maps_alloc(MapsFile *m, int n, int h, int w, int nh, int nw) {
    memset(m, 0, sizeof *m);
    m->n = n, m->h = h, m->w = w;
    m->maps = nx_calloc((size_t)n * h * w, sizeof(float));
    m->index = nx_calloc((size_t)n, sizeof(int32_t));
    m->target = nx_calloc((size_t)n, sizeof(int32_t));
    m->label = nx_calloc((size_t)n, sizeof(int32_t));
    if (nh > 0 && nw > 0) {
        m->nh = nh, m->nw = nw;
        m->native = nx_calloc((size_t)n * nh * nw, sizeof(float));
    }
}

void maps_free(MapsFile *m) {
    free(m->maps), free(m->index), free(m->target), free(m->label), free(m->native);
    for (int i = 0; i < m->n_meta; i++) free(m->meta_key[i]), free(m->meta_val[i]);
    memset(m, 0, sizeof *m);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = nx_malloc(n);
    memcpy(d, s, n);
    return d;
}

void maps_set_meta(MapsFile *m, const char *key, const char *val) {
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_key[i], key) == 0) {
            free(m->meta_val[i]);
            m->meta_val[i] = dup_str(val);
            return;
        }
    NX_CHECK(m->n_meta < MAPS_MAX_META, "maps: more than %d metadata entries", MAPS_MAX_META);
    m->meta_key[m->n_meta] = dup_str(key);
    m->meta_val[m->n_meta] = dup_str(val);
    m->n_meta++;
}

const char *maps_meta(const MapsFile *m, const char *key) {
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_key[i], key) == 0) return m->meta_val[i];
    return NULL;
}

int maps_save(const char *path, const MapsFile *m) {
    int s3[3] = {m->n, m->h, m->w}, s1[1] = {m->n}, sn[3] = {m->n, m->nh, m->nw};
    const char *names[5] = {"maps", "index", "target", "label", "native"};
    const Tensor *t[5] = {
        tensor_wrap(NX_CPU, NX_F32, m->maps, 3, s3),
        tensor_wrap(NX_CPU, NX_I32, m->index, 1, s1),
        tensor_wrap(NX_CPU, NX_I32, m->target, 1, s1),
        tensor_wrap(NX_CPU, NX_I32, m->label, 1, s1),
        m->native ? tensor_wrap(NX_CPU, NX_F32, m->native, 3, sn) : NULL,
    };
    const char *meta[2 * MAPS_MAX_META];
    for (int i = 0; i < m->n_meta; i++) meta[2 * i] = m->meta_key[i], meta[2 * i + 1] = m->meta_val[i];
    return safetensors_save(path, m->native ? 5 : 4, names, t, m->n_meta, meta);
}

/* Read tensor `name` of shape (n[, a, b]) into a new array: F32 as float,
 * I32/I64 as int32. want_float selects the destination type. */
static void *read_array(SafetensorsFile *sf, const char *name, int want_ndim, int64_t n, bool want_float,
                        int *d1, int *d2) {
    const StTensorInfo *ti = safetensors_find(sf, name);
    if (!ti) {
        nx_error_set("%s: maps file has no '%s' tensor", sf->path, name);
        return NULL;
    }
    if (ti->ndim != want_ndim || (n >= 0 && ti->shape[0] != n)) {
        nx_error_set("%s: '%s' has %d dims (first %lld), expected %d dims (first %lld)", sf->path, name, ti->ndim,
                     ti->ndim ? (long long)ti->shape[0] : 0LL, want_ndim, (long long)n);
        return NULL;
    }
    bool is_f32 = strcmp(ti->dtype, "F32") == 0, is_i32 = strcmp(ti->dtype, "I32") == 0,
         is_i64 = strcmp(ti->dtype, "I64") == 0;
    if (want_float ? !is_f32 : !(is_i32 || is_i64)) {
        nx_error_set("%s: '%s' has dtype %s, expected %s", sf->path, name, ti->dtype, want_float ? "F32" : "I32 or I64");
        return NULL;
    }
    for (int d = 1; d < want_ndim; d++)
        if (ti->shape[d] <= 0 || ti->shape[d] > 65536) {
            nx_error_set("%s: '%s' has an implausible side %lld", sf->path, name, (long long)ti->shape[d]);
            return NULL;
        }
    if (d1) *d1 = want_ndim > 1 ? (int)ti->shape[1] : 0;
    if (d2) *d2 = want_ndim > 2 ? (int)ti->shape[2] : 0;
    void *raw = nx_malloc(ti->end - ti->begin ? ti->end - ti->begin : 1);
    if (safetensors_read_raw(sf, ti, raw) != 0) {
        free(raw);
        return NULL;
    }
    if (is_i64) {
        int32_t *out = nx_malloc((size_t)ti->numel * sizeof(int32_t) + 1);
        const int64_t *in = raw;
        for (int64_t i = 0; i < ti->numel; i++) {
            if (in[i] < INT32_MIN || in[i] > INT32_MAX) {
                nx_error_set("%s: '%s'[%lld] = %lld is out of range", sf->path, name, (long long)i, (long long)in[i]);
                free(out), free(raw);
                return NULL;
            }
            out[i] = (int32_t)in[i];
        }
        free(raw);
        return out;
    }
    if (want_float) {
        const float *f = raw;
        for (int64_t i = 0; i < ti->numel; i++)
            if (!isfinite(f[i])) {
                nx_error_set("%s: '%s' has a non-finite value at element %lld", sf->path, name, (long long)i);
                free(raw);
                return NULL;
            }
    }
    return raw;
}

int maps_load(MapsFile *m, const char *path) {
    memset(m, 0, sizeof *m);
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    int h = 0, w = 0;
    m->maps = read_array(&sf, "maps", 3, -1, true, &h, &w);
    if (!m->maps) goto fail;
    m->n = (int)safetensors_find(&sf, "maps")->shape[0], m->h = h, m->w = w;
    if (!(m->index = read_array(&sf, "index", 1, m->n, false, NULL, NULL))) goto fail;
    if (!(m->target = read_array(&sf, "target", 1, m->n, false, NULL, NULL))) goto fail;
    if (!(m->label = read_array(&sf, "label", 1, m->n, false, NULL, NULL))) goto fail;
    if (safetensors_find(&sf, "native")) {
        if (!(m->native = read_array(&sf, "native", 3, m->n, true, &m->nh, &m->nw))) goto fail;
    }
    for (int i = 0; i < sf.n_meta && m->n_meta < MAPS_MAX_META; i++) maps_set_meta(m, sf.meta_key[i], sf.meta_val[i]);
    safetensors_close(&sf);
    return 0;
fail:
    safetensors_close(&sf);
    maps_free(m);
    return -1;
}
