/* timing.c: run a command R times after a warm-up; mean, std, min of the wall time (see timing.h). */
#include "eval/timing.h"

#include "tensor/common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void timing_stats(TimingStats *t, const double *s, int n) {
    double sum = 0, sum2 = 0, lo = n ? s[0] : 0;
    for (int i = 0; i < n; i++) sum += s[i], lo = s[i] < lo ? s[i] : lo;
    double mean = n ? sum / n : 0;
    for (int i = 0; i < n; i++) sum2 += (s[i] - mean) * (s[i] - mean);
    t->repeats = n, t->mean = mean, t->min = lo;
    t->std = n > 1 ? sqrt(sum2 / (n - 1)) : 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int run_once(char *const argv[], bool quiet, double *seconds) {
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        nx_error_set("timing: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 1), close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            nx_error_set("timing: waitpid: %s", strerror(errno));
            return -1;
        }
    *seconds = now() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        nx_error_set("timing: '%s' failed (exit status %d)", argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -1;
    }
    return 0;
}

int timing_command(TimingStats *t, char *const argv[], int warmup, int repeats, bool quiet) {
    double s, *all = nx_malloc(sizeof(double) * (size_t)(repeats > 0 ? repeats : 1));
    for (int i = 0; i < warmup; i++)
        if (run_once(argv, quiet, &s) != 0) return free(all), -1;
    for (int i = 0; i < repeats; i++)
        if (run_once(argv, quiet, &all[i]) != 0) return free(all), -1;
    timing_stats(t, all, repeats);
    free(all);
    return 0;
}
