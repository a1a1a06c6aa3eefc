/* args.h: a small option parser for the nicex subcommands.
 *
 * Options are "--name value" (or "--name=value"); flags ('b') take no value.
 * A table of Opt describes them; --help prints the table. Bad input prints
 * one line naming the option and the problem.
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
} Opt;

/* 0: parsed; 1: --help was printed; -1: an error was printed. */
int args_parse(int argc, char **argv, const Opt *opts, int n_opts, const char *usage);

#endif
