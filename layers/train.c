/* train.c: the classifier training loop (see train.h): cross-entropy, an
 * optimizer step per batch, evaluation and a checkpoint per epoch, resume,
 * divergence and stop checks. The command line (cli/train.c) only parses
 * flags and prints. */
#include "layers/train.h"
#include "data/loader.h"
#include "layers/checkpoint.h"
#include "tensor/progress.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TrainConfig train_config_default(void) {
    return (TrainConfig){.epochs = 10,
                         .batch = 100,
                         .opt = OPTIM_ADAM,
                         .lr = 1e-3f,
                         .momentum = 0.9f,
                         .schedule = {.kind = LR_STEP, .step_size = 5, .gamma = 0.1},
                         .rrc_scale = 0.08f};
}

static void emit(const TrainConfig *c, const TrainEvent *e) {
    if (c->on_event) c->on_event(c->ctx, e);
}

/* The resumed checkpoint's normalisation (metadata) must be the model's, or
 * the resumed run would train another model. *what: what the file says. */
static int same_normalize(const char *path, const Model *m, const char **what) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    const char *nm = safetensors_meta(&sf, "normalize_mean"), *ns = safetensors_meta(&sf, "normalize_std");
    bool on = false, same;
    float mean[3], std[3];
    if (nm && ns) {
        char spec[160];
        snprintf(spec, sizeof spec, "%s/%s", nm, ns);
        if (model_normalize_parse(spec, &on, mean, std) != 0) on = !m->normalize; /* unreadable: a mismatch */
    }
    same = on == m->normalize;
    for (int k = 0; same && on && k < m->in_c && k < 3; k++) same = mean[k] == m->norm_mean[k] && std[k] == m->norm_std[k];
    safetensors_close(&sf);
    *what = on ? "normalize_mean/normalize_std" : "none";
    return same ? 0 : 1;
}

/* malloc'd "<a><b>" */
static char *str_cat(const char *a, const char *b) {
    size_t n = strlen(a), k = strlen(b);
    char *p = nx_malloc(n + k + 1);
    memcpy(p, a, n);
    memcpy(p + n, b, k + 1);
    return p;
}

TrainStatus train_classifier(Model *m, const Dataset *train_set, const Dataset *test, const TrainConfig *c,
                             TrainResult *r) {
    memset(r, 0, sizeof *r);
    const Device dev = m->params.device;
    Dataset train = *train_set;
    if (c->limit > 0 && c->limit < train.n) train.n = c->limit;
    TrainStatus status = TRAIN_OK;
    Optimizer *opt = optim_create(&m->params, c->opt, c->lr, c->momentum, c->weight_decay);
    TrainState st = {.seed = c->seed};
    char *state_path = c->out ? str_cat(c->out, ".state") : NULL;
    int32_t *pred = NULL;
    Loader loader = {0};
    bool have_loader = false;
    if (c->resume) {
        char *resume_state = str_cat(c->resume, ".state");
        int rc = safetensors_load_params(c->resume, &m->params, false) != 0 ||
                 train_state_load_paired(resume_state, opt, &st, c->resume) != 0;
        free(resume_state);
        if (rc) {
            status = TRAIN_ERR_RESUME;
            goto done;
        }
        int same = same_normalize(c->resume, m, &r->resume_normalize);
        if (same != 0) {
            status = same < 0 ? TRAIN_ERR_RESUME : TRAIN_ERR_RESUME_NORMALIZE;
            goto done;
        }
        rng_seed(st.seed);
        rng_set_offset(st.rng_offset);
        emit(c, &(TrainEvent){.kind = TRAIN_EV_RESUMED, .epoch = st.epoch, .epochs = c->epochs});
    }

    LoaderOptions lo = loader_defaults(c->batch, st.seed);
    lo.shuffle = true;
    if (c->augment) lo.crop_pad = 4, lo.hflip = true;
    if (c->rrc) lo.rrc = true, lo.rrc_scale_min = c->rrc_scale, lo.hflip = true;
    if (loader_init(&loader, &train, &lo) != 0) {
        status = TRAIN_ERR_DATA;
        goto done;
    }
    have_loader = true;
    r->first_epoch = r->epochs_done = st.epoch;
    emit(c, &(TrainEvent){.kind = TRAIN_EV_START, .epoch = st.epoch, .epochs = c->epochs});
    pred = nx_malloc(sizeof(int32_t) * (size_t)c->batch);
    /* device_malloc counts on dev at the start of step 2 (the first step and
     * the arena's consolidation done), at the end of the first epoch's
     * training, after its evaluation, and at the end */
    int64_t mem_at[4] = {-1, -1, -1, -1};
    const int first_epoch = st.epoch; /* st.epoch advances as epochs end */
    const int warmup = c->warmup;
    for (int epoch = st.epoch; epoch < c->epochs; epoch++) {
        optim_schedule(opt, &c->schedule, epoch);
        model_set_training(m, true);
        loader_start_epoch(&loader, epoch);
        Progress p;
        char label[32], text[128];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, c->epochs);
        if (c->quiet) p = (Progress){.t0 = now_seconds()};
        else progress_start(&p, label, loader_num_batches(&loader));
        double loss_sum = 0, correct = 0;
        int64_t seen = 0;
        Batch b;
        while (loader_next(&loader, &b)) {
            nx_step_reset();
            if (epoch == first_epoch && b.batch == 1) mem_at[0] = device_malloc_count(dev);
            if (warmup > 0 && opt->steps < warmup) { /* scale the epoch's scheduled lr (steps survive a resume) */
                optim_schedule(opt, &c->schedule, epoch);
                for (int g = 0; g < opt->n_groups; g++) opt->group[g].lr *= (double)(opt->steps + 1) / warmup;
            } else if (warmup > 0 && opt->steps == warmup) optim_schedule(opt, &c->schedule, epoch);
            Tensor *x = batch_to_device(b.x, b.n, b.c, b.h, b.w, dev);
            Tensor *logits = model_forward(m, x);
            Tensor *loss = nx_cross_entropy(logits, labels_to_device(b.y, b.n, dev));
            params_zero_grad(&m->params);
            tape_backward(loss);
            optim_step(opt);
            float l;
            device_memcpy(NX_CPU, &l, dev, loss->data, sizeof l);
            if (!c->no_nan_check && !isfinite(l)) {
                if (!c->quiet) progress_end(&p);
                r->stop_epoch = epoch, r->stop_step = opt->steps, r->stop_batch = b.batch + 1, r->stop_loss = l;
                status = TRAIN_DIVERGED;
                goto done;
            }
            loss_sum += (double)l * b.n;
            argmax_rows(pred, logits);
            for (int i = 0; i < b.n; i++) correct += pred[i] == b.y[i];
            seen += b.n;
            double el = now_seconds() - p.t0;
            snprintf(text, sizeof text, "loss %.4f acc %.2f%% %.0f img/s", loss_sum / seen, 100 * correct / seen,
                     seen / (el > 0 ? el : 1));
            if (!c->quiet) progress_update(&p, b.batch + 1, text);
            if (c->log_every > 0 && (b.batch + 1) % c->log_every == 0)
                emit(c, &(TrainEvent){.kind = TRAIN_EV_BATCH, .epoch = epoch, .epochs = c->epochs,
                                      .batch = b.batch + 1, .batches = loader_num_batches(&loader), .label = label,
                                      .status = text, .seconds = el});
            if (c->stop && *c->stop) {
                if (!c->quiet) progress_end(&p);
                r->stop_epoch = epoch, r->stop_step = opt->steps, r->stop_batch = b.batch + 1, r->signal = *c->stop;
                status = TRAIN_STOPPED;
                goto done;
            }
        }
        nx_step_reset();
        if (!c->quiet) progress_end(&p);
        double seconds = now_seconds() - p.t0;
        r->seconds += seconds;
        r->train_loss = loss_sum / (double)seen;
        r->train_accuracy = correct / (double)seen;
        if (epoch == first_epoch) mem_at[1] = device_malloc_count(dev);
        const char *bad = c->no_nan_check ? NULL : params_first_nonfinite(&m->params);
        if (bad) {
            r->stop_epoch = epoch, r->stop_step = opt->steps, r->stop_loss = r->train_loss, r->bad_param = bad;
            status = TRAIN_DIVERGED;
            goto done;
        }
        r->test = eval_classifier(m, test, c->batch > 500 ? c->batch : 500, NULL, NULL);
        if (epoch == first_epoch) mem_at[2] = device_malloc_count(dev);
        st.epoch = epoch + 1;
        st.steps = opt->steps;
        st.rng_offset = rng_offset();
        if (c->out) {
            const char *meta[] = {"dataset", c->dataset_name ? c->dataset_name : "", "epochs", label};
            if (model_save(m, c->out, 2, meta) != 0 || train_state_save_paired(state_path, opt, &st, c->out) != 0) {
                status = TRAIN_ERR_SAVE;
                goto done;
            }
        }
        r->epochs_done = st.epoch;
        emit(c, &(TrainEvent){.kind = TRAIN_EV_EPOCH, .epoch = epoch, .epochs = c->epochs, .label = label,
                              .seconds = seconds, .train_loss = r->train_loss, .train_accuracy = r->train_accuracy,
                              .test = r->test, .lr = optim_lr(opt), .seen = seen, .checkpoint = c->out});
        if (c->stop && *c->stop) { /* arrived during the evaluation or the save: both are complete */
            r->stop_epoch = epoch, r->stop_step = opt->steps, r->stop_batch = 0, r->signal = *c->stop;
            status = TRAIN_STOPPED;
            goto done;
        }
    }
    mem_at[3] = device_malloc_count(dev);
    if (mem_at[0] < 0) mem_at[0] = mem_at[1]; /* one step per epoch: no step 2 */
    r->mallocs[0] = mem_at[0], r->mallocs[1] = mem_at[1] - mem_at[0];
    r->mallocs[2] = mem_at[2] - mem_at[1], r->mallocs[3] = mem_at[3] - mem_at[2];
done:
    free(pred);
    free(state_path);
    if (have_loader) loader_free(&loader);
    optim_free(opt);
    return status;
}
