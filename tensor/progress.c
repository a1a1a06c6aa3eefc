/* progress.c: see progress.h. The bar goes to stderr, only on a terminal. */
#include "tensor/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(Progress *p, const char *label, int64_t total) {
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t0 = now_seconds();
    p->last_draw = 0;
    p->tty = isatty(2);
}

void progress_update(Progress *p, int64_t done, const char *status) {
    p->done = done;
    double t = now_seconds();
    if (!p->tty || (t - p->last_draw < 0.1 && done < p->total)) return;
    p->last_draw = t;
    const int width = 24;
    int fill = p->total > 0 ? (int)(width * done / p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    double elapsed = t - p->t0, eta = done > 0 ? elapsed * (double)(p->total - done) / (double)done : 0;
    fprintf(stderr, "\r%s [%s] %3d%% %s ETA %d:%02d \033[K", p->label, bar,
            p->total > 0 ? (int)(100 * done / p->total) : 0, status ? status : "", (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

void progress_end(Progress *p) {
    if (p->tty) fprintf(stderr, "\r\033[K");
}
