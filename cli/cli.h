/* cli.h: subcommands of the nicex program. Each returns the exit status. */
#ifndef NX_CLI_H
#define NX_CLI_H

#include <signal.h>
#include <stdbool.h>

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
int cmd_convert(int argc, char **argv);

/* SIGINT / SIGTERM (cli/interrupt.c): remove temporary files, print the
 * note (e.g. where the last good checkpoint is), exit 128 + signal. With
 * defer, the first signal only sets interrupt_pending for a loop to poll. */
void interrupt_install(bool defer);
void interrupt_set_note(const char *text);
const char *interrupt_signal_name(int sig);
extern volatile sig_atomic_t interrupt_pending;
int cmd_rtis(int argc, char **argv);
int rtis_explain_cmd(int argc, char **argv); /* nicex explain --method rtis */
int cmd_compare_maps(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_data(int argc, char **argv);

#endif
