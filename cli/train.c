/* train.c: `nicex train`, `nicex eval` and `nicex summary`. */
#include "cli/args.h"
#include "cli/cli.h"
#include "tensor/progress.h"
#include "data/loader.h"
#include "eval/accuracy.h"
#include "layers/train.h"
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

/* What cmd_train prints as the library's training loop (layers/train.h) runs. */
typedef struct {
    const char *out, *resume;
    bool json;
    char *note; /* the last good checkpoint, for the interrupt handler and the error lines */
    size_t note_cap;
    double *epoch_sec, *epoch_acc; /* (epochs) */
} TrainPrinter;

static void on_train_event(void *ctx, const TrainEvent *e) {
    TrainPrinter *tp = ctx;
    switch (e->kind) {
    case TRAIN_EV_RESUMED:
        if (!tp->json) printf("resumed from %s after epoch %d\n", tp->resume, e->epoch);
        break;
    case TRAIN_EV_START: /* the checkpoint that is good now: --resume's (when it is also --out) or none yet */
        last_good_note(tp->note, tp->note_cap, tp->resume != NULL, tp->resume ? tp->resume : tp->out, e->epoch, tp->out);
        interrupt_set_note(tp->note);
        interrupt_install(true); /* a signal stops the loop between steps, never inside a save */
        break;
    case TRAIN_EV_BATCH:
        if (!tp->json) {
            printf("%s batch %lld/%lld  %s  %.0f s\n", e->label, (long long)e->batch, (long long)e->batches,
                   e->status, e->seconds);
            fflush(stdout);
        }
        break;
    case TRAIN_EV_EPOCH:
        tp->epoch_sec[e->epoch] = e->seconds, tp->epoch_acc[e->epoch] = e->test.accuracy;
        last_good_note(tp->note, tp->note_cap, true, tp->out, e->epoch + 1, tp->out);
        interrupt_set_note(tp->note);
        if (!tp->json)
            printf("epoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  lr %.3g  %.1f s (%.0f img/s)\n",
                   e->epoch + 1, e->epochs, e->train_loss, 100 * e->train_accuracy, 100 * e->test.accuracy, e->lr,
                   e->seconds, e->seen / e->seconds);
        fflush(stdout);
        break;
    }
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
        {"data", OPT_STR, &data,
         "fashion-mnist | mnist:DIR | cifar10:DIR | folder:DIR | synthetic:N:CxHxW:K (default fashion-mnist)"},
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
    TrainConfig tc = train_config_default();
    if (lr_schedule_parse_or(schedule, step_size, gamma, epochs, &tc.schedule) != 0) {
        fprintf(stderr, "nicex: --schedule: %s\n", nx_error_msg());
        return 2;
    }
    char *state_path = str_cat(out, ".state");
    if (check_out_path("out", out) != 0 || check_out_path("out", state_path) != 0) return 2;

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
    if (optim_kind_parse(opt_name, &tc.opt) != 0) {
        fprintf(stderr, "nicex: --opt: %s\n", nx_error_msg());
        return 2;
    }
    tc.epochs = epochs, tc.batch = batch, tc.lr = lr, tc.momentum = momentum, tc.weight_decay = wd;
    tc.warmup = warmup, tc.augment = augment, tc.rrc = rrc, tc.rrc_scale = rrc_scale, tc.seed = seed;
    tc.out = out, tc.resume = resume, tc.dataset_name = data, tc.no_nan_check = no_nan_check;
    tc.log_every = json ? 0 : log_every;
    tc.stop = &interrupt_pending;
    size_t note_cap = 2 * strlen(out) + (resume ? 2 * strlen(resume) : 0) + 128;
    TrainPrinter tp = {.out = out, .resume = resume, .json = json, .note = nx_malloc(note_cap), .note_cap = note_cap,
                       .epoch_sec = nx_calloc((size_t)epochs, sizeof(double)),
                       .epoch_acc = nx_calloc((size_t)epochs, sizeof(double))};
    tc.on_event = on_train_event, tc.ctx = &tp;
    TrainResult r;
    const char *note = tp.note;
    switch (train_classifier(&m, &train, &test, &tc, &r)) {
    case TRAIN_OK: break;
    case TRAIN_ERR_RESUME: fprintf(stderr, "nicex: --resume: %s\n", nx_error_msg()); return 1;
    case TRAIN_ERR_RESUME_NORMALIZE:
        fprintf(stderr, "nicex: --resume: %s: its input normalisation (%s) differs from --normalize: pass the run's "
                        "--normalize again\n", resume, r.resume_normalize);
        return 2;
    case TRAIN_ERR_DATA: fprintf(stderr, "nicex: %s\n", nx_error_msg()); return 1;
    case TRAIN_ERR_SAVE: fprintf(stderr, "nicex: saving the checkpoint: %s\n", nx_error_msg()); return 1;
    case TRAIN_DIVERGED:
        if (r.bad_param)
            fprintf(stderr, "nicex: parameter '%s' is not finite after epoch %d (step %lld, mean loss %g): "
                            "training diverged; %s\n",
                    r.bad_param, r.stop_epoch + 1, (long long)r.stop_step, r.stop_loss, note);
        else
            fprintf(stderr, "nicex: the loss is %g at step %lld (epoch %d, batch %lld): training diverged "
                            "(try a smaller --lr); %s\n",
                    r.stop_loss, (long long)r.stop_step, r.stop_epoch + 1, (long long)r.stop_batch, note);
        return 1;
    case TRAIN_STOPPED:
        if (r.stop_batch > 0)
            fprintf(stderr, "nicex: %s at step %lld (epoch %d): stopped; %s\n", interrupt_signal_name(r.signal),
                    (long long)r.stop_step, r.stop_epoch + 1, note);
        else
            fprintf(stderr, "nicex: %s after epoch %d: stopped; %s\n", interrupt_signal_name(r.signal),
                    r.stop_epoch + 1, note);
        return 128 + r.signal;
    }
    interrupt_install(false);
    const int first_epoch = r.first_epoch;
    const int64_t *mem = r.mallocs;
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
               model_name, data, device_name(dev), epochs, r.train_loss, r.train_accuracy, r.test.accuracy,
               r.test.loss, r.seconds, out);
        for (int e = first_epoch; e < epochs; e++) printf("%s%.3f", e > first_epoch ? ", " : "", tp.epoch_sec[e]);
        printf("], \"epoch_test_accuracy\": [");
        for (int e = first_epoch; e < epochs; e++) printf("%s%.6f", e > first_epoch ? ", " : "", tp.epoch_acc[e]);
        printf("]");
        if (report_memory)
            printf(", \"memory\": {\"mallocs_step1\": %lld, \"mallocs_rest_of_first_epoch\": %lld, "
                   "\"mallocs_first_eval\": %lld, \"mallocs_later_epochs\": %lld, \"arena_high_water\": %zu, "
                   "\"arena_capacity\": %zu, \"arena_mallocs\": %d, \"workspace_bytes\": %zu, "
                   "\"none_after_first_step\": %s}",
                   (long long)mem[0], (long long)mem[1], (long long)mem[2], (long long)mem[3], ar->high_water,
                   ar->capacity, ar->n_mallocs, workspace_bytes(dev), mem[1] == 0 && mem[3] == 0 ? "true" : "false");
        printf("}\n");
    } else printf("test accuracy %.2f%%, checkpoint %s\n", 100 * r.test.accuracy, out);
    free(tp.epoch_sec);
    free(tp.epoch_acc);
    free(tp.note);
    free(state_path);
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
