/* progress.h: a progress bar on a terminal, plain lines otherwise. */
#ifndef NX_PROGRESS_H
#define NX_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *label;
    int64_t total, done;
    double t0, last_draw;
    bool tty;
} Progress;

double now_seconds(void);
void progress_start(Progress *p, const char *label, int64_t total);
/* Redraw (at most 10 times a second) with a caller-made status text. */
void progress_update(Progress *p, int64_t done, const char *status);
/* Clear the bar (terminal only); the caller then prints its summary line. */
void progress_end(Progress *p);

#endif
