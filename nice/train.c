/* train.c: the NICE training loop and its evaluation (files: nice/checkpoint.c). */
#include "nice/train.h"
#include "tensor/progress.h"
#include "data/loader.h"
#include "eval/accuracy.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

NiceConfig nice_config_default(void) {
    return (NiceConfig){.hc = hc_default(),
                        .background = NICE_BG_BLOCKS,
                        .block = 4,
                        .lambda1 = 5.0f,
                        .lambda2 = 0.0f,
                        .epochs = 10,
                        .batch = 100,
                        .opt = OPTIM_ADAM,
                        .lr = 1e-3f,
                        .momentum = 0.9f,
                        .schedule = {.kind = LR_STEP, .step_size = 5, .gamma = 0.1}};
}

/* SGD with the config's momentum, Adam, or AdamW (its default weight decay): no weight decay flag in NICE. */
static Optimizer *make_optimizer(ParamStore *s, const NiceConfig *c, float lr) {
    return optim_create(s, c->opt, lr, c->momentum, 0);
}

static float scalar(const Tensor *t) {
    float v;
    device_memcpy(NX_CPU, &v, t->device, t->data, sizeof v);
    return v;
}

/* Freeze all of D, then unfreeze the comma-separated prefixes. */
static int set_finetune(Model *m, const char *finetune) {
    params_freeze(&m->params, "", true);
    if (!finetune || !*finetune) return 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", finetune);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ') tok++;
        if (params_freeze(&m->params, tok, false) == 0) {
            nx_error_set("--finetune: '%s' names no parameter of %s", tok, m->arch);
            return -1;
        }
    }
    return 0;
}

NiceStats nice_evaluate(Generator *g, Model *m, const Dataset *d, const NiceConfig *c, int batch) {
    Loader l;
    LoaderOptions o = loader_defaults(batch, 0);
    if (loader_init(&l, d, &o) != 0) nx_fatal("nice_evaluate: %s", nx_error_msg());
    NiceStats s = {0};
    bool prev = nx_no_grad();
    model_set_training(m, false);
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)batch);
    Device dev = m->params.device;
    double correct = 0, open = 0, mean = 0, tv = 0;
    int64_t pixels = 0;
    loader_start_epoch(&l, 0);
    Batch b;
    while (loader_next(&l, &b)) {
        nx_step_reset();
        Tensor *x = batch_to_device(b.x, b.n, b.c, b.h, b.w, dev);
        Tensor *z = hc_test_mask(&c->hc, generator_forward(g, x));
        argmax_rows(pred, model_forward(m, nice_mix(x, z, c->block, c->background)));
        for (int i = 0; i < b.n; i++) correct += pred[i] == b.y[i];
        float *zh = tensor_to_host(z);
        for (int64_t i = 0; i < z->numel; i++) open += zh[i] > 0.5f, mean += zh[i];
        free(zh);
        float *tvh = tensor_to_host(nx_neighbor_l1(z));
        for (int i = 0; i < b.n; i++) tv += tvh[i];
        free(tvh);
        pixels += z->numel;
        s.n += b.n;
    }
    nx_step_reset();
    nx_set_grad(prev);
    free(pred);
    loader_free(&l);
    s.accuracy = correct / (double)(s.n ? s.n : 1);
    s.density = open / (double)(pixels ? pixels : 1);
    s.mask_mean = mean / (double)(pixels ? pixels : 1);
    s.tv = tv / (double)(s.n ? s.n : 1);
    return s;
}

int nice_train(Generator *g, Model *m, const Dataset *train, const Dataset *test, const NiceConfig *c,
               NiceStats *out) {
    if (set_finetune(m, c->finetune) != 0) return -1;
    NiceConfig cc = *c; /* the L0-code normalisation divides by the training-set size */
    if (cc.hc.dataset_size <= 0) cc.hc.dataset_size = c->limit > 0 && c->limit < train->n ? c->limit : train->n;
    c = &cc;
    Optimizer *opt_g = make_optimizer(&g->params, c, c->lr);
    Optimizer *opt_d = c->finetune && *c->finetune
                           ? make_optimizer(&m->params, c, c->finetune_lr > 0 ? c->finetune_lr : c->lr)
                           : NULL;
    Dataset sub = *train;
    if (c->limit > 0 && c->limit < sub.n) sub.n = c->limit;
    Loader l;
    LoaderOptions o = loader_defaults(c->batch, rng_get_seed());
    o.shuffle = true;
    if (loader_init(&l, &sub, &o) != 0) return -1;
    Device dev = m->params.device;
    NiceStats s = {0};
    double train_seconds = 0;
    for (int epoch = 0; epoch < c->epochs; epoch++) {
        optim_schedule(opt_g, &c->schedule, epoch);
        if (opt_d) optim_schedule(opt_d, &c->schedule, epoch);
        model_set_training(m, false); /* D in eval mode: running batchnorm statistics */
        loader_start_epoch(&l, epoch);
        Progress p;
        char label[32], status[128];
        snprintf(label, sizeof label, "nice %d/%d", epoch + 1, c->epochs);
        progress_start(&p, label, loader_num_batches(&l));
        double ld = 0, lc = 0, ls = 0;
        int64_t seen = 0;
        Batch b;
        while (loader_next(&l, &b)) {
            nx_step_reset();
            Tensor *x = batch_to_device(b.x, b.n, b.c, b.h, b.w, dev);
            Tensor *log_alpha = generator_forward(g, x);
            Tensor *z = hc_sample(&c->hc, log_alpha);
            Tensor *logits = model_forward(m, nice_mix(x, z, c->block, c->background));
            Tensor *loss_d = nx_cross_entropy(logits, labels_to_device(b.y, b.n, dev));
            Tensor *loss_c = nice_capacity_loss(&c->hc, log_alpha);
            Tensor *loss = nx_add(loss_d, nx_scale(loss_c, c->lambda1, 0));
            Tensor *loss_s = NULL;
            if (c->lambda2 != 0) {
                loss_s = nice_smooth_loss(&c->hc, log_alpha);
                loss = nx_add(loss, nx_scale(loss_s, c->lambda2, 0));
            }
            params_zero_grad(&g->params);
            if (opt_d) params_zero_grad(&m->params);
            tape_backward(loss);
            optim_step(opt_g);
            if (opt_d) optim_step(opt_d);
            float lt = scalar(loss);
            if (!c->no_nan_check && !isfinite(lt)) {
                progress_end(&p);
                nx_error_set("NICE training diverged: the loss is %g at step %lld (epoch %d, batch %lld; L_D %g, L_C "
                             "%g): stopped, nothing saved",
                             (double)lt, (long long)opt_g->steps, epoch + 1, (long long)b.batch + 1,
                             (double)scalar(loss_d), (double)scalar(loss_c));
                loader_free(&l);
                optim_free(opt_g);
                if (opt_d) optim_free(opt_d);
                nx_step_reset();
                return -1;
            }
            ld += scalar(loss_d) * b.n, lc += scalar(loss_c) * b.n, ls += (loss_s ? scalar(loss_s) : 0) * b.n;
            seen += b.n;
            snprintf(status, sizeof status, "L_D %.4f L_C %.4f", ld / seen, lc / seen);
            progress_update(&p, b.batch + 1, status);
        }
        nx_step_reset();
        progress_end(&p);
        const char *bad = c->no_nan_check ? NULL : params_first_nonfinite(&g->params);
        if (!bad && opt_d) bad = params_first_nonfinite(&m->params);
        if (bad) {
            nx_error_set("NICE training diverged: parameter '%s' is not finite after epoch %d (step %lld, mean L_D %g): "
                         "stopped, nothing saved",
                         bad, epoch + 1, (long long)opt_g->steps, ld / (double)(seen ? seen : 1));
            loader_free(&l);
            optim_free(opt_g);
            if (opt_d) optim_free(opt_d);
            return -1;
        }
        double seconds = now_seconds() - p.t0;
        train_seconds += seconds;
        s = nice_evaluate(g, m, test, c, 500);
        s.loss_d = ld / seen, s.loss_c = lc / seen, s.loss_s = ls / seen, s.seconds = train_seconds;
        if (!c->quiet)
            printf("nice epoch %d/%d  L_D %.4f  L_C %.4f  L_S %.4f  | test: acc %.2f%%  density %.3f  TV %.1f  "
                   "%.1f s\n",
                   epoch + 1, c->epochs, s.loss_d, s.loss_c, s.loss_s, 100 * s.accuracy, s.density, s.tv, seconds);
        fflush(stdout);
    }
    loader_free(&l);
    optim_free(opt_g);
    if (opt_d) optim_free(opt_d);
    if (out) *out = s;
    return 0;
}
