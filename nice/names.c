/* names.c: the names of NICE's options, one table each, shared by the
 * command line (--background, --test-mask, --capacity-norm, --smooth-norm)
 * and the metadata of NICE files (nice/checkpoint.c). */
#include "nice/nice.h"

#include <string.h>

static const char *const BACKGROUND[] = {[NICE_BG_BLOCKS] = "blocks", [NICE_BG_ZERO] = "zero"};
static const char *const TEST_MASK[] = {[NICE_TEST_PAPER] = "paper", [NICE_TEST_L0] = "l0"};
static const char *const NORM[] = {[NICE_NORM_MEAN] = "mean", [NICE_NORM_SUM] = "sum", [NICE_NORM_DATASET] = "dataset"};

/* The index of s among names[0..n), or -1 + nx_error_set("'s' is not a, b or c"). */
static int lookup(const char *s, const char *const *names, const int *order, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[order[i]]) == 0) return order[i];
    if (n == 2) nx_error_set("'%s' is not %s or %s", s, names[order[0]], names[order[1]]);
    else nx_error_set("'%s' is not %s, %s or %s", s, names[order[0]], names[order[1]], names[order[2]]);
    return -1;
}

int nice_background_parse(const char *s, NiceBackground *out) {
    int k = lookup(s, BACKGROUND, (const int[]){NICE_BG_BLOCKS, NICE_BG_ZERO}, 2);
    if (k < 0) return -1;
    *out = (NiceBackground)k;
    return 0;
}

int nice_test_mask_parse(const char *s, NiceTestMask *out) {
    int k = lookup(s, TEST_MASK, (const int[]){NICE_TEST_PAPER, NICE_TEST_L0}, 2);
    if (k < 0) return -1;
    *out = (NiceTestMask)k;
    return 0;
}

int nice_capacity_norm_parse(const char *s, NiceNorm *out) {
    int k = lookup(s, NORM, (const int[]){NICE_NORM_MEAN, NICE_NORM_SUM, NICE_NORM_DATASET}, 3);
    if (k < 0) return -1;
    *out = (NiceNorm)k;
    return 0;
}

/* L_S has no dataset normalisation; its default, sum, comes first */
int nice_smooth_norm_parse(const char *s, NiceNorm *out) {
    int k = lookup(s, NORM, (const int[]){NICE_NORM_SUM, NICE_NORM_MEAN}, 2);
    if (k < 0) return -1;
    *out = (NiceNorm)k;
    return 0;
}

const char *nice_background_name(NiceBackground bg) { return bg == NICE_BG_ZERO ? BACKGROUND[bg] : BACKGROUND[NICE_BG_BLOCKS]; }
const char *nice_test_mask_name(NiceTestMask tm) { return tm == NICE_TEST_L0 ? TEST_MASK[tm] : TEST_MASK[NICE_TEST_PAPER]; }
const char *nice_norm_name(NiceNorm n) { return n == NICE_NORM_SUM || n == NICE_NORM_DATASET ? NORM[n] : NORM[NICE_NORM_MEAN]; }
