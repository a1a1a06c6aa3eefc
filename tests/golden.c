/* golden.c: reading and comparing golden files written by PyTorch.
 *
 * File format (little endian), written by tests/golden/goldenio.py:
 *   "NXGOLD1\0", u32 count, then per tensor:
 *   u32 key_len, key bytes, u32 dtype (0 f32, 1 i32), u32 ndim,
 *   u32 shape[ndim], 4 * numel bytes of data. ndim 0 is a 0-dim tensor.
 *
 * Every comparison checks the shape first: the same number of dims and the
 * same size of each (an (N, C) result against a (C, N) record, or a (6)
 * against a (2, 3), is a mismatch even though the element counts agree).
 */
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[128];
    Tensor t; /* host data, malloc'd */
} GoldenEntry;

struct Golden {
    char path[512];
    int n;
    GoldenEntry *e;
};

static int read_u32(FILE *f, uint32_t *v) { return fread(v, 4, 1, f) == 1 ? 0 : -1; }

Golden *golden_load(const char *name) {
    const char *dir = getenv("NX_GOLDEN_DIR");
    Golden *g = nx_calloc(1, sizeof *g);
    snprintf(g->path, sizeof g->path, "%s/%s.bin", dir ? dir : "tests/golden/data", name);
    FILE *f = fopen(g->path, "rb");
    ck_assert_msg(f, "golden file %s missing (make golden regenerates it)", g->path);
    char magic[8];
    uint32_t count;
    ck_assert_msg(fread(magic, 8, 1, f) == 1 && memcmp(magic, "NXGOLD1", 8) == 0 && read_u32(f, &count) == 0,
                  "%s: not a golden file", g->path);
    g->e = nx_calloc(count, sizeof *g->e);
    for (uint32_t i = 0; i < count; i++) {
        GoldenEntry *e = &g->e[i];
        uint32_t klen, dtype, ndim, dim;
        ck_assert_msg(read_u32(f, &klen) == 0 && klen < sizeof e->key && fread(e->key, 1, klen, f) == klen,
                      "%s: bad key in record %u", g->path, i);
        ck_assert_msg(read_u32(f, &dtype) == 0 && dtype <= 1 && read_u32(f, &ndim) == 0 && ndim <= NX_MAX_DIMS,
                      "%s: bad header of %s", g->path, e->key);
        e->t.ndim = (int)ndim;
        for (uint32_t d = 0; d < ndim; d++) {
            ck_assert_msg(read_u32(f, &dim) == 0, "%s: truncated", g->path);
            e->t.shape[d] = (int)dim;
        }
        e->t.numel = shape_numel(e->t.ndim, e->t.shape);
        e->t.dtype = (DType)dtype;
        e->t.device = NX_CPU;
        e->t.data = nx_malloc(tensor_bytes(&e->t));
        ck_assert_msg(fread(e->t.data, 4, (size_t)e->t.numel, f) == (size_t)e->t.numel, "%s: truncated data of %s",
                      g->path, e->key);
        g->n++;
    }
    fclose(f);
    return g;
}

void golden_free(Golden *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) free(g->e[i].t.data);
    free(g->e);
    free(g);
}

static GoldenEntry *find(Golden *g, const char *key) {
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->e[i].key, key) == 0) return &g->e[i];
    return NULL;
}

bool golden_has(Golden *g, const char *key) { return find(g, key) != NULL; }

Tensor *golden_get(Golden *g, const char *key) {
    GoldenEntry *e = find(g, key);
    ck_assert_msg(e, "%s: no tensor '%s'", g->path, key);
    Tensor *t = tensor_new(NX_CPU, e->t.dtype, e->t.ndim, e->t.shape);
    memcpy(t->data, e->t.data, tensor_bytes(t));
    return t;
}

static void shape_str(char *buf, size_t size, int ndim, const int *shape) {
    int k = snprintf(buf, size, "(");
    for (int d = 0; d < ndim && k > 0 && (size_t)k < size; d++)
        k += snprintf(buf + k, size - (size_t)k, d ? ", %d" : "%d", shape[d]);
    if (k > 0 && (size_t)k < size) snprintf(buf + k, size - (size_t)k, ")");
}

int golden_compare_buf(Golden *g, const char *key, const float *got, int ndim, const int *shape, double atol,
                       double rtol) {
    GoldenEntry *e = find(g, key);
    ck_assert_msg(e, "%s: no tensor '%s'", g->path, key);
    bool same = ndim == e->t.ndim;
    for (int d = 0; same && d < ndim; d++) same = shape[d] == e->t.shape[d];
    if (!same) {
        char want_s[64], got_s[64];
        shape_str(want_s, sizeof want_s, e->t.ndim, e->t.shape);
        shape_str(got_s, sizeof got_s, ndim, shape);
        fprintf(stderr, "golden %s '%s': shape %s, PyTorch's is %s\n", g->path, key, got_s, want_s);
        return (int)(e->t.numel > 0 ? e->t.numel : 1); /* every element counts as a mismatch */
    }
    int64_t n = e->t.numel;
    int bad = 0;
    double worst = 0;
    int64_t worst_i = 0;
    for (int64_t i = 0; i < n; i++) {
        double want = e->t.dtype == NX_I32 ? e->t.idata[i] : e->t.data[i];
        double err = fabs((double)got[i] - want);
        double excess = err - (atol + rtol * fabs(want));
        if (excess > 0 || isnan(got[i])) {
            bad++;
            if (excess > worst || isnan(got[i])) worst = excess, worst_i = i;
        }
    }
    if (bad) {
        double want = e->t.dtype == NX_I32 ? e->t.idata[worst_i] : e->t.data[worst_i];
        fprintf(stderr, "golden %s '%s': %d of %lld elements off; worst [%lld] got %.8g want %.8g\n", g->path, key,
                bad, (long long)n, (long long)worst_i, got[worst_i], want);
    }
    return bad;
}

int golden_compare(Golden *g, const char *key, const Tensor *got, double atol, double rtol) {
    float *h = tensor_to_host(got);
    if (got->dtype == NX_I32)
        for (int64_t i = 0; i < got->numel; i++) h[i] = (float)((int32_t *)h)[i];
    int bad = golden_compare_buf(g, key, h, got->ndim, got->shape, atol, rtol);
    free(h);
    return bad;
}

int golden_compare_grad(Golden *g, const char *key, Tensor *t, double atol, double rtol) {
    ck_assert_msg(t->grad, "%s: no gradient reached the tensor compared with '%s'", g->path, key);
    float *h = nx_malloc(tensor_bytes(t));
    device_memcpy(NX_CPU, h, t->device, t->grad, tensor_bytes(t));
    int bad = golden_compare_buf(g, key, h, t->ndim, t->shape, atol, rtol);
    free(h);
    return bad;
}
