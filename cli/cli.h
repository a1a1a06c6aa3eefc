/* cli.h: subcommands of the nicex program. Each returns the exit status. */
#ifndef NX_CLI_H
#define NX_CLI_H

typedef struct {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
} Command;

int cmd_help(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_nice(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_data(int argc, char **argv);

#endif
