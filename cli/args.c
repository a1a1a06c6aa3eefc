/* args.c: see args.h. */
#include "cli/args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void range_text(const Opt *o, char *buf, size_t cap) {
    if (!o->ranged) {
        buf[0] = 0;
        return;
    }
    if (o->min_open) snprintf(buf, cap, " (> %g, <= %g)", o->min, o->max);
    else snprintf(buf, cap, " [%g, %g]", o->min, o->max);
}

static void print_help(const Opt *opts, int n, const char *usage) {
    printf("%s\n\noptions:\n", usage);
    for (int i = 0; i < n; i++) {
        const char *arg = opts[i].type == OPT_FLAG ? "" : opts[i].type == OPT_STR ? " S" : " N";
        char left[64], range[64];
        snprintf(left, sizeof left, "--%s%s", opts[i].name, arg);
        range_text(&opts[i], range, sizeof range);
        printf("  %-22s %s%s\n", left, opts[i].help, range);
    }
}

static int out_of_range(const Opt *o, const char *v) {
    if (o->min_open) fprintf(stderr, "nicex: --%s: %s is out of range (allowed: above %g, up to %g)\n", o->name, v, o->min, o->max);
    else fprintf(stderr, "nicex: --%s: %s is out of range (allowed: %g to %g)\n", o->name, v, o->min, o->max);
    return -1;
}

static bool in_range(const Opt *o, double x) {
    if (!o->ranged) return true;
    return (o->min_open ? x > o->min : x >= o->min) && x <= o->max;
}

static int set_value(const Opt *o, const char *v) {
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_STR: *(const char **)o->dst = v; return 0;
    case OPT_INT: {
        long long x = strtoll(v, &end, 10);
        if (*end || end == v) break;
        if (errno == ERANGE || x < INT_MIN || x > INT_MAX) {
            if (o->ranged) return out_of_range(o, v);
            fprintf(stderr, "nicex: --%s: %s does not fit a 32-bit integer\n", o->name, v);
            return -1;
        }
        if (!in_range(o, (double)x)) return out_of_range(o, v);
        *(int *)o->dst = (int)x;
        return 0;
    }
    case OPT_FLOAT: {
        float x = strtof(v, &end);
        if (*end || end == v) break;
        if (!isfinite(x) || (errno == ERANGE && fabsf(x) > 1)) {
            fprintf(stderr, "nicex: --%s: '%s' is not a finite number\n", o->name, v);
            return -1;
        }
        if (errno) break; /* underflow: 1e-50 */
        if (!in_range(o, x)) return out_of_range(o, v);
        *(float *)o->dst = x;
        return 0;
    }
    case OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (*end || end == v || errno || v[0] == '-') break;
        *(uint64_t *)o->dst = x;
        return 0;
    }
    case OPT_FLAG: return 0;
    }
    fprintf(stderr, "nicex: --%s: '%s' is not a valid %s\n", o->name, v,
            o->type == OPT_FLOAT ? "number" : "integer");
    return -1;
}

int args_parse(int argc, char **argv, const Opt *opts, int n_opts, const char *usage) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(opts, n_opts, usage);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "nicex: unexpected argument '%s' (options start with --; see --help)\n", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const Opt *o = NULL;
        for (int k = 0; k < n_opts; k++)
            if (strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0) o = &opts[k];
        if (!o) {
            fprintf(stderr, "nicex: unknown option '--%.*s' (see --help)\n", (int)len, name);
            return -1;
        }
        if (o->type == OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "nicex: --%s takes no value\n", o->name);
                return -1;
            }
            *(bool *)o->dst = true;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "nicex: --%s needs a value\n", o->name);
            return -1;
        }
        if (set_value(o, v) != 0) return -1;
    }
    return 0;
}
