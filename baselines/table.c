/* table.c: the method table and the option machinery it drives.
 *
 * Each method file defines `const BaselineMethod baseline_method_<name>`
 * (its options, defaults, checks and run function); this list is the only
 * place that names them all. Adding a method is one line here.
 */
#include "baselines/baselines.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const BaselineMethod baseline_method_saliency, baseline_method_cam, baseline_method_gradcam,
    baseline_method_ig, baseline_method_mask, baseline_method_igos, baseline_method_nice, baseline_method_random,
    baseline_method_intensity;

const BaselineMethod *const baseline_methods[] = {
    &baseline_method_saliency, &baseline_method_cam,  &baseline_method_gradcam,
    &baseline_method_ig,       &baseline_method_mask, &baseline_method_igos,
    &baseline_method_nice,     &baseline_method_random, &baseline_method_intensity,
    NULL,
};

const BaselineMethod *baseline_find(const char *name) {
    for (int i = 0; baseline_methods[i]; i++)
        if (strcmp(baseline_methods[i]->name, name) == 0) return baseline_methods[i];
    return NULL;
}

const char *baseline_names(void) {
    static char buf[512];
    buf[0] = 0;
    for (int i = 0; baseline_methods[i]; i++) {
        if (i) strncat(buf, "|", sizeof buf - strlen(buf) - 1);
        strncat(buf, baseline_methods[i]->name, sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

static const BaselineOption *find_option(const BaselineMethod *bm, const char *name) {
    for (int i = 0; i < bm->n_options; i++)
        if (strcmp(bm->options[i].name, name) == 0) return &bm->options[i];
    return NULL;
}

/* Index of v in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *v) {
    size_t n = strlen(v);
    int k = 0;
    for (const char *p = choices; *p; k++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return k;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static const char *choice_name(const char *choices, int idx, char *buf, size_t cap) {
    const char *p = choices;
    for (int k = 0; k < idx && p; k++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) return "?";
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    snprintf(buf, cap, "%.*s", (int)len, p);
    return buf;
}

static int range_check(const BaselineOption *op, double v) {
    if (v < op->lo || v > op->hi || v != v) {
        if (op->type == BO_INT)
            nx_error_set("--%s: %g is out of range (%g to %g)", op->name, v, op->lo, op->hi);
        else nx_error_set("--%s: %g is out of range (%g to %g)", op->name, v, op->lo, op->hi);
        return -1;
    }
    return 0;
}

int baseline_set_option(const BaselineMethod *bm, void *opts, const char *name, const char *value) {
    const BaselineOption *op = find_option(bm, name);
    if (!op) {
        nx_error_set("--%s: not an option of --method %s (see nicex explain --method %s --help)", name, bm->name,
                     bm->name);
        return -1;
    }
    char *p = (char *)opts + op->offset, *end;
    errno = 0;
    switch (op->type) {
    case BO_INT: {
        long v = strtol(value, &end, 10);
        if (*end || end == value || errno) {
            nx_error_set("--%s: '%s' is not an integer", name, value);
            return -1;
        }
        if (range_check(op, (double)v)) return -1;
        *(int *)p = (int)v;
        return 0;
    }
    case BO_FLOAT: {
        float v = strtof(value, &end);
        if (*end || end == value || errno || !isfinite(v)) {
            nx_error_set("--%s: '%s' is not a number", name, value);
            return -1;
        }
        if (range_check(op, v)) return -1;
        *(float *)p = v;
        return 0;
    }
    case BO_CHOICE: {
        int k = choice_index(op->choices, value);
        if (k < 0) {
            nx_error_set("--%s: '%s' is not one of %s", name, value, op->choices);
            return -1;
        }
        *(int *)p = k;
        return 0;
    }
    case BO_STR: *(const char **)p = value; return 0;
    case BO_BOOL:
        if (strcmp(value, "on") == 0 || strcmp(value, "1") == 0 || strcmp(value, "true") == 0) *(bool *)p = true;
        else if (strcmp(value, "off") == 0 || strcmp(value, "0") == 0 || strcmp(value, "false") == 0) *(bool *)p = false;
        else {
            nx_error_set("--%s: '%s' is not on or off", name, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

const char *baseline_option_str(const BaselineOption *op, const void *opts) {
    static char bufs[8][256];
    static int k;
    char *b = bufs[k++ & 7];
    const char *p = (const char *)opts + op->offset;
    switch (op->type) {
    case BO_INT: snprintf(b, 256, "%d", *(const int *)p); break;
    case BO_FLOAT: snprintf(b, 256, "%.7g", *(const float *)p); break;
    case BO_CHOICE: choice_name(op->choices, *(const int *)p, b, 256); break;
    case BO_STR: snprintf(b, 256, "%s", *(const char *const *)p ? *(const char *const *)p : ""); break;
    case BO_BOOL: snprintf(b, 256, "%s", *(const bool *)p ? "on" : "off"); break;
    }
    return b;
}

int baseline_check(const BaselineMethod *bm, const Model *m, const void *opts, int H, int W) {
    for (int i = 0; i < bm->n_options; i++) {
        const BaselineOption *op = &bm->options[i];
        const char *p = (const char *)opts + op->offset;
        if (op->type == BO_INT && range_check(op, *(const int *)p)) return -1;
        if (op->type == BO_FLOAT && range_check(op, *(const float *)p)) return -1;
    }
    if (m && (m->in_h != H || m->in_w != W)) {
        nx_error_set("images are %dx%d, the classifier takes %dx%d", H, W, m->in_h, m->in_w);
        return -1;
    }
    return bm->check ? bm->check(m, opts, H, W) : 0;
}
