/* optim.c: what every optimizer shares: parameter groups, the lr, and the
 * step loop that cuts the store into runs (update rules in optim.h).
 *
 * A run is a maximal sequence of consecutive trainable parameters with the
 * same group and the same step count. Their floats are consecutive in the
 * store's blocks (padding between tensors holds zeros in params, grads and
 * state, and every rule maps zeros to zeros), so a run is one kernel call:
 * for a model trained whole with one group, one call per step.
 */
#include "optim/optim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Optimizer *optim_alloc(ParamStore *s, OptimKind kind, double lr, double weight_decay) {
    NX_CHECK(s->finalized, "optimizer on a parameter store that is not finalized");
    NX_CHECK(lr >= 0 && weight_decay >= 0, "optimizer: lr %g and weight_decay %g must be >= 0", lr, weight_decay);
    Optimizer *o = nx_calloc(1, sizeof *o);
    o->kind = kind;
    o->store = s;
    o->n_groups = 1;
    o->group[0] = (OptimGroup){.base_lr = lr, .lr = lr, .weight_decay = weight_decay};
    return o;
}

void optim_free(Optimizer *o) { free(o); }

Optimizer *optim_create(ParamStore *s, OptimKind kind, double lr, double momentum, double weight_decay) {
    if (kind == OPTIM_SGD) return optim_sgd(s, (SgdConfig){.lr = lr, .momentum = momentum, .weight_decay = weight_decay});
    AdamConfig c = kind == OPTIM_ADAMW ? adamw_defaults(lr) : adam_defaults(lr);
    if (kind == OPTIM_ADAM || weight_decay > 0) c.weight_decay = weight_decay;
    return kind == OPTIM_ADAMW ? optim_adamw(s, c) : optim_adam(s, c);
}

static const char *const KIND_NAME[] = {[OPTIM_SGD] = "sgd", [OPTIM_ADAM] = "adam", [OPTIM_ADAMW] = "adamw"};

int optim_kind_parse(const char *text, OptimKind *out) {
    for (int k = 0; k < 3; k++)
        if (strcmp(text, KIND_NAME[k]) == 0) {
            *out = (OptimKind)k;
            return 0;
        }
    nx_error_set("unknown optimizer '%s' (sgd, adam, adamw)", text);
    return -1;
}

const char *optim_kind_name(OptimKind k) { return k >= OPTIM_SGD && k <= OPTIM_ADAMW ? KIND_NAME[k] : "?"; }

int optim_state_slots(const Optimizer *o) {
    if (o->kind == OPTIM_SGD) return o->sgd.momentum != 0 ? 1 : 0;
    return 2;
}

/* ---- groups ------------------------------------------------------------ */

/* Does name lie under any prefix of the comma-separated list? (params_freeze's rule) */
static bool matches(const char *name, const char *list) {
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ", ");
        if (n && strncmp(name, p, n) == 0 && (name[n] == 0 || name[n] == '.')) return true;
        p += n;
    }
    return false;
}

int optim_group_of(const Optimizer *o, int i) {
    for (int g = 1; g < o->n_groups; g++)
        if (matches(o->store->t[i]->name, o->group[g].prefixes)) return g;
    return 0;
}

OptimGroup *optim_add_group(Optimizer *o, const char *prefixes, double lr) {
    ParamStore *s = o->store;
    if (o->n_groups == OPTIM_MAX_GROUPS || strlen(prefixes) >= sizeof o->group[0].prefixes) {
        nx_error_set("param group '%s': at most %d groups of %zu characters", prefixes, OPTIM_MAX_GROUPS - 1,
                     sizeof o->group[0].prefixes - 1);
        return NULL;
    }
    int found = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->is_buffer[i] || !matches(s->t[i]->name, prefixes)) continue;
        int g = optim_group_of(o, i);
        if (g != 0) {
            nx_error_set("param group '%s': parameter '%s' already belongs to group '%s'", prefixes, s->t[i]->name,
                         o->group[g].prefixes);
            return NULL;
        }
        found++;
    }
    if (!found) {
        nx_error_set("param group '%s': no parameter has a name under these prefixes", prefixes);
        return NULL;
    }
    OptimGroup *g = &o->group[o->n_groups++];
    *g = (OptimGroup){.base_lr = lr, .lr = lr, .weight_decay = o->group[0].weight_decay};
    snprintf(g->prefixes, sizeof g->prefixes, "%s", prefixes);
    return g;
}

/* ---- lr ------------------------------------------------------------------ */

void optim_set_lr(Optimizer *o, double lr) {
    NX_CHECK(o->group[0].base_lr > 0, "optim_set_lr: the default group was created with lr 0, no ratio to keep");
    for (int g = 0; g < o->n_groups; g++) o->group[g].lr = lr * (o->group[g].base_lr / o->group[0].base_lr);
}

double optim_lr(const Optimizer *o) { return o->group[0].lr; }

/* ---- the step ------------------------------------------------------------ */

void optim_step(Optimizer *o) {
    ParamStore *s = o->store;
    int group[NX_MAX_PARAMS]; /* -1: not updated */
    for (int i = 0; i < s->n; i++)
        group[i] = s->is_buffer[i] || !s->t[i]->requires_grad ? -1 : optim_group_of(o, i);
    for (int i = 0, j; i < s->n; i = j) {
        j = i + 1;
        if (group[i] < 0) continue;
        while (j < s->n && group[j] == group[i] && o->param_step[j] == o->param_step[i]) j++;
        size_t offset = s->offset[i];
        int64_t n = (int64_t)(s->offset[j - 1] - offset) + s->t[j - 1]->numel;
        o->run(o, &o->group[group[i]], offset, n, o->param_step[i] + 1);
        for (int k = i; k < j; k++) o->param_step[k]++;
    }
    o->steps++;
}
