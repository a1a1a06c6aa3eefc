/* optim.h: SGD, Adam, AdamW over a ParamStore; parameter groups; lr schedules.
 *
 * Exact PyTorch 1.13 update rules (torch.optim, single-tensor path), for each
 * trainable parameter p with gradient grad, t = that parameter's step count
 * after this update (1 on its first update):
 *
 *   SGD(lr, momentum, dampening, weight_decay, nesterov)
 *     g = grad + wd*p
 *     buf = g                                   if t == 1 (torch: buffer is None)
 *         = momentum*buf + (1 - dampening)*g    otherwise      (only if momentum != 0)
 *     g = nesterov ? g + momentum*buf : buf                    (only if momentum != 0)
 *     p -= lr*g
 *   Adam(lr, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0), amsgrad off
 *     g = grad + wd*p                           (L2 penalty in the gradient)
 *     m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
 *     p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   AdamW: as Adam, but p *= 1 - lr*wd first and no wd in g (default wd 0.01).
 *
 * Which parameters move: buffers (store->is_buffer) never; frozen parameters
 * (requires_grad false, see params_freeze) are skipped entirely, with no
 * weight decay, momentum or step count: PyTorch's behaviour for a parameter
 * whose .grad is None. Every other parameter is updated each step, even when
 * its gradient is zero (PyTorch after zero_grad(set_to_none=False)).
 *
 * Groups: group 0 is the default (the config's lr and weight decay); each
 * added group selects parameters by dotted name prefixes, with the rule of
 * params_freeze ("layer3" matches "layer3.0.conv1.weight", not "layer30.w").
 * A parameter belongs to the added group that matches it, else to group 0.
 *
 * Memory: the state lives in the store (SGD momentum buffer: slot 0; Adam m:
 * slot 0, v: slot 1), at the parameters' offsets, so consecutive parameters
 * with the same group and step count are updated by one kernel call
 * (kernels/optim.h).
 *
 * Typical use:
 *   Optimizer *opt = optim_sgd(&store, (SgdConfig){.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
 *   optim_add_group(opt, "fc", 0.01);            // NULL + nx_error_msg() on a bad prefix list
 *   LrSchedule sched = {.kind = LR_COSINE, .t_max = 200};
 *   for (epoch...) { optim_schedule(opt, &sched, epoch); for (batch...) { ...backward; optim_step(opt); params_zero_grad(&store); } }
 */
#ifndef NX_OPTIM_H
#define NX_OPTIM_H

#include "tensor/tensor.h"

/* Hyperparameters are double, as PyTorch's Python floats. */
typedef struct {
    double lr, momentum, dampening, weight_decay; /* zero (the PyTorch default) unless set */
    bool nesterov;                                /* needs momentum > 0 and dampening == 0 */
} SgdConfig;

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
} AdamConfig;

AdamConfig adam_defaults(double lr);  /* betas (0.9, 0.999), eps 1e-8, weight_decay 0 */
AdamConfig adamw_defaults(double lr); /* the same with weight_decay 0.01 (torch.optim.AdamW) */

typedef enum { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW } OptimKind;

#define OPTIM_MAX_GROUPS 16
typedef struct {
    char prefixes[256];  /* comma-separated dotted prefixes; "" for the default group */
    double base_lr;      /* lr at creation (PyTorch's initial_lr): schedules scale from it */
    double lr;           /* current lr */
    double weight_decay;
} OptimGroup;

typedef struct Optimizer Optimizer;
struct Optimizer {
    OptimKind kind;
    ParamStore *store;
    SgdConfig sgd;                      /* OPTIM_SGD */
    AdamConfig adam;                    /* OPTIM_ADAM, OPTIM_ADAMW */
    int n_groups;
    OptimGroup group[OPTIM_MAX_GROUPS]; /* group[0]: the default */
    int64_t steps;                      /* optim_step calls so far */
    int64_t param_step[NX_MAX_PARAMS];  /* updates applied to store->t[i] (its t) */
    /* Updates floats [offset, offset + n) of the store's blocks; step = t after this update. */
    void (*run)(Optimizer *o, const OptimGroup *g, size_t offset, int64_t n, int64_t step);
};

/* The store must be finalized; the optimizer keeps a pointer to it. */
Optimizer *optim_sgd(ParamStore *s, SgdConfig c);
Optimizer *optim_adam(ParamStore *s, AdamConfig c);
Optimizer *optim_adamw(ParamStore *s, AdamConfig c);
void optim_free(Optimizer *o);
/* One constructor for every kind, as the command line names them:
 *   OPTIM_SGD    SGD(lr, momentum, weight_decay)
 *   OPTIM_ADAM   Adam(lr, weight_decay), betas and eps of adam_defaults
 *   OPTIM_ADAMW  AdamW(lr, weight_decay); weight_decay 0 means AdamW's default 0.01 */
Optimizer *optim_create(ParamStore *s, OptimKind kind, double lr, double momentum, double weight_decay);
/* "sgd" | "adam" | "adamw" (the one parser every command uses): -1 +
 * nx_error_set("unknown optimizer 'x' (sgd, adam, adamw)") otherwise. */
int optim_kind_parse(const char *text, OptimKind *out);
const char *optim_kind_name(OptimKind k);
/* For the constructors: a zeroed optimizer with its default group. */
Optimizer *optim_alloc(ParamStore *s, OptimKind kind, double lr, double weight_decay);

/* A group of the parameters under any of the comma-separated prefixes
 * ("layer4, fc"), with its own lr and the default weight decay (set
 * ->weight_decay to change it). Returns NULL with nx_error_set when a prefix
 * matches no parameter or a parameter already belongs to another group. */
OptimGroup *optim_add_group(Optimizer *o, const char *prefixes, double lr);
/* The group of store->t[i] (0 for the default). */
int optim_group_of(const Optimizer *o, int i);

/* lr of the default group becomes lr; every group keeps its ratio to it:
 * group.lr = lr * group.base_lr / group[0].base_lr. */
void optim_set_lr(Optimizer *o, double lr);
double optim_lr(const Optimizer *o); /* the default group's current lr */

/* One update of every trainable parameter from the grads in the store. */
void optim_step(Optimizer *o);

/* ---- save and resume -------------------------------------------------
 * Training resumes exactly from: the params block, the first
 * optim_state_slots(o) state blocks (params_state(store, k)), o->steps and
 * o->param_step[0..store->n) (they differ from o->steps only for parameters
 * frozen during some steps). The lr comes back from the schedule, a pure
 * function of the epoch. */
int optim_state_slots(const Optimizer *o);

/* ---- learning-rate schedules (schedule.c) ----------------------------
 * Closed forms of torch.optim.lr_scheduler (their recursive get_lr gives the
 * same values), as pure functions of the epoch (0 before the first
 * scheduler.step()):
 *   StepLR(step_size, gamma):          lr = base * gamma^floor(epoch / step_size)
 *   CosineAnnealingLR(T_max, eta_min): lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
 */
typedef enum { LR_CONSTANT, LR_STEP, LR_COSINE } LrKind;
typedef struct {
    LrKind kind;
    int step_size;  /* LR_STEP */
    double gamma;   /* LR_STEP */
    int t_max;      /* LR_COSINE */
    double eta_min; /* LR_COSINE */
} LrSchedule;

double lr_step(double base, int epoch, int step_size, double gamma);
double lr_cosine(double base, int epoch, int t_max, double eta_min);
double lr_schedule_at(const LrSchedule *s, double base, int epoch);
/* Every group's lr = lr_schedule_at(s, group.base_lr, epoch), as a PyTorch
 * scheduler does for each param group. */
void optim_schedule(Optimizer *o, const LrSchedule *s, int epoch);
/* "constant", "step:STEP_SIZE:GAMMA", "cosine:T_MAX[:ETA_MIN]"; -1 with nx_error_set on bad input. */
int lr_schedule_parse(const char *text, LrSchedule *out);
/* The same, also taking the bare words of `nicex train --schedule`: "step"
 * is step:step_size:gamma and "cosine" is cosine:t_max. gamma goes through
 * its "%g" text, so a flag parsed as float (0.1f) means the decimal the user
 * typed (0.1), as PyTorch's Python float would. */
int lr_schedule_parse_or(const char *text, int step_size, float gamma, int t_max, LrSchedule *out);

#endif
