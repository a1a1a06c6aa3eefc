/* tensor.c: creating, filling, copying and printing tensors. */
#include "tensor/tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t shape_numel(int ndim, const int *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

size_t tensor_bytes(const Tensor *t) { return (size_t)t->numel * 4; } /* f32 and i32 are both 4 bytes */

static Tensor *tensor_header(Device d, DType t, int ndim, const int *shape) {
    NX_CHECK(ndim >= 0 && ndim <= NX_MAX_DIMS, "tensor with %d dims (at most %d)", ndim, NX_MAX_DIMS);
    Tensor *x = arena_alloc(host_arena(), sizeof *x);
    memset(x, 0, sizeof *x);
    x->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        NX_CHECK(shape[i] >= 0, "negative dimension %d", shape[i]);
        x->shape[i] = shape[i];
    }
    x->numel = shape_numel(ndim, shape);
    x->dtype = t;
    x->device = d;
    return x;
}

Tensor *tensor_new(Device d, DType t, int ndim, const int *shape) {
    Tensor *x = tensor_header(d, t, ndim, shape);
    x->data = arena_alloc(step_arena(d), tensor_bytes(x));
    return x;
}

Tensor *tensor_new4(Device d, int n, int c, int h, int w) {
    return tensor_new(d, NX_F32, 4, (int[]){n, c, h, w});
}

Tensor *tensor_newv(Device d, DType t, int ndim, ...) {
    int shape[NX_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim && i < NX_MAX_DIMS; i++) shape[i] = va_arg(ap, int);
    va_end(ap);
    return tensor_new(d, t, ndim, shape);
}

Tensor *tensor_like(const Tensor *x) { return tensor_new(x->device, x->dtype, x->ndim, x->shape); }

Tensor *tensor_zeros_like(const Tensor *x) {
    Tensor *y = tensor_like(x);
    tensor_zero(y);
    return y;
}

Tensor *tensor_wrap(Device d, DType t, void *data, int ndim, const int *shape) {
    Tensor *x = tensor_header(d, t, ndim, shape);
    x->data = data;
    return x;
}

bool tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *tensor_shape_str(const Tensor *t) {
    static _Thread_local char buf[4][64];
    static _Thread_local int k;
    char *s = buf[k++ & 3];
    int n = snprintf(s, 64, "(");
    for (int i = 0; i < t->ndim; i++) n += snprintf(s + n, 64 - n, i ? ", %d" : "%d", t->shape[i]);
    snprintf(s + n, 64 - n, ")");
    return s;
}

float *tensor_grad_for_write(Tensor *t, bool *accumulate) {
    *accumulate = t->grad != NULL;
    if (!t->grad) {
        NX_CHECK(t->dtype == NX_F32, "gradient of an int32 tensor");
        t->grad = arena_alloc(step_arena(t->device), tensor_bytes(t));
    }
    return t->grad;
}

float *tensor_grad(Tensor *t) {
    bool accumulate;
    float *g = tensor_grad_for_write(t, &accumulate);
    if (!accumulate) device_memset0(t->device, g, tensor_bytes(t));
    return g;
}

void tensor_zero(Tensor *t) { device_memset0(t->device, t->data, tensor_bytes(t)); }

void tensor_fill(Tensor *t, float v) {
    if (t->device == NX_CPU) {
        if (t->dtype == NX_I32)
            for (int64_t i = 0; i < t->numel; i++) t->idata[i] = (int32_t)v;
        else
            for (int64_t i = 0; i < t->numel; i++) t->data[i] = v;
        return;
    }
    float *h = nx_malloc(tensor_bytes(t));
    for (int64_t i = 0; i < t->numel; i++) {
        if (t->dtype == NX_I32) ((int32_t *)h)[i] = (int32_t)v;
        else h[i] = v;
    }
    device_memcpy(t->device, t->data, NX_CPU, h, tensor_bytes(t));
    free(h);
}

void tensor_copy(Tensor *dst, const Tensor *src) {
    NX_CHECK(dst->numel == src->numel && dst->dtype == src->dtype, "tensor_copy: %s into %s",
             tensor_shape_str(src), tensor_shape_str(dst));
    device_memcpy(dst->device, dst->data, src->device, src->data, tensor_bytes(src));
}

Tensor *tensor_to(const Tensor *x, Device d) {
    Tensor *y = tensor_new(d, x->dtype, x->ndim, x->shape);
    tensor_copy(y, x);
    y->requires_grad = x->requires_grad;
    return y;
}

float *tensor_to_host(const Tensor *t) {
    float *h = nx_malloc(tensor_bytes(t));
    device_memcpy(NX_CPU, h, t->device, t->data, tensor_bytes(t));
    return h;
}

void tensor_print(const Tensor *t, const char *label) {
    float *h = tensor_to_host(t);
    printf("%s %s %s%s:", label ? label : "tensor", tensor_shape_str(t), device_name(t->device),
           t->dtype == NX_I32 ? " int32" : "");
    int64_t n = t->numel < 16 ? t->numel : 16;
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == NX_I32) printf(" %d", ((int32_t *)h)[i]);
        else printf(" %.6g", h[i]);
    }
    printf("%s\n", t->numel > n ? " ..." : "");
    free(h);
}
