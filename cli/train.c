/* train.c: `nicex train`, `nicex eval` and `nicex summary`. */
#include "cli/args.h"
#include "cli/cli.h"
#include "tensor/progress.h"
#include "data/loader.h"
#include "eval/accuracy.h"
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"
#include "tensor/rng.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Open the train or test split of a dataset spec, printing the error. */
static int open_data(Dataset *d, const char *spec, DataSplit split, int size, uint64_t seed) {
    if (dataset_open(d, spec, split, size, seed) == 0) return 0;
    fprintf(stderr, "nicex: %s\n", nx_error_msg());
    return -1;
}

static int parse_device(const char *s, Device *d) {
    if (device_parse(s, d) == 0) return 0;
    fprintf(stderr, "nicex: %s\n", nx_error_msg());
    return -1;
}

/* malloc'd "<a><b>": paths are never cut at a fixed length. */
static char *str_cat(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    char *p = nx_malloc(n + m + 1);
    memcpy(p, a, n);
    memcpy(p + n, b, m + 1);
    return p;
}

/* --out must be (or become) a regular file: a FIFO, a device or a folder is
 * refused before any training. */
static int check_out_path(const char *flag, const char *path) {
    struct stat st;
    if (!*path) {
        fprintf(stderr, "nicex: --%s: empty path\n", flag);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "nicex: --%s: %s is %s, not a regular file\n", flag, path,
                S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or special file");
        return -1;
    }
    return 0;
}

/* What the interrupt handler and the NaN check say about the checkpoint:
 * path (epoch) is the last one written, if have. */
static void last_good_note(char *buf, size_t cap, bool have, const char *path, int epoch, const char *out) {
    if (have) snprintf(buf, cap, "the last good checkpoint is %s (epoch %d; continue with --resume %s)", path, epoch, path);
    else snprintf(buf, cap, "no checkpoint was written (%s is as it was)", out);
}

/* --resume: the checkpoint's normalisation (metadata) must be the one
 * --normalize asked for, or the resumed run would train another model. */
static int check_resume_normalize(const char *path, const Model *m) {
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
    for (int c = 0; same && on && c < m->in_c && c < 3; c++)
        same = mean[c] == m->norm_mean[c] && std[c] == m->norm_std[c];
    safetensors_close(&sf);
    if (!same)
        fprintf(stderr, "nicex: --resume: %s: its input normalisation (%s) differs from --normalize: pass the run's "
                        "--normalize again\n", path, on ? "normalize_mean/normalize_std" : "none");
    return same ? 0 : -1;
}

int cmd_train(int argc, char **argv) {
    const char *model_name = "lenet5", *data = "fashion-mnist", *opt_name = "adam", *schedule = "step",
               *device = "cpu", *out = "model.safetensors", *resume = NULL;
    int epochs = 10, batch = 100, step_size = 5, image_size = 0, limit = 0;
    float lr = 1e-3f, momentum = 0.9f, wd = 0.0f, gamma = 0.1f;
    uint64_t seed = 0;
    bool augment = false, json = false, report_memory = false, no_nan_check = false;
    const char *normalize = "none";
    int log_every = 0, warmup = 0;
    bool rrc = false;
    float rrc_scale = 0.08f;
    const Opt opts[] = {
        {"model", OPT_STR, &model_name, "lenet5 | vgg11 | resnet18 | resnet18-cifar (default lenet5)"},
        {"data", OPT_STR, &data, "fashion-mnist | mnist:DIR | cifar10:DIR | folder:DIR (default fashion-mnist)"},
        {"epochs", OPT_INT, &epochs, "epochs (default 10)", OPT_RANGE(1, 100000)},
        {"batch", OPT_INT, &batch, "batch size (default 100)", OPT_RANGE(1, 65536)},
        {"opt", OPT_STR, &opt_name, "sgd | adam | adamw (default adam)"},
        {"lr", OPT_FLOAT, &lr, "learning rate (default 1e-3)", OPT_POSITIVE(10)},
        {"momentum", OPT_FLOAT, &momentum, "SGD momentum (default 0.9)", OPT_RANGE(0, 0.9999)},
        {"wd", OPT_FLOAT, &wd, "weight decay (default 0; adamw: 0.01 if not given)", OPT_RANGE(0, 1)},
        {"schedule", OPT_STR, &schedule, "step | cosine | constant | step:N:G | cosine:T[:MIN] (default step)"},
        {"step-size", OPT_INT, &step_size, "epochs between lr drops for --schedule step (default 5)",
         OPT_RANGE(1, 100000)},
        {"gamma", OPT_FLOAT, &gamma, "lr factor for --schedule step (default 0.1)", OPT_POSITIVE(1)},
        {"augment", OPT_FLAG, &augment, "random crop (pad 4) and horizontal flip"},
        {"rrc", OPT_FLAG, &rrc, "random-resized crop (torchvision's, ratio 3/4..4/3) and horizontal flip"},
        {"rrc-scale", OPT_FLOAT, &rrc_scale, "smallest area fraction of --rrc (default 0.08)", OPT_POSITIVE(1)},
        {"normalize", OPT_STR, &normalize, "inside the model: none | cifar10 | imagenet | data | M1,M2,M3/S1,S2,S3 (default none)"},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side (default 0: native)",
         OPT_RANGE(0, DATASET_MAX_SIDE)},
        {"limit", OPT_INT, &limit, "use only the first N training images (default 0: all)", OPT_RANGE(0, INT_MAX)},
        {"seed", OPT_U64, &seed, "seed of every random draw (default 0)"},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N (default cpu)"},
        {"out", OPT_STR, &out, "checkpoint path (default model.safetensors; state in <out>.state)"},
        {"resume", OPT_STR, &resume, "continue from this checkpoint and its .state file"},
        {"no-nan-check", OPT_FLAG, &no_nan_check,
         "do not stop at a non-finite loss or parameter (for speed measurements)"},
        {"json", OPT_FLAG, &json, "print a JSON summary at the end"},
        {"report-memory", OPT_FLAG, &report_memory,
         "report the device allocations of each phase and the step arena's high-water mark (none after step 1)"},
        {"warmup", OPT_INT, &warmup, "linear lr warmup over the first N steps: lr x (k+1)/N at step k (default 0: off)",
         OPT_RANGE(0, INT_MAX)},
        {"log-every", OPT_INT, &log_every, "also print a status line every N batches, for logs (default 0: off)",
         OPT_RANGE(0, INT_MAX)},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex train [--model M] [--data D] [options]");
    if (rc) return rc > 0 ? 0 : 2;
    Device dev;
    if (parse_device(device, &dev) != 0) return 2;
    LrSchedule sched;
    char sched_text[64];
    const char *sched_arg = sched_text;
    if (strcmp(schedule, "step") == 0) snprintf(sched_text, sizeof sched_text, "step:%d:%g", step_size, gamma);
    else if (strcmp(schedule, "cosine") == 0) snprintf(sched_text, sizeof sched_text, "cosine:%d", epochs);
    else sched_arg = schedule;
    if (lr_schedule_parse(sched_arg, &sched) != 0) {
        fprintf(stderr, "nicex: --schedule: %s\n", nx_error_msg());
        return 2;
    }
    char *state_path = str_cat(out, ".state"), *resume_state = resume ? str_cat(resume, ".state") : NULL;
    if (check_out_path("out", out) != 0 || check_out_path("out", state_path) != 0) return 2;
    if (warmup < 0) {
        fprintf(stderr, "nicex: --warmup: %d steps, expected 0 or more\n", warmup);
        return 2;
    }

    Dataset train, test;
    if (open_data(&train, data, DATA_TRAIN, image_size, seed) != 0) return 1;
    if (open_data(&test, data, DATA_TEST, image_size, seed) != 0) return 1;
    if (limit > 0 && limit < train.n) train.n = limit;
    if (test.c != train.c || test.h != train.h || test.w != train.w || test.n_classes != train.n_classes) {
        fprintf(stderr, "nicex: %s: the test split has %dx%dx%d images in %d classes, the train split %dx%dx%d in %d\n",
                data, test.c, test.h, test.w, test.n_classes, train.c, train.h, train.w, train.n_classes);
        return 1;
    }
    if (!json) {
        printf("%s\n", dataset_describe(&train)); /* one call each: a static buffer */
        printf("%s\n", dataset_describe(&test));
    }

    rng_seed(seed);
    Model m;
    if (model_create(&m, model_name, train.n_classes, train.c, train.h, dev) != 0) {
        fprintf(stderr, "nicex: --model: %s (data %s: %dx%dx%d images)\n", nx_error_msg(), data, train.c, train.h,
                train.w);
        return 2;
    }
    bool norm_on = false;
    float norm_mean[3], norm_std[3];
    if (strcmp(normalize, "data") == 0) norm_on = true, dataset_channel_stats(&train, norm_mean, norm_std);
    else if (model_normalize_parse(normalize, &norm_on, norm_mean, norm_std) != 0) {
        fprintf(stderr, "nicex: --normalize: %s\n", nx_error_msg());
        return 2;
    }
    if (norm_on && model_set_normalize(&m, norm_mean, norm_std) != 0) {
        fprintf(stderr, "nicex: --normalize: %s\n", nx_error_msg());
        return 2;
    }
    if (norm_on && !json)
        printf("normalize inside the model: mean (%.4f, %.4f, %.4f) std (%.4f, %.4f, %.4f)\n", norm_mean[0],
               norm_mean[1], norm_mean[2], norm_std[0], norm_std[1], norm_std[2]);
    Optimizer *opt;
    if (strcmp(opt_name, "sgd") == 0) opt = optim_sgd(&m.params, (SgdConfig){.lr = lr, .momentum = momentum, .weight_decay = wd});
    else if (strcmp(opt_name, "adam") == 0) {
        AdamConfig c = adam_defaults(lr);
        c.weight_decay = wd;
        opt = optim_adam(&m.params, c);
    } else if (strcmp(opt_name, "adamw") == 0) {
        AdamConfig c = adamw_defaults(lr);
        if (wd > 0) c.weight_decay = wd;
        opt = optim_adamw(&m.params, c);
    } else {
        fprintf(stderr, "nicex: --opt: unknown optimizer '%s' (sgd, adam, adamw)\n", opt_name);
        return 2;
    }
    TrainState st = {.seed = seed};
    if (resume) {
        if (safetensors_load_params(resume, &m.params, false) != 0 ||
            train_state_load_paired(resume_state, opt, &st, resume) != 0) {
            fprintf(stderr, "nicex: --resume: %s\n", nx_error_msg());
            return 1;
        }
        if (check_resume_normalize(resume, &m) != 0) return 2;
        rng_seed(st.seed);
        rng_set_offset(st.rng_offset);
        if (!json) printf("resumed from %s after epoch %d\n", resume, st.epoch);
    }

    Loader loader;
    LoaderOptions lo = loader_defaults(batch, st.seed);
    lo.shuffle = true;
    if (augment) lo.crop_pad = 4, lo.hflip = true;
    if (rrc) lo.rrc = true, lo.rrc_scale_min = rrc_scale, lo.hflip = true;
    if (loader_init(&loader, &train, &lo) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 1;
    }
    /* the checkpoint that is good now: --resume's (when it is also --out) or none yet */
    char *note = nx_malloc(2 * strlen(out) + (resume ? 2 * strlen(resume) : 0) + 128);
    size_t note_cap = 2 * strlen(out) + (resume ? 2 * strlen(resume) : 0) + 128;
    last_good_note(note, note_cap, resume != NULL, resume ? resume : out, st.epoch, out);
    interrupt_set_note(note);
    interrupt_install(true); /* a signal stops the loop between steps, never inside a save */
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)batch);
    EvalResult ev = {0};
    double train_loss = 0, train_acc = 0, total_seconds = 0;
    /* --report-memory: device_malloc counts on dev at the start of step 2 (the
     * first step and the arena's consolidation done), at the end of the first
     * epoch's training, after its evaluation, and at the end. */
    int64_t mem_at[4] = {-1, -1, -1, -1};
    const int first_epoch = st.epoch; /* st.epoch advances as epochs end */
    double *epoch_sec = nx_calloc((size_t)epochs, sizeof(double));
    double *epoch_acc = nx_calloc((size_t)epochs, sizeof(double));
    for (int epoch = st.epoch; epoch < epochs; epoch++) {
        optim_schedule(opt, &sched, epoch);
        model_set_training(&m, true);
        loader_start_epoch(&loader, epoch);
        Progress p;
        char label[32], status[128];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, epochs);
        progress_start(&p, label, loader_num_batches(&loader));
        double loss_sum = 0, correct = 0;
        int64_t seen = 0;
        Batch b;
        while (loader_next(&loader, &b)) {
            nx_step_reset();
            if (epoch == first_epoch && b.batch == 1) mem_at[0] = device_malloc_count(dev);
            if (warmup > 0 && opt->steps < warmup) { /* scale the epoch's scheduled lr (steps survive --resume) */
                optim_schedule(opt, &sched, epoch);
                for (int g = 0; g < opt->n_groups; g++) opt->group[g].lr *= (double)(opt->steps + 1) / warmup;
            } else if (warmup > 0 && opt->steps == warmup) optim_schedule(opt, &sched, epoch);
            Tensor *x = batch_to_device(b.x, b.n, b.c, b.h, b.w, dev);
            Tensor *logits = model_forward(&m, x);
            Tensor *loss = nx_cross_entropy(logits, labels_to_device(b.y, b.n, dev));
            params_zero_grad(&m.params);
            tape_backward(loss);
            optim_step(opt);
            float l;
            device_memcpy(NX_CPU, &l, dev, loss->data, sizeof l);
            if (!no_nan_check && !isfinite(l)) {
                progress_end(&p);
                fprintf(stderr, "nicex: the loss is %g at step %lld (epoch %d, batch %lld): training diverged "
                                "(try a smaller --lr); %s\n",
                        (double)l, (long long)opt->steps, epoch + 1, (long long)b.batch + 1, note);
                return 1;
            }
            loss_sum += (double)l * b.n;
            argmax_rows(pred, logits);
            for (int i = 0; i < b.n; i++) correct += pred[i] == b.y[i];
            seen += b.n;
            double el = now_seconds() - p.t0;
            snprintf(status, sizeof status, "loss %.4f acc %.2f%% %.0f img/s", loss_sum / seen, 100 * correct / seen,
                     seen / (el > 0 ? el : 1));
            progress_update(&p, b.batch + 1, status);
            if (log_every > 0 && !json && (b.batch + 1) % log_every == 0) {
                printf("%s batch %lld/%lld  %s  %.0f s\n", label, (long long)b.batch + 1,
                       (long long)loader_num_batches(&loader), status, el);
                fflush(stdout);
            }
            if (interrupt_pending) {
                progress_end(&p);
                fprintf(stderr, "nicex: %s at step %lld (epoch %d): stopped; %s\n",
                        interrupt_signal_name(interrupt_pending), (long long)opt->steps, epoch + 1, note);
                return 128 + interrupt_pending;
            }
        }
        nx_step_reset();
        progress_end(&p);
        double seconds = now_seconds() - p.t0;
        total_seconds += seconds;
        train_loss = loss_sum / (double)seen;
        train_acc = correct / (double)seen;
        if (epoch == first_epoch) mem_at[1] = device_malloc_count(dev);
        const char *bad = no_nan_check ? NULL : params_first_nonfinite(&m.params);
        if (bad) {
            fprintf(stderr, "nicex: parameter '%s' is not finite after epoch %d (step %lld, mean loss %g): "
                            "training diverged; %s\n",
                    bad, epoch + 1, (long long)opt->steps, train_loss, note);
            return 1;
        }
        ev = eval_classifier(&m, &test, batch > 500 ? batch : 500, NULL, NULL);
        if (epoch == first_epoch) mem_at[2] = device_malloc_count(dev);
        epoch_sec[epoch] = seconds, epoch_acc[epoch] = ev.accuracy;
        st.epoch = epoch + 1;
        st.steps = opt->steps;
        st.rng_offset = rng_offset();
        const char *meta[] = {"dataset", data, "epochs", label};
        if (model_save(&m, out, 2, meta) != 0 || train_state_save_paired(state_path, opt, &st, out) != 0) {
            fprintf(stderr, "nicex: saving the checkpoint: %s\n", nx_error_msg());
            return 1;
        }
        last_good_note(note, note_cap, true, out, st.epoch, out);
        interrupt_set_note(note);
        if (!json)
            printf("epoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  lr %.3g  %.1f s (%.0f img/s)\n",
                   epoch + 1, epochs, train_loss, 100 * train_acc, 100 * ev.accuracy, optim_lr(opt), seconds,
                   seen / seconds);
        fflush(stdout);
        if (interrupt_pending) { /* arrived during the evaluation or the save: both are complete */
            fprintf(stderr, "nicex: %s after epoch %d: stopped; %s\n", interrupt_signal_name(interrupt_pending),
                    epoch + 1, note);
            return 128 + interrupt_pending;
        }
    }
    interrupt_install(false);
    mem_at[3] = device_malloc_count(dev);
    if (mem_at[0] < 0) mem_at[0] = mem_at[1]; /* one step per epoch: no step 2 */
    /* allocations: in step 1 (with the consolidation), steps 2.. of the first
     * epoch, its evaluation, and every later epoch (training + evaluation) */
    int64_t mem[4] = {mem_at[0], mem_at[1] - mem_at[0], mem_at[2] - mem_at[1], mem_at[3] - mem_at[2]};
    const Arena *ar = step_arena(dev);
    if (report_memory && !json)
        printf("memory (%s): %lld allocations in step 1, %lld in the rest of epoch %d's training, %lld in its "
               "evaluation, %lld in the later epochs; step arena high water %.1f MiB (capacity %.1f MiB, %d "
               "allocations), workspace %.1f MiB: %s\n",
               device_name(dev), (long long)mem[0], (long long)mem[1], first_epoch + 1, (long long)mem[2],
               (long long)mem[3], ar->high_water / 1048576.0, ar->capacity / 1048576.0, ar->n_mallocs,
               workspace_bytes(dev) / 1048576.0,
               mem[1] == 0 && mem[3] == 0 ? "none after the first step" : "ALLOCATES AFTER THE FIRST STEP");
    if (json) {
        printf("{\"model\": \"%s\", \"data\": \"%s\", \"device\": \"%s\", \"epochs\": %d, \"train_loss\": %.6f, "
               "\"train_accuracy\": %.6f, \"test_accuracy\": %.6f, \"test_loss\": %.6f, \"seconds\": %.3f, "
               "\"checkpoint\": \"%s\", \"epoch_seconds\": [",
               model_name, data, device_name(dev), epochs, train_loss, train_acc, ev.accuracy, ev.loss, total_seconds,
               out);
        for (int e = first_epoch; e < epochs; e++) printf("%s%.3f", e > first_epoch ? ", " : "", epoch_sec[e]);
        printf("], \"epoch_test_accuracy\": [");
        for (int e = first_epoch; e < epochs; e++) printf("%s%.6f", e > first_epoch ? ", " : "", epoch_acc[e]);
        printf("]");
        if (report_memory)
            printf(", \"memory\": {\"mallocs_step1\": %lld, \"mallocs_rest_of_first_epoch\": %lld, "
                   "\"mallocs_first_eval\": %lld, \"mallocs_later_epochs\": %lld, \"arena_high_water\": %zu, "
                   "\"arena_capacity\": %zu, \"arena_mallocs\": %d, \"workspace_bytes\": %zu, "
                   "\"none_after_first_step\": %s}",
                   (long long)mem[0], (long long)mem[1], (long long)mem[2], (long long)mem[3], ar->high_water,
                   ar->capacity, ar->n_mallocs, workspace_bytes(dev), mem[1] == 0 && mem[3] == 0 ? "true" : "false");
        printf("}\n");
    } else printf("test accuracy %.2f%%, checkpoint %s\n", 100 * ev.accuracy, out);
    free(epoch_sec);
    free(epoch_acc);
    free(pred);
    free(note);
    free(state_path);
    free(resume_state);
    loader_free(&loader);
    optim_free(opt);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    const char *model_name = NULL, *ckpt = NULL, *data = "fashion-mnist", *split = "test", *device = "cpu";
    int batch = 500, image_size = 0;
    bool json = false;
    const Opt opts[] = {
        {"ckpt", OPT_STR, &ckpt, "checkpoint (safetensors) to evaluate (required)"},
        {"model", OPT_STR, &model_name, "architecture, when the checkpoint does not say (PyTorch exports)"},
        {"data", OPT_STR, &data, "dataset spec (default fashion-mnist)"},
        {"split", OPT_STR, &split, "train | test (default test)"},
        {"batch", OPT_INT, &batch, "batch size (default 500)", OPT_RANGE(1, 65536)},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side (default 0: native)",
         OPT_RANGE(0, DATASET_MAX_SIDE)},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"json", OPT_FLAG, &json, "print JSON"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], "usage: nicex eval --ckpt F [--data D]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!ckpt) {
        fprintf(stderr, "nicex: eval needs --ckpt FILE\n");
        return 2;
    }
    Device dev;
    DataSplit sp;
    if (parse_device(device, &dev) != 0) return 2;
    if (dataset_split_parse(split, &sp) != 0) {
        fprintf(stderr, "nicex: --split: %s\n", nx_error_msg());
        return 2;
    }
    Dataset d;
    if (open_data(&d, data, sp, image_size, 0) != 0) return 1;
    Model m;
    if (model_load(&m, ckpt, model_name, d.n_classes, d.c, d.h, dev) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 1;
    }
    if (model_check_data(&m, ckpt, d.c, d.h, d.w, d.n_classes, data) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 2;
    }
    EvalResult r = eval_classifier(&m, &d, batch, NULL, NULL);
    if (json)
        printf("{\"checkpoint\": \"%s\", \"model\": \"%s\", \"data\": \"%s\", \"split\": \"%s\", \"n\": %lld, "
               "\"accuracy\": %.6f, \"loss\": %.6f}\n",
               ckpt, m.arch, data, split, (long long)r.n, r.accuracy, r.loss);
    else printf("%s on %s %s: accuracy %.2f%% (%lld images), loss %.4f\n", m.arch, data, split, 100 * r.accuracy,
                (long long)r.n, r.loss);
    model_free(&m);
    dataset_free(&d);
    return 0;
}

int cmd_summary(int argc, char **argv) {
    const char *model_name = "lenet5";
    int classes = 10, in_c = 0, size = 0;
    const Opt opts[] = {
        {"model", OPT_STR, &model_name, "lenet5 | vgg11 | resnet18 | resnet18-cifar"},
        {"classes", OPT_INT, &classes, "number of classes (default 10)", OPT_RANGE(1, MODEL_MAX_CLASSES)},
        {"channels", OPT_INT, &in_c, "input channels (default 0: the model's)", OPT_RANGE(0, MODEL_MAX_CHANNELS)},
        {"image-size", OPT_INT, &size, "input side (default 0: the model's)", OPT_RANGE(0, MODEL_MAX_SIDE)},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], "usage: nicex summary --model M");
    if (rc) return rc > 0 ? 0 : 2;
    Model m;
    rng_seed(0);
    if (model_create(&m, model_name, classes, in_c, size, NX_CPU) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 2;
    }
    model_summary(&m, stdout);
    model_free(&m);
    return 0;
}
