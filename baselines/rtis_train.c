/* rtis_train.c: RTIS training (two phases), its metrics, explanation, saving.
 *
 * Phase 1 (epochs [0, selector_epochs)): only the selector table learns,
 * from the exists logits: cross-entropy against is_real (1 when the selector
 * is the true class), fake selectors with probability 0.5; lr / 10 every
 * selector_lr_step optimizer steps (saliency_train.py: every 4000).
 * Phase 2 (the next `epochs`): the decoder and head learn L, the selector
 * stays fixed (the reference's get_trainable_parameters leaves it out),
 * fake selectors with probability 0.3. The classifier is frozen and in
 * eval mode throughout: its parameters and batchnorm statistics never change.
 *
 * Metrics (rtis_evaluate), for the class the classifier predicts on x:
 *   preservation = P[f(x m + alt (1 - m)) = f(x)]
 *   destruction  = P[f(x (1 - m) + alt m) != f(x)]
 *   area         = mean of m at input resolution
 * with alt the Gaussian blur of x (eval_alt; deterministic by default).
 */
#include "baselines/rtis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/loader.h"
#include "eval/accuracy.h"
#include "optim/optim.h"
#include "layers/checkpoint.h"
#include "tensor/progress.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif

static double scalar(const Tensor *t) {
    float v;
    device_memcpy(NX_CPU, &v, t->device, t->data, sizeof v);
    return v;
}

static bool in_phase1(const RtisConfig *c, int epoch) { return epoch < c->selector_epochs; }

Optimizer *rtis_make_optimizer(RtisModel *r, const RtisConfig *c, int epoch) {
    bool p1 = in_phase1(c, epoch);
    params_freeze(&r->params, "", p1);
    params_freeze(&r->params, "selector", !p1);
    AdamConfig a = adam_defaults(c->lr);
    a.weight_decay = c->weight_decay;
    return optim_adam(&r->params, a);
}

/* Selectors for one batch: the target class, replaced with probability p by
 * a uniformly drawn other class. */
static void draw_selectors(int32_t *sel, bool *is_real, const int32_t *target, int n, int k, float p) {
    for (int i = 0; i < n; i++) {
        bool fake = k > 1 && rng_uniform() < p;
        sel[i] = fake ? (int32_t)((target[i] + 1 + (int)rng_below((uint32_t)(k - 1))) % k) : target[i];
        is_real[i] = !fake;
    }
}

/* The training targets: the labels (reference) or f's predictions. */
static void training_targets(int32_t *t, Model *m, Tensor *x, const int32_t *y, int n, RtisTarget kind) {
    if (kind == RTIS_TARGET_LABEL) {
        memcpy(t, y, sizeof(int32_t) * (size_t)n);
        return;
    }
    bool prev = nx_no_grad();
    argmax_rows(t, model_forward(m, x));
    nx_set_grad(prev);
}

RtisStats rtis_evaluate(RtisModel *r, Model *m, const Dataset *d, const RtisConfig *c, int batch, int limit) {
    Dataset sub = *d;
    if (limit > 0 && limit < sub.n) sub.n = limit;
    Loader l;
    LoaderOptions o = loader_defaults(batch, 0);
    if (loader_init(&l, &sub, &o) != 0) nx_fatal("rtis_evaluate: %s", nx_error_msg());
    RtisStats s = {0};
    bool prev = nx_no_grad(), was = r->training;
    r->training = false;
    model_set_training(m, false);
    Device dev = m->params.device;
    int32_t *p0 = nx_malloc(sizeof(int32_t) * (size_t)batch), *pp = nx_malloc(sizeof(int32_t) * (size_t)batch),
            *pd = nx_malloc(sizeof(int32_t) * (size_t)batch);
    double kept = 0, destroyed = 0, area = 0;
    loader_start_epoch(&l, 0);
    Batch b;
    while (loader_next(&l, &b)) {
        nx_step_reset();
        Tensor *x = batch_to_device(b.x, b.n, b.c, b.h, b.w, dev);
        argmax_rows(p0, model_forward(m, x));
        Tensor *mask = rtis_forward(r, m, x, p0, NULL, NULL);
        Tensor *alt = rtis_alternative(x, c, c->eval_alt);
        argmax_rows(pp, model_forward(m, rtis_mix(x, mask, alt)));
        if (c->eval_alt != RTIS_ALT_BLUR) alt = rtis_alternative(x, c, c->eval_alt);
        argmax_rows(pd, model_forward(m, rtis_mix(x, nx_scale(mask, -1, 1), alt)));
        for (int i = 0; i < b.n; i++) kept += pp[i] == p0[i], destroyed += pd[i] != p0[i];
        area += scalar(nx_mean(mask, NX_ALL, false)) * b.n;
        s.n += b.n;
    }
    nx_step_reset();
    r->training = was;
    nx_set_grad(prev);
    free(p0), free(pp), free(pd);
    loader_free(&l);
    double n = s.n ? (double)s.n : 1;
    s.preservation = kept / n, s.destruction = destroyed / n, s.area = area / n;
    return s;
}

/* Read the epoch a training-state file was saved after (-1 on error). */
static int state_epoch(const char *path) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    const char *e = safetensors_meta(&sf, "epoch");
    long long v = -1;
    if (!e) nx_error_set("%s: not a nicex training-state file (no epoch)", path);
    else if (meta_parse_int(path, "epoch", e, 0, 100000000, &v) != 0) v = -1;
    safetensors_close(&sf);
    return (int)v;
}

int rtis_train(RtisModel *r, Model *m, const Dataset *train, const Dataset *test, const RtisConfig *c,
               const char *resume_state, RtisSaveFn save_cb, void *save_arg, RtisStats *out) {
    params_freeze(&m->params, "", true); /* the classifier: no parameter gradients */
    model_set_training(m, false);
    int total = c->selector_epochs + c->epochs, epoch0 = 0;
    Optimizer *opt = NULL;
    if (resume_state) {
        int e = state_epoch(resume_state);
        if (e < 0) return -1;
        if (e > total) {
            nx_error_set("%s: saved after epoch %d, more than the %d epochs asked for", resume_state, e, total);
            return -1;
        }
        TrainState st;
        opt = rtis_make_optimizer(r, c, e > 0 ? e - 1 : 0);
        if (train_state_load(resume_state, opt, &st) != 0) {
            optim_free(opt);
            return -1;
        }
        rng_seed(st.seed);
        rng_set_offset(st.rng_offset);
        epoch0 = st.epoch;
        if (epoch0 < total && in_phase1(c, epoch0 > 0 ? epoch0 - 1 : 0) != in_phase1(c, epoch0)) {
            optim_free(opt);
            opt = NULL; /* the phase changes here: a fresh optimizer */
        }
    }
    Dataset sub = *train;
    if (c->limit > 0 && c->limit < sub.n) sub.n = c->limit;
    Loader l1, l2;
    LoaderOptions o1 = loader_defaults(c->selector_batch, rng_get_seed()), o2 = loader_defaults(c->batch, rng_get_seed());
    o1.shuffle = o2.shuffle = true;
    if (loader_init(&l1, &sub, &o1) != 0 || loader_init(&l2, &sub, &o2) != 0) {
        if (opt) optim_free(opt);
        return -1;
    }
    Device dev = m->params.device;
    int maxb = c->batch > c->selector_batch ? c->batch : c->selector_batch, k = m->n_classes;
    int32_t *target = nx_malloc(sizeof(int32_t) * (size_t)maxb), *sel = nx_malloc(sizeof(int32_t) * (size_t)maxb),
            *pred = nx_malloc(sizeof(int32_t) * (size_t)maxb);
    bool *real = nx_malloc(sizeof(bool) * (size_t)maxb);
    RtisStats s = {0};
    int rc = 0;
    for (int epoch = epoch0; epoch < total; epoch++) {
        bool p1 = in_phase1(c, epoch);
        if (!opt || (epoch > epoch0 && p1 != in_phase1(c, epoch - 1))) {
            if (opt) optim_free(opt);
            opt = rtis_make_optimizer(r, c, epoch);
        }
        Loader *l = p1 ? &l1 : &l2;
        loader_start_epoch(l, epoch);
        Progress p;
        char label[48], status[160];
        snprintf(label, sizeof label, "rtis %s %d/%d", p1 ? "selector" : "masks", epoch + 1, total);
        progress_start(&p, label, loader_num_batches(l));
        RtisLoss sum = {0};
        double ex_ok = 0, area = 0;
        int64_t seen = 0;
        Batch b;
        while (loader_next(l, &b)) {
            nx_step_reset();
            Tensor *x = batch_to_device(b.x, b.n, b.c, b.h, b.w, dev);
            training_targets(target, m, x, b.y, b.n, c->target);
            draw_selectors(sel, real, target, b.n, k, p1 ? c->selector_fake_prob : c->fake_prob);
            Tensor *exists = NULL, *loss;
            r->training = !p1;
            if (p1) {
                if (c->selector_lr_step > 0) {
                    double lr = c->lr;
                    for (int64_t q = opt->steps / c->selector_lr_step; q > 0; q--) lr *= 0.1;
                    optim_set_lr(opt, lr);
                }
                bool prev = nx_no_grad();
                model_forward(m, x);
                Tensor *deep = m->stages[r->deep_stage];
                nx_set_grad(prev);
                rtis_select(r, deep, sel, &exists);
                int32_t *is_real = pred; /* reuse as int labels */
                for (int i = 0; i < b.n; i++) is_real[i] = real[i];
                loss = nx_cross_entropy(exists, labels_to_device(is_real, b.n, dev));
                sum.total += scalar(loss) * b.n;
            } else {
                Tensor *mask = rtis_forward(r, m, x, sel, NULL, &exists);
                RtisLoss parts;
                loss = rtis_objective(&parts, c, m, x, mask, target, real);
                sum.total += parts.total * b.n, sum.destroyer += parts.destroyer * b.n, sum.area += parts.area * b.n;
                sum.smooth += parts.smooth * b.n, sum.preserver += parts.preserver * b.n;
                area += scalar(nx_mean(mask, NX_ALL, false)) * b.n;
            }
            argmax_rows(pred, exists);
            for (int i = 0; i < b.n; i++) ex_ok += pred[i] == (int)real[i];
            params_zero_grad(&r->params);
            tape_backward(loss);
            optim_step(opt);
            seen += b.n;
            if (p1)
                snprintf(status, sizeof status, "exists loss %.4f acc %.1f%%", sum.total / seen, 100 * ex_ok / seen);
            else
                snprintf(status, sizeof status, "L %.3f D %.3f P %.3f area %.3f", sum.total / seen,
                         sum.destroyer / seen, sum.preserver / seen, area / seen);
            progress_update(&p, b.batch + 1, status);
        }
        nx_step_reset();
        progress_end(&p);
        double seconds = now_seconds() - p.t0;
        r->training = false;
        double n = seen ? (double)seen : 1;
        RtisStats ev = {0};
        if (!p1 && test) ev = rtis_evaluate(r, m, test, c, 500, c->eval_limit);
        s = ev;
        s.exists_acc = ex_ok / n;
        s.loss = (RtisLoss){sum.total / n, sum.destroyer / n, sum.area / n, sum.smooth / n, sum.preserver / n};
        if (!c->quiet) {
            if (p1)
                printf("rtis epoch %d/%d (selector)  exists loss %.4f  exists acc %.2f%%  lr %.3g  %.1f s\n", epoch + 1,
                       total, s.loss.total, 100 * s.exists_acc, optim_lr(opt), seconds);
            else
                printf("rtis epoch %d/%d (masks)  L %.4f = D %.4f + %g A %.4f + %g S %.4f + %g P %.4f  train area %.3f"
                       "  | test: preserved %.2f%%  destroyed %.2f%%  area %.3f (%lld images)  %.1f s\n",
                       epoch + 1, total, s.loss.total, s.loss.destroyer, c->area_coef, s.loss.area, c->smooth_coef,
                       s.loss.smooth, c->preserver_coef, s.loss.preserver, area / n, 100 * s.preservation,
                       100 * s.destruction, s.area, (long long)s.n, seconds);
            fflush(stdout);
        }
        if (save_cb && save_cb(save_arg, epoch + 1, opt) != 0) {
            rc = -1;
            break;
        }
    }
    free(target), free(sel), free(pred), free(real);
    loader_free(&l1);
    loader_free(&l2);
    if (opt) optim_free(opt);
    if (out) *out = s;
    return rc;
}

/* ---- explanation ---------------------------------------------------------- */

int rtis_explain(float *maps, float *native, int32_t *pred, RtisModel *r, Model *m, const float *x, int n,
                 const int32_t *classes) {
    if (n < 1) return 0;
    Device dev = m->params.device;
    bool prev = nx_no_grad(), was = r->training;
    r->training = false;
    model_set_training(m, false);
    Tensor *xt = batch_to_device(x, n, r->in_c, r->in_hw, r->in_hw, dev);
    int32_t *p = nx_malloc(sizeof(int32_t) * (size_t)n);
    argmax_rows(p, model_forward(m, xt));
    Tensor *low;
    Tensor *mask = rtis_forward(r, m, xt, classes ? classes : p, &low, NULL);
    device_memcpy(NX_CPU, maps, dev, mask->data, tensor_bytes(mask));
    if (native) device_memcpy(NX_CPU, native, dev, low->data, tensor_bytes(low));
    if (pred) memcpy(pred, p, sizeof(int32_t) * (size_t)n);
    free(p);
    r->training = was;
    nx_set_grad(prev);
    return 0;
}

/* ---- saving ------------------------------------------------------------- */

uint64_t rtis_classifier_fingerprint(const Model *m) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < m->params.n; i++) {
        float *v = tensor_to_host(m->params.t[i]);
        const unsigned char *b = (const unsigned char *)v;
        for (size_t q = 0; q < tensor_bytes(m->params.t[i]); q++) h = (h ^ b[q]) * 1099511628211ull;
        free(v);
    }
    return h;
}

/* Format into the next free slot of v and return it (metadata values below).
 * A function, not a macro: initialiser-list elements are indeterminately
 * sequenced, so the slot counter must only be touched inside calls. */
NX_PRINTF(3, 4) static const char *meta_fmt(char (*v)[40], int *q, const char *fmt, ...) {
    NX_CHECK(*q < 24, "rtis_save: more than 24 formatted metadata values");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v[*q], sizeof v[*q], fmt, ap);
    va_end(ap);
    return v[(*q)++];
}

int rtis_save(const char *path, const RtisModel *r, const Model *m, const RtisConfig *c, const char *classifier_file,
              const char *dataset) {
    char v[24][40];
    int q = 0;
#define FMT(...) meta_fmt(v, &q, __VA_ARGS__)
    const char *meta[] = {"format", "nicex-rtis",
                          "classifier_arch", m->arch,
                          "classes", FMT("%d", m->n_classes),
                          "in_channels", FMT("%d", m->in_c),
                          "in_size", FMT("%d", m->in_h),
                          "classifier_file", classifier_file ? classifier_file : "",
                          "classifier_fingerprint", FMT("%016llx", (unsigned long long)rtis_classifier_fingerprint(m)),
                          "dataset", dataset ? dataset : "",
                          "base", FMT("%d", r->base),
                          "mask_size", FMT("%d", r->mask_hw),
                          "area_coef", FMT("%g", c->area_coef),
                          "area_power", FMT("%g", c->area_power),
                          "smooth_coef", FMT("%g", c->smooth_coef),
                          "border_penalty", FMT("%g", c->border_penalty),
                          "preserver_coef", FMT("%g", c->preserver_coef),
                          "preserver_margin", FMT("%g", c->preserver_margin),
                          "destroyer_margin", FMT("%g", c->destroyer_margin),
                          "fake_prob", FMT("%g", c->fake_prob),
                          "blur_sigma", FMT("%g", c->blur_sigma),
                          "blur_kernel", FMT("%d", c->blur_kernel),
                          "target", c->target == RTIS_TARGET_PREDICTION ? "prediction" : "label",
                          "selector_epochs", FMT("%d", c->selector_epochs),
                          "epochs", FMT("%d", c->epochs)};
#undef FMT
    return safetensors_save_params(path, &r->params, (int)(sizeof meta / sizeof meta[0] / 2), meta);
}

int rtis_classifier_file(const char *path, char *out, size_t size) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    const char *f = safetensors_meta(&sf, "classifier_file"), *fmt = safetensors_meta(&sf, "format");
    int rc = -1;
    if (!fmt || strcmp(fmt, "nicex-rtis") != 0) nx_error_set("%s: not an RTIS file (format is not nicex-rtis)", path);
    else if (!f || !*f) nx_error_set("%s: names no classifier file: give --classifier", path);
    else {
        snprintf(out, size, "%s", f), rc = 0;
        /* a relative name from another folder: the models folder's file of that name */
        const char *base = strrchr(f, '/');
        char alt[1024];
        snprintf(alt, sizeof alt, "%s/%s", NX_MODELS_DIR, base ? base + 1 : f);
        if (access(f, R_OK) != 0 && access(alt, R_OK) == 0) snprintf(out, size, "%s", alt);
    }
    safetensors_close(&sf);
    return rc;
}

int rtis_load(const char *path, RtisModel *r, Model *m, RtisConfig *c, bool *weights_differ) {
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    int rc = -1;
    const char *fmt = safetensors_meta(&sf, "format"), *arch = safetensors_meta(&sf, "classifier_arch");
    const char *cls = safetensors_meta(&sf, "classes"), *inc = safetensors_meta(&sf, "in_channels");
    const char *ins = safetensors_meta(&sf, "in_size"), *base = safetensors_meta(&sf, "base");
    const char *file = safetensors_meta(&sf, "classifier_file"), *fp = safetensors_meta(&sf, "classifier_fingerprint");
    if (!fmt || strcmp(fmt, "nicex-rtis") != 0 || !arch || !cls || !inc || !ins || !base) {
        nx_error_set("%s: not an RTIS file (no nicex-rtis format, classifier or base in the metadata)", path);
        goto done;
    }
    long long n_cls, n_inc, n_ins, n_base, n_blur;
    if (meta_parse_int(path, "classes", cls, 1, MODEL_MAX_CLASSES, &n_cls) != 0 ||
        meta_parse_int(path, "in_channels", inc, 1, MODEL_MAX_CHANNELS, &n_inc) != 0 ||
        meta_parse_int(path, "in_size", ins, 1, MODEL_MAX_SIDE, &n_ins) != 0 ||
        meta_parse_int(path, "base", base, 1, 65536, &n_base) != 0)
        goto done;
    if (strcmp(arch, m->arch) != 0 || n_cls != m->n_classes || n_inc != m->in_c || n_ins != m->in_h) {
        nx_error_set("%s explains %s with %s classes on %sx%sx%s images (%s); this classifier is %s with %d classes on "
                     "%dx%dx%d",
                     path, arch, cls, inc, ins, ins, file && *file ? file : "no file named", m->arch, m->n_classes,
                     m->in_c, m->in_h, m->in_w);
        goto done;
    }
    if (weights_differ) {
        char mine[24];
        snprintf(mine, sizeof mine, "%016llx", (unsigned long long)rtis_classifier_fingerprint(m));
        *weights_differ = fp && strcmp(fp, mine) != 0;
    }
    if (c) {
        *c = rtis_config_default(m->in_h, m->n_classes);
        const char *s;
#define GETF(key, field)                                                                                   \
    if ((s = safetensors_meta(&sf, key)) && meta_parse_float(path, key, s, -1e30f, 1e30f, false, &c->field) != 0) \
        goto done;
        GETF("area_coef", area_coef)
        GETF("area_power", area_power)
        GETF("smooth_coef", smooth_coef)
        GETF("border_penalty", border_penalty)
        GETF("preserver_coef", preserver_coef)
        GETF("preserver_margin", preserver_margin)
        GETF("destroyer_margin", destroyer_margin)
        GETF("fake_prob", fake_prob)
        GETF("blur_sigma", blur_sigma)
#undef GETF
        if ((s = safetensors_meta(&sf, "blur_kernel"))) {
            if (meta_parse_int(path, "blur_kernel", s, 1, 10001, &n_blur) != 0) goto done;
            c->blur_kernel = (int)n_blur;
        }
        if ((s = safetensors_meta(&sf, "target"))) c->target = strcmp(s, "prediction") == 0 ? RTIS_TARGET_PREDICTION : RTIS_TARGET_LABEL;
        c->base = (int)n_base;
    }
    if (rtis_create(r, m, (int)n_base) != 0) goto done;
    if (safetensors_load_params(path, &r->params, false) != 0) {
        rtis_free(r);
        goto done;
    }
    rc = 0;
done:
    safetensors_close(&sf);
    return rc;
}
