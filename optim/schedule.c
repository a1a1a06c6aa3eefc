/* schedule.c: learning-rate schedules as pure functions of the epoch.
 *
 *   StepLR(step_size, gamma):          lr = base * gamma^floor(epoch / step_size)
 *   CosineAnnealingLR(T_max, eta_min): lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
 *
 * These are PyTorch's _get_closed_form_lr; its recursive get_lr (what
 * scheduler.step() runs) gives the same values up to rounding, beyond T_max
 * too (the cosine rises again). epoch 0 is the lr before the first
 * scheduler.step(). Being closed forms, resuming at epoch e needs nothing saved.
 */
#include "optim/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double lr_step(double base, int epoch, int step_size, double gamma) {
    NX_CHECK(step_size > 0 && epoch >= 0, "lr_step: step_size %d, epoch %d", step_size, epoch);
    return base * pow(gamma, (double)(epoch / step_size));
}

double lr_cosine(double base, int epoch, int t_max, double eta_min) {
    NX_CHECK(t_max > 0 && epoch >= 0, "lr_cosine: t_max %d, epoch %d", t_max, epoch);
    return eta_min + (base - eta_min) * (1 + cos(M_PI * epoch / t_max)) / 2;
}

double lr_schedule_at(const LrSchedule *s, double base, int epoch) {
    switch (s->kind) {
    case LR_STEP: return lr_step(base, epoch, s->step_size, s->gamma);
    case LR_COSINE: return lr_cosine(base, epoch, s->t_max, s->eta_min);
    default: return base;
    }
}

void optim_schedule(Optimizer *o, const LrSchedule *s, int epoch) {
    for (int g = 0; g < o->n_groups; g++) o->group[g].lr = lr_schedule_at(s, o->group[g].base_lr, epoch);
}

int lr_schedule_parse(const char *text, LrSchedule *out) {
    LrSchedule s = {.kind = LR_CONSTANT};
    char *end = (char *)text;
    bool ok = strcmp(text, "constant") == 0;
    /* every number is range-checked before it is narrowed: 4294967297 is not 1 */
    if (strncmp(text, "step:", 5) == 0) {
        s.kind = LR_STEP;
        long n = strtol(text + 5, &end, 10);
        if (*end == ':') s.gamma = strtod(end + 1, &end);
        ok = end > text + 5 && *end == 0 && n > 0 && n <= 1000000 && isfinite(s.gamma) && s.gamma > 0;
        s.step_size = ok ? (int)n : 0;
    } else if (strncmp(text, "cosine:", 7) == 0) {
        s.kind = LR_COSINE;
        long n = strtol(text + 7, &end, 10);
        if (*end == ':') s.eta_min = strtod(end + 1, &end);
        ok = end > text + 7 && *end == 0 && n > 0 && n <= 1000000 && isfinite(s.eta_min) && s.eta_min >= 0;
        s.t_max = ok ? (int)n : 0;
    }
    if (!ok) {
        nx_error_set("lr schedule '%s': expected constant, step:STEP_SIZE:GAMMA (STEP_SIZE 1 to 1000000, GAMMA finite > 0) "
                     "or cosine:T_MAX[:ETA_MIN] (T_MAX 1 to 1000000, ETA_MIN finite >= 0)",
                     text);
        return -1;
    }
    *out = s;
    return 0;
}

int lr_schedule_parse_or(const char *text, int step_size, float gamma, int t_max, LrSchedule *out) {
    char buf[64];
    if (strcmp(text, "step") == 0) snprintf(buf, sizeof buf, "step:%d:%g", step_size, gamma);
    else if (strcmp(text, "cosine") == 0) snprintf(buf, sizeof buf, "cosine:%d", t_max);
    else return lr_schedule_parse(text, out);
    return lr_schedule_parse(buf, out);
}
