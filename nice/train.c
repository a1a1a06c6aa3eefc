/* train.c: the NICE training loop, its evaluation, saving and loading. */
#include "nice/train.h"
#include "tensor/progress.h"
#include "data/loader.h"
#include "eval/accuracy.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"
#include "layers/checkpoint.h"

#include <errno.h>

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
        s = nice_evaluate(g, m, test, c, 500);
        s.loss_d = ld / seen, s.loss_c = lc / seen, s.loss_s = ls / seen;
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

/* ---- saving ------------------------------------------------------------- */

int nice_save(const char *path, const Generator *g, const Model *m, const NiceConfig *c, const char *dataset) {
    int n = g->params.n + m->params.n;
    const char **names = nx_calloc((size_t)n, sizeof *names);
    const Tensor **ts = nx_calloc((size_t)n, sizeof *ts);
    char **owned = nx_calloc((size_t)n, sizeof *owned);
    for (int i = 0; i < n; i++) {
        bool gen = i < g->params.n;
        const Tensor *t = gen ? g->params.t[i] : m->params.t[i - g->params.n];
        size_t len = strlen(t->name) + 16;
        owned[i] = nx_malloc(len);
        snprintf(owned[i], len, "%s.%s", gen ? "generator" : "classifier", t->name);
        names[i] = owned[i];
        ts[i] = t;
    }
    char v[16][32];
    snprintf(v[0], 32, "%d", g->in_c);
    snprintf(v[1], 32, "%d", g->hw);
    snprintf(v[2], 32, "%d", m->n_classes);
    snprintf(v[3], 32, "%d", m->in_c);
    snprintf(v[4], 32, "%d", m->in_h);
    snprintf(v[5], 32, "%d", c->block);
    snprintf(v[6], 32, "%g", c->lambda1);
    snprintf(v[7], 32, "%g", c->lambda2);
    snprintf(v[8], 32, "%.9g", c->hc.beta);
    snprintf(v[9], 32, "%.9g", c->hc.gamma);
    snprintf(v[10], 32, "%.9g", c->hc.zeta);
    const char *meta[] = {"format", "nicex-nice",
                          "generator_arch", g->arch,
                          "generator_in_channels", v[0],
                          "generator_size", v[1],
                          "classifier_arch", m->arch,
                          "classes", v[2],
                          "in_channels", v[3],
                          "in_size", v[4],
                          "block", v[5],
                          "lambda1", v[6],
                          "lambda2", v[7],
                          "beta", v[8],
                          "gamma", v[9],
                          "zeta", v[10],
                          "background", c->background == NICE_BG_ZERO ? "zero" : "blocks",
                          "test_mask", c->hc.test_mask == NICE_TEST_L0 ? "l0" : "paper",
                          "capacity_norm", c->hc.capacity_norm == NICE_NORM_SUM ? "sum"
                                           : c->hc.capacity_norm == NICE_NORM_DATASET ? "dataset" : "mean",
                          "smooth_norm", c->hc.smooth_norm == NICE_NORM_MEAN ? "mean" : "sum",
                          "finetune", c->finetune ? c->finetune : "",
                          "dataset", dataset ? dataset : ""};
    int rc = safetensors_save(path, n, names, ts, (int)(sizeof meta / sizeof meta[0] / 2), meta);
    for (int i = 0; i < n; i++) free(owned[i]);
    free(owned);
    free(names);
    free(ts);
    return rc;
}

static int load_store(SafetensorsFile *sf, ParamStore *s, const char *prefix) {
    for (int i = 0; i < s->n; i++) {
        Tensor *t = s->t[i];
        char key[256];
        snprintf(key, sizeof key, "%s.%s", prefix, t->name);
        const StTensorInfo *ti = safetensors_find(sf, key);
        if (!ti) {
            nx_error_set("%s: missing tensor '%s'", sf->path, key);
            return -1;
        }
        bool same = ti->ndim == t->ndim && strcmp(ti->dtype, "F32") == 0;
        for (int d = 0; same && d < t->ndim; d++) same = ti->shape[d] == t->shape[d];
        if (!same) { /* the shape, not only the count: a transposed weight is an error */
            char shape[96] = "(";
            for (int d = 0; d < ti->ndim; d++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), d ? ", %lld" : "%lld",
                         (long long)ti->shape[d]);
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), ")");
            nx_error_set("%s: '%s' is %s %s, expected F32 %s", sf->path, key, ti->dtype, shape, tensor_shape_str(t));
            return -1;
        }
        float *h = nx_malloc(tensor_bytes(t) + 1);
        int rc = safetensors_read_raw(sf, ti, h);
        for (int64_t k = 0; rc == 0 && k < t->numel; k++)
            if (!isfinite(h[k])) {
                nx_error_set("%s: '%s' holds %g at element %lld: the file is broken (a diverged training?)", sf->path,
                             key, (double)h[k], (long long)k);
                rc = -1;
            }
        if (rc == 0) device_memcpy(t->device, t->data, NX_CPU, h, tensor_bytes(t));
        free(h);
        if (rc != 0) return -1;
    }
    return 0;
}

static int meta_int(SafetensorsFile *sf, const char *key, int *out, long long lo, long long hi) {
    const char *v = safetensors_meta(sf, key);
    if (!v) {
        nx_error_set("%s: not a NICE generator file (no '%s' in the metadata)", sf->path, key);
        return -1;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        nx_error_set("%s: metadata '%s' is '%.40s': expected an integer in [%lld, %lld]", sf->path, key, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* A float setting: finite and in [lo, hi] (above lo when open). */
static int meta_float(SafetensorsFile *sf, const char *key, float *out, float lo, float hi, bool open) {
    const char *v = safetensors_meta(sf, key);
    if (!v) return 0;
    char *end;
    float x = strtof(v, &end);
    if (!*v || *end || !isfinite(x) || (open ? x <= lo : x < lo) || x > hi) {
        nx_error_set("%s: metadata '%s' is '%.40s': expected a number %s %g and <= %g", sf->path, key, v,
                     open ? ">" : ">=", (double)lo, (double)hi);
        return -1;
    }
    *out = x;
    return 0;
}

int nice_load(const char *path, Generator *g, Model *m, NiceConfig *c, Device d) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    int rc = -1, gc, ghw, classes, in_c, in_size, block;
    const char *garch = safetensors_meta(&sf, "generator_arch"), *carch = safetensors_meta(&sf, "classifier_arch");
    if (!garch || !carch) {
        nx_error_set("%s: not a NICE generator file (no generator/classifier arch)", path);
        goto done;
    }
    if (meta_int(&sf, "generator_in_channels", &gc, 1, MODEL_MAX_CHANNELS) ||
        meta_int(&sf, "generator_size", &ghw, 1, MODEL_MAX_SIDE) ||
        meta_int(&sf, "classes", &classes, 1, MODEL_MAX_CLASSES) ||
        meta_int(&sf, "in_channels", &in_c, 1, MODEL_MAX_CHANNELS) ||
        meta_int(&sf, "in_size", &in_size, 1, MODEL_MAX_SIDE) || meta_int(&sf, "block", &block, 1, NICE_MAX_BLOCK))
        goto done;
    if (ghw % block != 0 || gc != in_c || ghw != in_size) {
        nx_error_set("%s: inconsistent metadata: block %d, generator input %dx%dx%d, classifier input %dx%dx%d", path,
                     block, gc, ghw, ghw, in_c, in_size, in_size);
        goto done;
    }
    const char *s;
    NiceConfig def = nice_config_default();
    def.block = block;
    *c = def;
    if (meta_float(&sf, "lambda1", &c->lambda1, 0, 1e6f, false) || meta_float(&sf, "lambda2", &c->lambda2, 0, 1e6f, false) ||
        meta_float(&sf, "beta", &c->hc.beta, 0, 100, true) || meta_float(&sf, "gamma", &c->hc.gamma, -100, -1e-6f, false) ||
        meta_float(&sf, "zeta", &c->hc.zeta, 1.000001f, 100, false))
        goto done;
    if ((s = safetensors_meta(&sf, "background"))) c->background = strcmp(s, "zero") == 0 ? NICE_BG_ZERO : NICE_BG_BLOCKS;
    if ((s = safetensors_meta(&sf, "test_mask"))) c->hc.test_mask = strcmp(s, "l0") == 0 ? NICE_TEST_L0 : NICE_TEST_PAPER;
    if ((s = safetensors_meta(&sf, "capacity_norm")))
        c->hc.capacity_norm = strcmp(s, "sum") == 0 ? NICE_NORM_SUM : strcmp(s, "dataset") == 0 ? NICE_NORM_DATASET : NICE_NORM_MEAN;
    if ((s = safetensors_meta(&sf, "smooth_norm"))) c->hc.smooth_norm = strcmp(s, "mean") == 0 ? NICE_NORM_MEAN : NICE_NORM_SUM;
    if (generator_create(g, garch, gc, ghw, d) != 0) {
        nx_error_set("%s: %s", path, nx_error_msg());
        goto done;
    }
    if (model_create(m, carch, classes, in_c, in_size, d) != 0) {
        nx_error_set("%s: %s", path, nx_error_msg());
        generator_free(g);
        goto done;
    }
    if (load_store(&sf, &g->params, "generator") != 0 || load_store(&sf, &m->params, "classifier") != 0) {
        generator_free(g);
        model_free(m);
        goto done;
    }
    rc = 0;
done:
    safetensors_close(&sf);
    return rc;
}
