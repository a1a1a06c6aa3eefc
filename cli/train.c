/* train.c: `nicex train`, `nicex eval` and `nicex summary`. */
#include "cli/args.h"
#include "cli/cli.h"
#include "tensor/progress.h"
#include "data/loader.h"
#include "eval/accuracy.h"
#include "layers/checkpoint.h"
#include "tensor/safetensors.h"
#include "tensor/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    bool augment = false, json = false;
    const char *normalize = "none";
    int log_every = 0, warmup = 0;
    bool rrc = false;
    float rrc_scale = 0.08f;
    const Opt opts[] = {
        {"model", OPT_STR, &model_name, "lenet5 | vgg11 | resnet18 | resnet18-cifar (default lenet5)"},
        {"data", OPT_STR, &data, "fashion-mnist | mnist:DIR | cifar10:DIR | folder:DIR (default fashion-mnist)"},
        {"epochs", OPT_INT, &epochs, "epochs (default 10)"},
        {"batch", OPT_INT, &batch, "batch size (default 100)"},
        {"opt", OPT_STR, &opt_name, "sgd | adam | adamw (default adam)"},
        {"lr", OPT_FLOAT, &lr, "learning rate (default 1e-3)"},
        {"momentum", OPT_FLOAT, &momentum, "SGD momentum (default 0.9)"},
        {"wd", OPT_FLOAT, &wd, "weight decay (default 0; adamw: 0.01 if not given)"},
        {"schedule", OPT_STR, &schedule, "step | cosine | constant | step:N:G | cosine:T[:MIN] (default step)"},
        {"step-size", OPT_INT, &step_size, "epochs between lr drops for --schedule step (default 5)"},
        {"gamma", OPT_FLOAT, &gamma, "lr factor for --schedule step (default 0.1)"},
        {"augment", OPT_FLAG, &augment, "random crop (pad 4) and horizontal flip"},
        {"rrc", OPT_FLAG, &rrc, "random-resized crop (torchvision's, ratio 3/4..4/3) and horizontal flip"},
        {"rrc-scale", OPT_FLOAT, &rrc_scale, "smallest area fraction of --rrc (default 0.08)"},
        {"normalize", OPT_STR, &normalize, "inside the model: none | cifar10 | imagenet | data | M1,M2,M3/S1,S2,S3 (default none)"},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side (default: native)"},
        {"limit", OPT_INT, &limit, "use only the first N training images (quick runs)"},
        {"seed", OPT_U64, &seed, "seed of every random draw (default 0)"},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N (default cpu)"},
        {"out", OPT_STR, &out, "checkpoint path (default model.safetensors; state in <out>.state)"},
        {"resume", OPT_STR, &resume, "continue from this checkpoint and its .state file"},
        {"json", OPT_FLAG, &json, "print a JSON summary at the end"},
        {"warmup", OPT_INT, &warmup, "linear lr warmup over the first N steps: lr x (k+1)/N at step k (default 0: off)"},
        {"log-every", OPT_INT, &log_every, "also print a status line every N batches, for logs (default 0: off)"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex train [--model M] [--data D] [options]");
    if (rc) return rc > 0 ? 0 : 2;
    Device dev;
    if (parse_device(device, &dev) != 0) return 2;
    LrSchedule sched;
    char sched_text[64];
    if (strcmp(schedule, "step") == 0) snprintf(sched_text, sizeof sched_text, "step:%d:%g", step_size, gamma);
    else if (strcmp(schedule, "cosine") == 0) snprintf(sched_text, sizeof sched_text, "cosine:%d", epochs);
    else snprintf(sched_text, sizeof sched_text, "%s", schedule);
    if (lr_schedule_parse(sched_text, &sched) != 0) {
        fprintf(stderr, "nicex: --schedule: %s\n", nx_error_msg());
        return 2;
    }
    if (warmup < 0) {
        fprintf(stderr, "nicex: --warmup: %d steps, expected 0 or more\n", warmup);
        return 2;
    }
    if (epochs < 1 || batch < 1) {
        fprintf(stderr, "nicex: --epochs and --batch must be positive\n");
        return 2;
    }

    Dataset train, test;
    if (open_data(&train, data, DATA_TRAIN, image_size, seed) != 0) return 1;
    if (open_data(&test, data, DATA_TEST, image_size, seed) != 0) return 1;
    if (limit > 0 && limit < train.n) train.n = limit;
    if (!json) {
        printf("%s\n", dataset_describe(&train)); /* one call each: a static buffer */
        printf("%s\n", dataset_describe(&test));
    }

    rng_seed(seed);
    Model m;
    if (model_create(&m, model_name, train.n_classes, train.c, train.h, dev) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
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
        char state_path[1024];
        snprintf(state_path, sizeof state_path, "%s.state", resume);
        if (safetensors_load_params(resume, &m.params, false) != 0 || train_state_load(state_path, opt, &st) != 0) {
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
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)batch);
    EvalResult ev = {0};
    double train_loss = 0, train_acc = 0, total_seconds = 0;
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
        }
        nx_step_reset();
        progress_end(&p);
        double seconds = now_seconds() - p.t0;
        total_seconds += seconds;
        train_loss = loss_sum / (double)seen;
        train_acc = correct / (double)seen;
        ev = eval_classifier(&m, &test, batch > 500 ? batch : 500, NULL, NULL);
        st.epoch = epoch + 1;
        st.steps = opt->steps;
        st.rng_offset = rng_offset();
        char state_path[1024];
        snprintf(state_path, sizeof state_path, "%s.state", out);
        const char *meta[] = {"dataset", data, "epochs", label};
        if (model_save(&m, out, 2, meta) != 0 || train_state_save(state_path, opt, &st) != 0) {
            fprintf(stderr, "nicex: saving the checkpoint: %s\n", nx_error_msg());
            return 1;
        }
        if (!json)
            printf("epoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  lr %.3g  %.1f s (%.0f img/s)\n",
                   epoch + 1, epochs, train_loss, 100 * train_acc, 100 * ev.accuracy, optim_lr(opt), seconds,
                   seen / seconds);
        fflush(stdout);
    }
    if (json)
        printf("{\"model\": \"%s\", \"data\": \"%s\", \"epochs\": %d, \"train_loss\": %.6f, \"train_accuracy\": %.6f, "
               "\"test_accuracy\": %.6f, \"test_loss\": %.6f, \"seconds\": %.3f, \"checkpoint\": \"%s\"}\n",
               model_name, data, epochs, train_loss, train_acc, ev.accuracy, ev.loss, total_seconds, out);
    else printf("test accuracy %.2f%%, checkpoint %s\n", 100 * ev.accuracy, out);
    free(pred);
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
        {"batch", OPT_INT, &batch, "batch size (default 500)"},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side"},
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
        {"classes", OPT_INT, &classes, "number of classes (default 10)"},
        {"channels", OPT_INT, &in_c, "input channels (default: the model's)"},
        {"image-size", OPT_INT, &size, "input side (default: the model's)"},
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
