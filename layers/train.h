/* train.h: training a classifier (cross-entropy on labelled images), the
 * loop behind `nicex train`, callable from C without the command line.
 *
 * Each epoch e (from the resumed epoch, or 0, up to c->epochs):
 *     lr = schedule(e) (times (k+1)/warmup during the first warmup steps k)
 *     for each shuffled batch (x, y):  loss = CE(m(x), y); backward; optimizer step
 *     test accuracy and loss of m on `test` (eval mode, batches of max(batch, 500))
 *     checkpoint to c->out and the optimizer state to c->out ".state" (atomic, paired)
 * One seed drives the shuffling and augmentation (c->seed); the model's
 * initialisation is the caller's (rng_seed(seed) before model_create), so
 * the same seed, data and config give the same bytes.
 *
 *   rng_seed(0);
 *   Model m;  model_create(&m, "lenet5", 10, 1, 28, NX_CPU);
 *   TrainConfig c = train_config_default();
 *   c.epochs = 1, c.out = "lenet5.safetensors";
 *   TrainResult r;
 *   if (train_classifier(&m, &train, &test, &c, &r) != TRAIN_OK) puts(nx_error_msg());
 *   EvalResult ev = eval_classifier(&m, &test, 500, NULL, NULL);
 *
 * Nothing is printed but the progress bar (off with c->quiet) and the
 * warning of a resumed state file that does not name its checkpoint
 * (train_state_load_paired); the caller hears of resumption, batches and
 * epochs through c->on_event, and reads why a run stopped from the
 * TrainStatus and the TrainResult.
 */
#ifndef NX_LAYERS_TRAIN_H
#define NX_LAYERS_TRAIN_H

#include <signal.h>

#include "data/dataset.h"
#include "eval/accuracy.h"
#include "layers/model.h"
#include "optim/optim.h"

typedef enum {
    TRAIN_EV_RESUMED, /* the checkpoint and state of c->resume are loaded (epoch: epochs done) */
    TRAIN_EV_START,   /* the loader is ready: the loop starts now (epoch: the first to train) */
    TRAIN_EV_BATCH,   /* every c->log_every batches */
    TRAIN_EV_EPOCH,   /* an epoch is trained, evaluated and saved */
} TrainEventKind;

typedef struct {
    TrainEventKind kind;
    int epoch;               /* 0-based epoch of the event (RESUMED: epochs completed) */
    int epochs;              /* c->epochs */
    int64_t batch, batches;  /* BATCH: batches done in this epoch, of batches */
    const char *label;       /* BATCH, EPOCH: "epoch E/N" */
    const char *status;      /* BATCH: the progress text "loss L acc A% R img/s" */
    double seconds;          /* BATCH: since the epoch started; EPOCH: the epoch's training time */
    double train_loss, train_accuracy; /* EPOCH: means over the epoch's batches */
    EvalResult test;         /* EPOCH: on the test set */
    double lr;               /* EPOCH: the default group's lr at the end of the epoch */
    int64_t seen;            /* EPOCH: training images this epoch */
    const char *checkpoint;  /* EPOCH: the file just written (c->out), NULL when none */
} TrainEvent;

typedef struct {
    int epochs, batch;
    OptimKind opt;
    float lr, momentum, weight_decay; /* optim_create's meaning (adamw: 0 is its default 0.01) */
    LrSchedule schedule;              /* by epoch */
    int warmup;                       /* linear lr warmup over the first N steps (0: off) */
    bool augment;                     /* random crop (pad 4) and horizontal flip */
    bool rrc;                         /* random-resized crop (scale rrc_scale..1) and horizontal flip */
    float rrc_scale;
    int64_t limit;                    /* use only the first N training images (0: all) */
    uint64_t seed;                    /* shuffling and augmentation (a resumed run: the saved one) */
    const char *out;                  /* checkpoint path after every epoch, NULL: none written */
    const char *resume;               /* continue from this checkpoint and its ".state" (NULL: fresh) */
    const char *dataset_name;         /* "dataset" in the checkpoint's metadata */
    bool no_nan_check;                /* do not stop at a non-finite loss or parameter */
    bool quiet;                       /* no progress bar */
    int log_every;                    /* TRAIN_EV_BATCH every N batches (0: never) */
    /* polled after every step and every epoch: nonzero stops the run
     * (TRAIN_STOPPED, r->signal = its value); NULL: never */
    volatile sig_atomic_t *stop;
    void (*on_event)(void *ctx, const TrainEvent *e); /* may be NULL */
    void *ctx;
} TrainConfig;

/* epochs 10, batch 100, adam lr 1e-3, momentum 0.9, step schedule (5, 0.1), rrc_scale 0.08, seed 0, out NULL */
TrainConfig train_config_default(void);

typedef enum {
    TRAIN_OK = 0,
    TRAIN_ERR_RESUME,           /* c->resume or its state did not load: nx_error_msg() */
    TRAIN_ERR_RESUME_NORMALIZE, /* the resumed checkpoint's normalisation differs from m's (r->resume_normalize) */
    TRAIN_ERR_DATA,             /* the loader refused the data: nx_error_msg() */
    TRAIN_ERR_SAVE,             /* writing the checkpoint or state failed: nx_error_msg() */
    TRAIN_DIVERGED,             /* a non-finite loss (r->stop_loss, stop_step, stop_batch) or parameter (r->bad_param) */
    TRAIN_STOPPED,              /* *c->stop became nonzero: r->signal; r->stop_batch 0 if between epochs */
} TrainStatus;

typedef struct {
    int first_epoch;           /* the epoch training started at (the resumed one, or 0) */
    int epochs_done;           /* epochs completed and saved (including the resumed ones) */
    double train_loss, train_accuracy; /* of the last epoch trained (0 when none was) */
    EvalResult test;           /* after the last epoch trained ({0} when none was) */
    double seconds;            /* training time of the epochs trained, without evaluation */
    /* device_malloc_count deltas: in step 1 (with the arena's consolidation),
     * the rest of the first epoch's training, its evaluation, the later epochs */
    int64_t mallocs[4];
    /* why a run stopped */
    int stop_epoch;            /* 0-based */
    int64_t stop_step, stop_batch; /* optimizer steps so far; 1-based batch of the epoch (0: after the epoch) */
    double stop_loss;          /* the non-finite loss; the epoch's mean loss for a bad parameter */
    const char *bad_param;     /* the first non-finite parameter, NULL otherwise */
    int signal;                /* TRAIN_STOPPED: *c->stop */
    const char *resume_normalize; /* TRAIN_ERR_RESUME_NORMALIZE: "normalize_mean/normalize_std" or "none" */
} TrainResult;

TrainStatus train_classifier(Model *m, const Dataset *train, const Dataset *test, const TrainConfig *c,
                             TrainResult *r);

#endif
