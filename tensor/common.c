/* common.c: fatal errors, the user-error message slot, checked allocation. */
#include "tensor/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void nx_fatal_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "nicex: fatal: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static _Thread_local char error_msg[1024];

void nx_error_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_msg, sizeof error_msg, fmt, ap);
    va_end(ap);
}

const char *nx_error_msg(void) { return error_msg[0] ? error_msg : "unknown error"; }

void *nx_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) nx_fatal("out of host memory (asked for %zu bytes)", bytes);
    return p;
}

void *nx_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) nx_fatal("out of host memory (asked for %zu x %zu bytes)", n, size);
    return p;
}

void *nx_realloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) nx_fatal("out of host memory (asked for %zu bytes)", bytes);
    return q;
}
