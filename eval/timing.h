/* timing.h: wall-clock timing of a command (NICE Table 2, I-GOS Table 3).
 *
 * The command runs `warmup` times untimed, then `repeats` times, each timed
 * from fork to exit with CLOCK_MONOTONIC; mean, sample standard deviation
 * and minimum in seconds. What is included is everything the command does:
 * process start, loading the model and the data, the method's forward and
 * backward passes and writing its output; subtract a `--method random` run
 * (the same loading and writing, no model passes) to isolate the method.
 * Any program can be timed, so nicex and a Python script share one harness.
 */
#ifndef NX_TIMING_H
#define NX_TIMING_H

#include <stdbool.h>

typedef struct {
    int repeats;
    double mean, std, min;
} TimingStats;

void timing_stats(TimingStats *t, const double *seconds, int n);
/* argv NULL-terminated; the command's stdout goes to /dev/null when quiet.
 * -1 + nx_error_set when it cannot start or exits non-zero. */
int timing_command(TimingStats *t, char *const argv[], int warmup, int repeats, bool quiet);

#endif
