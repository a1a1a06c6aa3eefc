/* rtis.c: `nicex rtis train | eval`, the RTIS masking model (baselines/rtis.h). */
#include "baselines/rtis.h"
#include "cli/args.h"

#include <limits.h>
#include "cli/cli.h"
#include "data/image.h"
#include "eval/maps.h"
#include "eval/render.h"
#include "layers/checkpoint.h"
#include "optim/optim.h"
#include "tensor/progress.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
/* The shipped RTIS model for the shipped LeNet5 (docs/models.md says how it was made). */
#define SHIPPED_RTIS NX_MODELS_DIR "/rtis-lenet5-fashion-mnist.safetensors"


static int fail(const char *what) {
    fprintf(stderr, "nicex: %s%s%s\n", what ? what : "", what ? ": " : "", nx_error_msg());
    return 1;
}

static int parse_alt(const char *opt, const char *v, RtisAlt *out) {
    if (strcmp(v, "mixed") == 0) *out = RTIS_ALT_MIXED;
    else if (strcmp(v, "blur") == 0) *out = RTIS_ALT_BLUR;
    else if (strcmp(v, "noise") == 0) *out = RTIS_ALT_NOISE;
    else {
        fprintf(stderr, "nicex: --%s: '%s' is not mixed, blur or noise\n", opt, v);
        return -1;
    }
    return 0;
}

/* The classifier and the data must agree: one line naming both otherwise. */
static int check_fit(const Model *m, const Dataset *d, const char *classifier, const char *data) {
    if (m->n_classes != d->n_classes || m->in_c != d->c || m->in_h != d->h || m->in_w != d->w) {
        fprintf(stderr, "nicex: --classifier %s is %s for %d classes of %dx%dx%d images; --data %s has %d classes of %dx%dx%d\n",
                classifier, m->arch, m->n_classes, m->in_c, m->in_h, m->in_w, data, d->n_classes, d->c, d->h, d->w);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *out, *classifier, *data;
    RtisModel *r;
    Model *m;
    const RtisConfig *c;
} SaveCtx;

static int save_epoch(void *arg, int epoch, Optimizer *opt) {
    SaveCtx *s = arg;
    char state[1024];
    snprintf(state, sizeof state, "%s.state", s->out);
    TrainState st = {.epoch = epoch, .steps = opt ? opt->steps : 0, .seed = rng_get_seed(), .rng_offset = rng_offset()};
    if (rtis_save(s->out, s->r, s->m, s->c, s->classifier, s->data) != 0 ||
        (opt && train_state_save(state, opt, &st) != 0)) {
        fprintf(stderr, "nicex: saving %s: %s\n", s->out, nx_error_msg());
        return -1;
    }
    return 0;
}

/* ---- rtis train -------------------------------------------------------------- */

static int rtis_train_cmd(int argc, char **argv) {
    RtisConfig c = rtis_config_default(224, 1000);
    const char *classifier = NULL, *data = "fashion-mnist", *out = "rtis.safetensors", *device = "cpu",
               *resume = NULL, *target = "label", *alt = "mixed", *eval_alt = "blur";
    uint64_t seed = 0;
    int image_size = 0, blur_kernel = 0;
    float blur_sigma = 0, margin = 0;
    bool json = false;
    const Opt opts[] = {
        {"classifier", OPT_STR, &classifier, "checkpoint of the classifier to explain (required)"},
        {"data", OPT_STR, &data, "dataset spec (default fashion-mnist)"},
        {"selector-epochs", OPT_INT, &c.selector_epochs, "phase 1: epochs training the class selector (default 2)", OPT_RANGE(0, 100000)},
        {"epochs", OPT_INT, &c.epochs, "phase 2: epochs training the masking decoder (default 3)", OPT_RANGE(1, 100000)},
        {"selector-batch", OPT_INT, &c.selector_batch, "phase 1 batch size (default 128)", OPT_RANGE(1, 65536)},
        {"batch", OPT_INT, &c.batch, "phase 2 batch size (default 64)", OPT_RANGE(1, 65536)},
        {"lr", OPT_FLOAT, &c.lr, "Adam learning rate (default 1e-3)", OPT_POSITIVE(10)},
        {"weight-decay", OPT_FLOAT, &c.weight_decay, "Adam L2 weight decay (default 1e-4)", OPT_RANGE(0, 1)},
        {"selector-lr-step", OPT_INT, &c.selector_lr_step, "phase 1: lr / 10 every N steps (default 4000; 0: never)"},
        {"base", OPT_INT, &c.base, "upsampler base width (default 64)"},
        {"area", OPT_FLOAT, &c.area_coef, "weight of the area term (default 8)"},
        {"area-power", OPT_FLOAT, &c.area_power, "area = mean (m + 0.0005)^p (default 0.3)"},
        {"smooth", OPT_FLOAT, &c.smooth_coef, "weight of the smoothness term (default 0.005, saliency_train.py)"},
        {"border", OPT_FLOAT, &c.border_penalty, "smoothness border penalty (default 0.3)"},
        {"preserver", OPT_FLOAT, &c.preserver_coef, "weight of the preserver term (default 0.3)"},
        {"preserver-margin", OPT_FLOAT, &c.preserver_margin, "preserver hinge margin (default 1)"},
        {"destroyer-margin", OPT_FLOAT, &margin, "destroyer hinge margin (default clamp(5 ln K / ln 1000, 2, 5): 2 at 10 classes)"},
        {"fake-prob", OPT_FLOAT, &c.fake_prob, "phase 2 probability of a fake class selector (default 0.3)"},
        {"selector-fake-prob", OPT_FLOAT, &c.selector_fake_prob, "phase 1 probability of a fake selector (default 0.5)"},
        {"alt", OPT_STR, &alt, "training alternative image: mixed (default) | blur | noise"},
        {"blur-prob", OPT_FLOAT, &c.blur_prob, "mixed: probability of the blurred alternative (default 0.5)"},
        {"blur-sigma", OPT_FLOAT, &blur_sigma, "Gaussian blur sigma in pixels (default 11 * side / 224)"},
        {"blur-kernel", OPT_INT, &blur_kernel, "odd blur kernel size (default odd round(5 sigma))"},
        {"noise-std", OPT_FLOAT, &c.noise_std, "noise alternative: std (default 0.055 on [0,1] pixels)"},
        {"colour-range", OPT_FLOAT, &c.colour_range, "noise alternative: constant colour 0.5 +- range/2 (default 0.33)"},
        {"pixel-noise", OPT_FLOAT, &c.pixel_noise, "noise added to the image before masking (default 0.015)"},
        {"eval-alt", OPT_STR, &eval_alt, "alternative image of the metrics: blur (default) | noise | mixed"},
        {"target", OPT_STR, &target, "training class: label (default, the reference) | prediction (the classifier's)"},
        {"limit", OPT_INT, &c.limit, "use only the first N training images"},
        {"eval-limit", OPT_INT, &c.eval_limit, "per-epoch metrics on the first N test images (default all)"},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side"},
        {"seed", OPT_U64, &seed, "seed of every random draw (default 0)"},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"resume", OPT_STR, &resume, "continue from this RTIS file and its .state"},
        {"out", OPT_STR, &out, "where to save the masking model (default rtis.safetensors)"},
        {"json", OPT_FLAG, &json, "print the final statistics as JSON"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex rtis train --classifier CKPT [--data D] [--epochs E] [--out RTIS.safetensors] ...");
    if (rc) return rc > 0 ? 0 : 2;
    if (!classifier) {
        fprintf(stderr, "nicex: rtis train needs --classifier CKPT (e.g. from nicex train)\n");
        return 2;
    }
    if (c.epochs < 0 || c.selector_epochs < 0 || c.batch < 1 || c.selector_batch < 1 || c.base < 1) {
        fprintf(stderr, "nicex: --epochs/--selector-epochs must be >= 0, --batch/--selector-batch/--base positive\n");
        return 2;
    }
    if (blur_kernel < 0 || (blur_kernel > 0 && blur_kernel % 2 == 0)) {
        fprintf(stderr, "nicex: --blur-kernel %d must be odd and positive\n", blur_kernel);
        return 2;
    }
    if (strcmp(target, "label") == 0) c.target = RTIS_TARGET_LABEL;
    else if (strcmp(target, "prediction") == 0) c.target = RTIS_TARGET_PREDICTION;
    else {
        fprintf(stderr, "nicex: --target: '%s' is not label or prediction\n", target);
        return 2;
    }
    if (parse_alt("alt", alt, &c.alt) || parse_alt("eval-alt", eval_alt, &c.eval_alt)) return 2;
    c.quiet = json;
    Device dev;
    if (device_parse(device, &dev) != 0) return fail("--device");
    Dataset train, test;
    if (dataset_open(&train, data, DATA_TRAIN, image_size, seed) != 0) return fail("--data");
    if (dataset_open(&test, data, DATA_TEST, image_size, seed) != 0) return fail("--data");
    Model m;
    if (model_load(&m, classifier, NULL, train.n_classes, train.c, train.h, dev) != 0) return fail("--classifier");
    if (check_fit(&m, &train, classifier, data) != 0) return 2;
    RtisConfig d = rtis_config_default(train.h, m.n_classes);
    c.blur_sigma = blur_sigma > 0 ? blur_sigma : d.blur_sigma;
    c.blur_kernel = blur_kernel > 0 ? blur_kernel : blur_sigma > 0 ? ((int)lroundf(5 * blur_sigma) | 1) : d.blur_kernel;
    c.destroyer_margin = margin > 0 ? margin : d.destroyer_margin;
    rng_seed(seed);
    RtisModel r;
    char state[1024];
    if (resume) {
        bool differ = false;
        if (rtis_load(resume, &r, &m, NULL, &differ) != 0) return fail("--resume");
        if (r.base != c.base) {
            fprintf(stderr, "nicex: --resume %s has base width %d, not --base %d\n", resume, r.base, c.base);
            return 2;
        }
        if (differ) {
            fprintf(stderr, "nicex: --resume %s was trained against other weights than --classifier %s\n", resume, classifier);
            return 2;
        }
        snprintf(state, sizeof state, "%s.state", resume);
    } else if (rtis_create(&r, &m, c.base) != 0) return fail(NULL);
    if (!json)
        printf("RTIS: masking model (%d upsampler blocks, mask %dx%d -> %dx%d, %lld parameters) explaining %s on %s; "
               "area %g smooth %g preserver %g destroyer margin %g blur sigma %g (kernel %d)%s\n",
               r.n_up, r.mask_hw, r.mask_hw, m.in_h, m.in_w, (long long)params_count(&r.params, false), m.arch, data,
               c.area_coef, c.smooth_coef, c.preserver_coef, c.destroyer_margin, c.blur_sigma, c.blur_kernel,
               resume ? ", resumed" : "");
    SaveCtx ctx = {out, classifier, data, &r, &m, &c};
    RtisStats s;
    double t0 = now_seconds();
    if (rtis_train(&r, &m, &train, &test, &c, resume ? state : NULL, save_epoch, &ctx, &s) != 0) return fail(NULL);
    if (c.epochs + c.selector_epochs == 0 && save_epoch(&ctx, 0, NULL) != 0) return 1;
    double seconds = now_seconds() - t0;
    if (json)
        printf("{\"out\": \"%s\", \"preservation\": %.6f, \"destruction\": %.6f, \"area\": %.6f, \"n\": %lld, "
               "\"loss\": %.6f, \"destroyer\": %.6f, \"area_loss\": %.6f, \"smooth\": %.6f, \"preserver\": %.6f, "
               "\"seconds\": %.1f}\n",
               out, s.preservation, s.destruction, s.area, (long long)s.n, s.loss.total, s.loss.destroyer, s.loss.area,
               s.loss.smooth, s.loss.preserver, seconds);
    else
        printf("saved %s (test: preservation %.2f%%, destruction %.2f%%, mean area %.3f; %.0f s)\n", out,
               100 * s.preservation, 100 * s.destruction, s.area, seconds);
    rtis_free(&r);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}

/* ---- rtis eval ---------------------------------------------------------------- */

static int rtis_eval_cmd(int argc, char **argv) {
    const char *path = NULL, *classifier = NULL, *data = "fashion-mnist", *split = "test", *device = "cpu",
               *alt = "blur";
    int n = 0, batch = 500, image_size = 0;
    uint64_t seed = 0;
    bool json = false;
    const Opt opts[] = {
        {"rtis", OPT_STR, &path, "RTIS file (default: the shipped LeNet5 one)"},
        {"classifier", OPT_STR, &classifier, "classifier checkpoint (default: the one the RTIS file names)"},
        {"data", OPT_STR, &data, "dataset spec (default fashion-mnist)"},
        {"split", OPT_STR, &split, "train | test (default test)"},
        {"n", OPT_INT, &n, "first N images (default 0: all)", OPT_RANGE(0, INT_MAX)},
        {"batch", OPT_INT, &batch, "batch size (default 500)", OPT_RANGE(1, 65536)},
        {"alt", OPT_STR, &alt, "alternative image: blur (default, deterministic) | noise | mixed"},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side"},
        {"seed", OPT_U64, &seed, "seed of the noise alternatives (default 0)"},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"json", OPT_FLAG, &json, "print JSON"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex rtis eval [--rtis RTIS.safetensors] [--classifier CKPT] [--data D] [--json]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!path) path = SHIPPED_RTIS;
    if (batch < 1) {
        fprintf(stderr, "nicex: --batch %d must be positive\n", batch);
        return 2;
    }
    RtisConfig c;
    RtisAlt a;
    if (parse_alt("alt", alt, &a)) return 2;
    Device dev;
    DataSplit sp;
    if (device_parse(device, &dev) != 0) return fail("--device");
    if (dataset_split_parse(split, &sp) != 0) return fail("--split");
    char cfile[1024];
    if (!classifier) {
        if (rtis_classifier_file(path, cfile, sizeof cfile) != 0) return fail("--rtis");
        classifier = cfile;
    }
    Dataset d;
    if (dataset_open(&d, data, sp, image_size, seed) != 0) return fail("--data");
    Model m;
    if (model_load(&m, classifier, NULL, d.n_classes, d.c, d.h, dev) != 0) return fail("--classifier");
    if (check_fit(&m, &d, classifier, data) != 0) return 2;
    RtisModel r;
    bool differ = false;
    if (rtis_load(path, &r, &m, &c, &differ) != 0) return fail("--rtis");
    if (differ) fprintf(stderr, "nicex: warning: %s was trained against other weights than %s\n", path, classifier);
    c.eval_alt = a;
    rng_seed(seed);
    double t0 = now_seconds();
    RtisStats s = rtis_evaluate(&r, &m, &d, &c, batch, n);
    double seconds = now_seconds() - t0;
    if (json)
        printf("{\"rtis\": \"%s\", \"classifier\": \"%s\", \"data\": \"%s\", \"split\": \"%s\", \"alt\": \"%s\", \"n\": %lld, "
               "\"preservation\": %.6f, \"destruction\": %.6f, \"area\": %.6f, \"seconds\": %.2f}\n",
               path, classifier, data, split, alt, (long long)s.n, s.preservation, s.destruction, s.area, seconds);
    else
        printf("%s on %s %s (%lld images, alternative %s): preservation %.2f%%, destruction %.2f%%, mean mask area %.4f\n",
               path, data, split, (long long)s.n, alt, 100 * s.preservation, 100 * s.destruction, s.area);
    rtis_free(&r);
    model_free(&m);
    dataset_free(&d);
    return 0;
}

/* ---- rtis explain ------------------------------------------------------------ */

static int write_png(const char *dir, const char *name, const uint8_t *px, int h, int w) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (png_write(path, px, h, w, 3, NULL) != 0) return fail(NULL);
    return 0;
}

/* nicex rtis explain, also `nicex explain --method rtis`: the masks of the
 * first n images for the classifier's predictions (or the labels), one
 * forward of the masking model per batch, as maps.safetensors + PNGs. */
int rtis_explain_cmd(int argc, char **argv) {
    const char *path = NULL, *classifier = NULL, *data = "fashion-mnist", *split = "test", *device = "cpu",
               *out = "explain", *target = "prediction";
    int n = 16, batch = 100, cols = 8, image_size = 0;
    bool json = false, no_png = false;
    const Opt opts[] = {
        {"rtis", OPT_STR, &path, "RTIS file (default: the shipped LeNet5 one)"},
        {"classifier", OPT_STR, &classifier, "classifier checkpoint (default: the one the RTIS file names)"},
        {"data", OPT_STR, &data, "dataset spec (default fashion-mnist)"},
        {"split", OPT_STR, &split, "train | test (default test)"},
        {"n", OPT_INT, &n, "number of images, from the first (default 16; 0: all)", OPT_RANGE(0, INT_MAX)},
        {"batch", OPT_INT, &batch, "images per forward pass (default 100)", OPT_RANGE(1, 65536)},
        {"target", OPT_STR, &target, "class to explain: prediction (default) | label"},
        {"cols", OPT_INT, &cols, "images per row of the grid (default 8)"},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side"},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"out", OPT_STR, &out, "output folder (default explain/)"},
        {"no-png", OPT_FLAG, &no_png, "write maps.safetensors only"},
        {"json", OPT_FLAG, &json, "print a JSON summary"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex rtis explain [--rtis RTIS.safetensors] [--classifier CKPT] [--data D] [--n N] [--out DIR]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!path) path = SHIPPED_RTIS;
    bool by_label = false;
    if (strcmp(target, "label") == 0) by_label = true;
    else if (strcmp(target, "prediction") != 0) {
        fprintf(stderr, "nicex: --target: '%s' is not prediction or label\n", target);
        return 2;
    }
    if (batch < 1 || n < 0 || cols < 1) {
        fprintf(stderr, "nicex: --batch and --cols must be positive, --n >= 0\n");
        return 2;
    }
    Device dev;
    DataSplit sp;
    if (device_parse(device, &dev) != 0) return fail("--device");
    if (dataset_split_parse(split, &sp) != 0) return fail("--split");
    char cfile[1024];
    if (!classifier) {
        if (rtis_classifier_file(path, cfile, sizeof cfile) != 0) return fail("--rtis");
        classifier = cfile;
    }
    Dataset d;
    if (dataset_open(&d, data, sp, image_size, 0) != 0) return fail("--data");
    Model m;
    if (model_load(&m, classifier, NULL, d.n_classes, d.c, d.h, dev) != 0) return fail("--classifier");
    if (check_fit(&m, &d, classifier, data) != 0) return 2;
    RtisModel r;
    bool differ = false;
    if (rtis_load(path, &r, &m, NULL, &differ) != 0) return fail("--rtis");
    if (differ) fprintf(stderr, "nicex: warning: %s was trained against other weights than %s\n", path, classifier);
    if (n == 0 || n > d.n) n = (int)d.n;
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "nicex: cannot create folder %s: %s\n", out, strerror(errno));
        return 1;
    }
    int C = d.c, H = d.h, W = d.w, h = r.mask_hw;
    MapsFile mf;
    maps_alloc(&mf, n, H, W, h, h);
    float *x = nx_malloc(sizeof(float) * (size_t)batch * C * H * W);
    int32_t *cls = nx_malloc(sizeof(int32_t) * (size_t)batch);
    double t0 = now_seconds(), area = 0;
    for (int start = 0; start < n; start += batch) {
        int b = n - start < batch ? n - start : batch;
        nx_step_reset();
        for (int i = 0; i < b; i++) {
            dataset_get_float(&d, start + i, x + (size_t)i * C * H * W, NULL, NULL);
            cls[i] = d.labels[start + i];
        }
        if (rtis_explain(mf.maps + (size_t)start * H * W, mf.native + (size_t)start * h * h, mf.target + start, &r, &m,
                         x, b, by_label ? cls : NULL) != 0)
            return fail(NULL);
        for (int i = 0; i < b; i++) {
            mf.index[start + i] = start + i;
            mf.label[start + i] = d.labels[start + i];
            if (by_label) mf.target[start + i] = cls[i];
        }
    }
    nx_step_reset();
    double seconds = now_seconds() - t0;
    for (int64_t i = 0; i < (int64_t)n * H * W; i++) area += mf.maps[i];
    area /= (double)n * H * W;
    char buf[32];
    maps_set_meta(&mf, "method", "rtis");
    maps_set_meta(&mf, "rtis", path);
    maps_set_meta(&mf, "classifier", classifier);
    maps_set_meta(&mf, "data", data);
    maps_set_meta(&mf, "split", dataset_split_name(sp));
    maps_set_meta(&mf, "target", target);
    snprintf(buf, sizeof buf, "%d", h);
    maps_set_meta(&mf, "native_size", buf);
    char maps_path[1024];
    snprintf(maps_path, sizeof maps_path, "%s/maps.safetensors", out);
    if (maps_save(maps_path, &mf) != 0) return fail(NULL);
    if (!no_png) {
        int shown = n < 64 ? n : 64;
        uint8_t **tiles = nx_calloc((size_t)3 * shown, sizeof *tiles);
        for (int i = 0; i < shown; i++) {
            float *xi = x; /* re-read: x holds the last batch only */
            dataset_get_float(&d, i, xi, NULL, NULL);
            const float *mi = mf.maps + (size_t)i * H * W;
            for (int k = 0; k < 3; k++) tiles[3 * i + k] = nx_malloc((size_t)H * W * 3);
            render_image(tiles[3 * i], xi, C, H, W, 1);
            render_heatmap(tiles[3 * i + 1], mi, H, W);
            render_overlay(tiles[3 * i + 2], xi, mi, C, H, W);
            const char *kind[3] = {"input", "mask", "overlay"};
            for (int k = 0; k < 3; k++) {
                char name[64];
                snprintf(name, sizeof name, "%04d_%s.png", i, kind[k]);
                if (write_png(out, name, tiles[3 * i + k], H, W) != 0) return 1;
            }
        }
        Picture grid = grid_compose((const uint8_t *const *)tiles, 3 * shown, H, W, 3 * (cols < shown ? cols : shown),
                                    H < 64 ? 3 : 1);
        if (write_png(out, "grid.png", grid.pixels, grid.h, grid.w) != 0) return 1;
        for (int i = 0; i < 3 * shown; i++) free(tiles[i]);
        free(tiles);
        free(grid.pixels);
    }
    if (json)
        printf("{\"method\": \"rtis\", \"n\": %d, \"out\": \"%s\", \"maps\": \"%s\", \"mean_area\": %.6f, \"seconds\": %.3f}\n",
               n, out, maps_path, area, seconds);
    else
        printf("wrote %d RTIS masks to %s (maps.safetensors%s); mean mask area %.3f, %.1f ms per image\n", n, out,
               no_png ? "" : ", grid.png, NNNN_{input,mask,overlay}.png", area, 1000 * seconds / n);
    maps_free(&mf);
    free(x), free(cls);
    rtis_free(&r);
    model_free(&m);
    dataset_free(&d);
    return 0;
}

int cmd_rtis(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return rtis_train_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "eval") == 0) return rtis_eval_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "explain") == 0) return rtis_explain_cmd(argc - 1, argv + 1);
    fprintf(stderr, "usage: nicex rtis train | eval | explain [options] (each takes --help)\n");
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) ? 0 : 2;
}
