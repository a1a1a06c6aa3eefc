/* arena.c: the bump allocator behind every step, and the workspace.
 *
 * arena_alloc hands out 64-byte aligned slices of the current chunk. When a
 * chunk is full a new one is allocated (that happens during the first step
 * only); arena_reset then replaces all chunks by one block as large as the
 * high-water mark, so from the second step on the arena never allocates.
 */
#include "tensor/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaChunk {
    ArenaChunk *next;
    char *base;   /* on the arena's device */
    size_t cap;
    size_t used;
};

#define ALIGN 64
static size_t align_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static ArenaChunk *chunk_new(Arena *a, size_t cap) {
    ArenaChunk *c = nx_calloc(1, sizeof *c);
    c->base = device_malloc(a->device, cap);
    c->cap = cap;
    a->capacity += cap;
    a->n_mallocs++;
    return c;
}

void arena_init(Arena *a, Device d, size_t initial_bytes) {
    memset(a, 0, sizeof *a);
    a->device = d;
    if (initial_bytes) a->chunks = chunk_new(a, align_up(initial_bytes));
}

static void free_chunks(Arena *a) {
    for (ArenaChunk *c = a->chunks, *next; c; c = next) {
        next = c->next;
        device_free(a->device, c->base);
        free(c);
    }
    a->chunks = NULL;
    a->capacity = 0;
}

void arena_free(Arena *a) {
    free_chunks(a);
    memset(a, 0, sizeof *a);
}

void *arena_alloc(Arena *a, size_t bytes) {
    bytes = align_up(bytes ? bytes : 1);
    ArenaChunk *c = a->chunks;
    if (!c || c->used + bytes > c->cap) {
        size_t cap = bytes > (size_t)(16 << 20) ? bytes : (size_t)(16 << 20);
        if (c && c->cap * 2 > cap && c->cap * 2 >= bytes) cap = c->cap * 2;
        ArenaChunk *n = chunk_new(a, cap);
        n->next = c; /* newest chunk first */
        a->chunks = c = n;
    }
    void *p = c->base + c->used;
    c->used += bytes;
    a->used += bytes;
    if (a->used > a->high_water) a->high_water = a->used;
    return p;
}

void arena_reset(Arena *a) {
    if (a->chunks && a->chunks->next) {
        /* Several chunks: consolidate into one block of the high-water size. */
        size_t cap = align_up(a->high_water);
        free_chunks(a);
        a->chunks = chunk_new(a, cap);
    }
    if (a->chunks) a->chunks->used = 0;
    a->used = 0;
}

/* ---- the process-wide arenas and workspaces --------------------------- */

static Arena g_host, g_step[2];
static bool g_init[3];

Arena *host_arena(void) {
    if (!g_init[2]) {
        arena_init(&g_host, NX_CPU, 0);
        g_init[2] = true;
    }
    return &g_host;
}

Arena *step_arena(Device d) {
    if (!g_init[d]) {
        arena_init(&g_step[d], d, 0);
        g_init[d] = true;
    }
    return &g_step[d];
}

void arenas_reset(void) {
    for (int d = 0; d < 2; d++)
        if (g_init[d]) arena_reset(&g_step[d]);
    if (g_init[2]) arena_reset(&g_host);
}

static struct {
    void *p;
    size_t bytes;
} g_ws[2];

void *workspace_get(Device d, size_t bytes) {
    if (bytes > g_ws[d].bytes) {
        device_free(d, g_ws[d].p);
        g_ws[d].bytes = align_up(bytes + bytes / 4);
        g_ws[d].p = device_malloc(d, g_ws[d].bytes);
    }
    return g_ws[d].p;
}

size_t workspace_bytes(Device d) { return g_ws[d].bytes; }

void workspace_free(Device d) {
    device_free(d, g_ws[d].p);
    g_ws[d].p = NULL;
    g_ws[d].bytes = 0;
}
