/* train.h: the NICE training pipeline and its saved form.
 *
 * One step (Fig. 1 of the paper):
 *     log_alpha = G(x)                    generator
 *     z         = hc_sample(log_alpha)    hard-concrete gate, eq. 7-8
 *     x~        = nice_mix(x, z, b)       mixed resolution, eq. 13
 *     L = CE(D(x~), y) + lambda1 L_C(log_alpha) + lambda2 L_S(log_alpha)   eq. 11
 * D, the classifier, runs in eval mode (batchnorm uses its running
 * statistics). It is frozen ("discriminator-fixed") unless finetune names
 * parameter prefixes to train with it ("discriminator-finetuned").
 */
#ifndef NX_NICE_TRAIN_H
#define NX_NICE_TRAIN_H

#include "data/dataset.h"
#include "nice/nice.h"
#include "optim/optim.h"

typedef struct {
    HardConcrete hc;
    NiceBackground background;
    int block;              /* b of eq. 13 */
    float lambda1, lambda2; /* eq. 11 */
    int epochs, batch;
    OptimKind opt;
    float lr, momentum;
    LrSchedule schedule;
    const char *finetune;   /* comma-separated prefixes of D to train, or NULL */
    float finetune_lr;      /* lr of D's finetuned part (default: lr) */
    int limit;              /* use only the first N training images (0: all) */
    bool quiet;             /* no per-epoch lines */
    bool no_nan_check;      /* do not stop at a non-finite loss or parameter */
} NiceConfig;

/* Bounds nice_load checks the file's settings against (and the CLI its flags). */
#define NICE_MAX_BLOCK 64

NiceConfig nice_config_default(void);

typedef struct {
    double accuracy;   /* D on x~ built with the test-time mask */
    double density;    /* fraction of test-time mask values > 0.5 */
    double mask_mean;  /* mean of the test-time mask */
    double tv;         /* mean per-image L1 total variation (eq. 9 pairs) of the test-time mask */
    double loss_d, loss_c, loss_s; /* training losses of the last epoch */
    double seconds;    /* nice_train: training time of all epochs, without the evaluations */
    int64_t n;
} NiceStats;

/* Train g to explain m on train; evaluate on test after each epoch.
 * Unless c->no_nan_check, a non-finite loss (checked every step) or
 * generator parameter (checked after every epoch) stops training: -1 with
 * nx_error_set naming the step, the epoch and the loss. */
int nice_train(Generator *g, Model *m, const Dataset *train, const Dataset *test, const NiceConfig *c,
               NiceStats *out);
/* Test-time evaluation: accuracy on mixed-resolution images, mask density, TV. */
NiceStats nice_evaluate(Generator *g, Model *m, const Dataset *d, const NiceConfig *c, int batch);

#endif
