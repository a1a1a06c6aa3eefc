/* args.h: a small option parser for the nicex subcommands.
 *
 * Options are "--name value" (or "--name=value"); flags ('b') take no value.
 * A table of Opt describes them; --help prints the table. Bad input prints
 * one line naming the option and the problem.
 *
 * Every value is checked where it is parsed: integers must fit an int (no
 * silent wrap: 4294967297 is an error, not 1), numbers must be finite (no
 * nan, inf or 1e39), and an option with OPT_RANGE(lo, hi) after its help
 * text must lie in [lo, hi] (OPT_POSITIVE: > 0, for rates); --help shows
 * the range. A 4-field entry {name, type, dst, help} is unchecked beyond
 * that, so older tables keep compiling and meaning the same:
 *
 *   {"batch", OPT_INT, &batch, "batch size (default 100)", OPT_RANGE(1, 65536)},
 *   {"lr", OPT_FLOAT, &lr, "learning rate (default 1e-3)", OPT_POSITIVE(10)},
 */
#ifndef NX_ARGS_H
#define NX_ARGS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { OPT_STR, OPT_INT, OPT_FLOAT, OPT_U64, OPT_FLAG } OptType;

typedef struct {
    const char *name; /* without the leading "--" */
    OptType type;
    void *dst;        /* const char **, int *, float *, uint64_t *, bool * */
    const char *help;
    /* optional, trailing: a range check for OPT_INT and OPT_FLOAT */
    bool ranged;      /* false (the default of a 4-field entry): no range */
    double min, max;  /* allowed: [min, max], or (min, max] when min_open */
    bool min_open;
} Opt;

/* A 4-field entry leaves the range fields zero on purpose: GCC's
 * -Wmissing-field-initializers (part of -Wextra) would reject it. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

#define OPT_RANGE(lo, hi) .ranged = true, .min = (lo), .max = (hi)
#define OPT_POSITIVE(hi) .ranged = true, .min = 0, .max = (hi), .min_open = true

/* 0: parsed; 1: --help was printed; -1: an error was printed. */
int args_parse(int argc, char **argv, const Opt *opts, int n_opts, const char *usage);

#endif
