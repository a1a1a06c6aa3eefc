/* params.c: the parameter store (params, grads, optimizer state as blocks).
 *
 * Tensors are declared first (params_add), then params_finalize allocates
 * one block for all params and one for all grads; each tensor points into
 * them. zero_grad is one memset, an optimizer step one loop over the block,
 * a checkpoint one pass over the tensors.
 */
#include "tensor/tensor.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

void params_init(ParamStore *s, Device d) {
    memset(s, 0, sizeof *s);
    s->device = d;
}

Tensor *params_add(ParamStore *s, const char *name, int ndim, const int *shape, bool is_buffer) {
    NX_CHECK(!s->finalized, "params_add('%s') after params_finalize", name);
    NX_CHECK(s->n < NX_MAX_PARAMS, "more than %d parameters", NX_MAX_PARAMS);
    NX_CHECK(!params_find(s, name), "parameter '%s' declared twice", name);
    Tensor *t = nx_calloc(1, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = shape_numel(ndim, shape);
    t->dtype = NX_F32;
    t->device = s->device;
    t->requires_grad = !is_buffer;
    size_t len = strlen(name) + 1;
    char *copy = nx_malloc(len);
    memcpy(copy, name, len);
    t->name = copy;
    s->t[s->n] = t;
    s->is_buffer[s->n] = is_buffer;
    s->offset[s->n] = s->total;
    s->total += (size_t)((t->numel + 15) / 16 * 16); /* keep each tensor 64-byte aligned */
    s->n++;
    return t;
}

void params_finalize(ParamStore *s) {
    NX_CHECK(!s->finalized, "params_finalize called twice");
    size_t bytes = s->total * sizeof(float);
    s->params = device_malloc(s->device, bytes);
    s->grads = device_malloc(s->device, bytes);
    device_memset0(s->device, s->params, bytes);
    device_memset0(s->device, s->grads, bytes);
    for (int i = 0; i < s->n; i++) {
        s->t[i]->data = s->params + s->offset[i];
        s->t[i]->grad = s->is_buffer[i] ? NULL : s->grads + s->offset[i];
    }
    s->finalized = true;
}

void params_free(ParamStore *s) {
    for (int i = 0; i < s->n; i++) {
        free((char *)s->t[i]->name);
        free(s->t[i]);
    }
    device_free(s->device, s->params);
    device_free(s->device, s->grads);
    for (int k = 0; k < 2; k++) device_free(s->device, s->state[k]);
    memset(s, 0, sizeof *s);
}

Tensor *params_find(ParamStore *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->t[i]->name, name) == 0) return s->t[i];
    return NULL;
}

void params_zero_grad(ParamStore *s) {
    if (s->grads) device_memset0(s->device, s->grads, s->total * sizeof(float));
}

float *params_state(ParamStore *s, int slot) {
    NX_CHECK(slot >= 0 && slot < 2 && s->finalized, "params_state(%d)", slot);
    if (!s->state[slot]) {
        s->state[slot] = device_malloc(s->device, s->total * sizeof(float));
        device_memset0(s->device, s->state[slot], s->total * sizeof(float));
    }
    return s->state[slot];
}

int params_freeze(ParamStore *s, const char *prefix, bool frozen) {
    int changed = 0;
    size_t n = strlen(prefix);
    for (int i = 0; i < s->n; i++) {
        const char *name = s->t[i]->name;
        bool match = n == 0 || (strncmp(name, prefix, n) == 0 && (name[n] == 0 || name[n] == '.'));
        if (s->is_buffer[i] || !match) continue;
        s->t[i]->requires_grad = !frozen;
        changed++;
    }
    return changed;
}

int64_t params_count(const ParamStore *s, bool trainable_only) {
    int64_t n = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->is_buffer[i]) continue;
        if (trainable_only && !s->t[i]->requires_grad) continue;
        n += s->t[i]->numel;
    }
    return n;
}

const char *params_first_nonfinite(const ParamStore *s) {
    float *h = nx_malloc(s->total * sizeof(float) + 1); /* (total) */
    device_memcpy(NX_CPU, h, s->device, s->params, s->total * sizeof(float));
    const char *bad = NULL;
    for (int i = 0; i < s->n && !bad; i++)
        for (int64_t k = 0; k < s->t[i]->numel; k++)
            if (!isfinite(h[s->offset[i] + (size_t)k])) {
                bad = s->t[i]->name;
                break;
            }
    free(h);
    return bad;
}
