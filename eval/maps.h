/* maps.h: maps.safetensors, the interchange format of explanations.
 *
 * Every explanation method (baselines/, nice/) writes one file, and eval/
 * scores such files whichever tool wrote them (DESIGN.md, "Maps"):
 *
 *   maps    (N, H, W) F32  at input resolution; larger = more important
 *   index   (N)       I32  each image's position in its split
 *   target  (N)       I32  the class that was explained
 *   label   (N)       I32  the true label
 *   native  (N, h, w) F32  the method's own resolution (optional)
 *   __metadata__           "method", every option's value, "classifier",
 *                          "data", "split", "seed", ... (strings)
 *
 * A file written by another tool (Python, say) loads as long as it has
 * these names, dtypes and shapes; I64 index/target/label are accepted too.
 */
#ifndef NX_MAPS_H
#define NX_MAPS_H

#include <stdint.h>

#define MAPS_MAX_META 64

typedef struct MapsFile {
    int n, h, w;
    float *maps;      /* (n, h, w) */
    int32_t *index;   /* (n) */
    int32_t *target;  /* (n) */
    int32_t *label;   /* (n) */
    int nh, nw;       /* native resolution; 0 when the method has none */
    float *native;    /* (n, nh, nw) or NULL */
    int n_meta;
    char *meta_key[MAPS_MAX_META], *meta_val[MAPS_MAX_META];
} MapsFile;

/* Allocate (zeroed) arrays for n maps of h x w, and native maps when nh, nw > 0. */
void maps_alloc(MapsFile *m, int n, int h, int w, int nh, int nw);
void maps_free(MapsFile *m);
/* Set (or replace) a metadata entry; both strings are copied. */
void maps_set_meta(MapsFile *m, const char *key, const char *val);
/* NULL when absent. */
const char *maps_meta(const MapsFile *m, const char *key);

/* Atomic write. -1 + nx_error_set on failure. */
int maps_save(const char *path, const MapsFile *m);
/* Read and validate (names, dtypes, shapes agree; maps finite). -1 +
 * nx_error_set naming the file and the problem. */
int maps_load(MapsFile *m, const char *path);

#endif
