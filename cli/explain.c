/* explain.c: `nicex explain --method M`, one command for every explanation method.
 *
 *   nicex explain --method saliency|cam|gradcam|ig|mask|igos|nice|random|intensity
 *                 --classifier CKPT [--data D] [--split test] [--first K] [--n N]
 *                 [--target predicted|label|C] [--seed S] [--device D] --out DIR [--json]
 *                 [method options, from the method table in baselines/]
 *
 * Writes DIR/maps.safetensors (eval/maps.h: maps, index, target, label,
 * native; metadata: method, every option's value, classifier, data, split,
 * seed), DIR/grid.png (per image: input, heatmap, overlay, with the target's
 * and the prediction's class names) and DIR/NNNN_{input,heatmap,overlay}.png.
 * --json prints {method, n, seconds, images_per_s, out}.
 * User errors (a bad flag or value, a method that cannot work on the model)
 * print one line naming the flag and exit 2; unreadable files exit 1.
 */
#include "baselines/baselines.h"
#include "cli/cli.h"
#include "data/dataset.h"
#include "data/image.h"
#include "eval/accuracy.h"
#include "eval/maps.h"
#include "eval/render.h"
#include "eval/text.h"
#include "layers/checkpoint.h"
#include "tensor/progress.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif

typedef struct {
    const char *method, *classifier, *data, *split, *target, *device, *out;
    int first, n, cols, image_size;
    uint64_t seed;
    bool json, help;
} Common;

/* The common flags: name, whether it takes a value, help. */
static const struct {
    const char *name;
    bool has_value;
    const char *help;
} common_flags[] = {
    {"method", true, "the method (see below; required)"},
    {"classifier", true, "classifier checkpoint (required; --method nice: the shipped LeNet5)"},
    {"data", true, "dataset spec (default fashion-mnist)"},
    {"split", true, "train | test (default test)"},
    {"first", true, "index of the first image in the split (default 0)"},
    {"n", true, "number of images (default 16)"},
    {"target", true, "class explained: predicted (default) | label | a class number"},
    {"seed", true, "seed of every random draw (default 0)"},
    {"device", true, "cpu | cuda | cuda:N (default cpu)"},
    {"image-size", true, "resize folder images to this side"},
    {"cols", true, "images per row of grid.png (default 4)"},
    {"out", true, "output folder (required)"},
    {"json", false, "print a JSON summary"},
    {"help", false, "this help (with --method: that method's options only)"},
};

static int usage_error(void) {
    fprintf(stderr, "nicex: explain: %s\n", nx_error_msg());
    return 2;
}

static int parse_int(const char *flag, const char *v, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || end == v || errno || x < lo || x > hi) {
        nx_error_set("--%s: '%s' is not an integer from %ld to %ld", flag, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int set_common(Common *c, const char *name, const char *v) {
    if (strcmp(name, "method") == 0) c->method = v;
    else if (strcmp(name, "classifier") == 0) c->classifier = v;
    else if (strcmp(name, "data") == 0) c->data = v;
    else if (strcmp(name, "split") == 0) c->split = v;
    else if (strcmp(name, "target") == 0) c->target = v;
    else if (strcmp(name, "device") == 0) c->device = v;
    else if (strcmp(name, "out") == 0) c->out = v;
    else if (strcmp(name, "first") == 0) return parse_int(name, v, 0, 2000000000L, &c->first);
    else if (strcmp(name, "n") == 0) return parse_int(name, v, 1, 2000000000L, &c->n);
    else if (strcmp(name, "cols") == 0) return parse_int(name, v, 1, 1000, &c->cols);
    else if (strcmp(name, "image-size") == 0) return parse_int(name, v, 0, 4096, &c->image_size);
    else if (strcmp(name, "seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (*end || end == v || errno || v[0] == '-') {
            nx_error_set("--seed: '%s' is not a non-negative integer", v);
            return -1;
        }
        c->seed = s;
    }
    return 0;
}

static void print_method_help(const BaselineMethod *bm) {
    printf("\n--method %s: %s\n", bm->name, bm->summary);
    void *o28 = nx_calloc(1, bm->opts_size), *o224 = nx_calloc(1, bm->opts_size);
    bm->defaults(o28, 28), bm->defaults(o224, 224);
    for (int i = 0; i < bm->n_options; i++) {
        const BaselineOption *op = &bm->options[i];
        char left[64], def[96];
        snprintf(left, sizeof left, "--%s %s", op->name, op->type == BO_CHOICE ? op->choices : op->type == BO_STR ? "S" : op->type == BO_BOOL ? "on|off" : "N");
        const char *a = baseline_option_str(op, o28), *b = baseline_option_str(op, o224);
        if (strcmp(a, b) == 0) snprintf(def, sizeof def, "[%s]", a);
        else snprintf(def, sizeof def, "[%s at 28x28, %s at 224x224]", a, b);
        printf("  %-34s %s %s\n", left, op->help, def);
    }
    free(o28), free(o224);
}

static void print_help(const BaselineMethod *only) {
    printf("usage: nicex explain --method %s --classifier CKPT [--data D] [--split test] [--first K] [--n N]\n"
           "                     [--target predicted|label|C] [--seed S] [--device D] --out DIR [--json] [method options]\n\n"
           "Writes DIR/maps.safetensors (maps (N,H,W), index, target, label, native; eval/maps.h), DIR/grid.png\n"
           "and DIR/NNNN_{input,heatmap,overlay}.png. docs/baselines.md describes every method.\n\noptions:\n",
           baseline_names());
    for (size_t i = 0; i < sizeof common_flags / sizeof common_flags[0]; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", common_flags[i].name, common_flags[i].has_value ? " S" : "");
        printf("  %-34s %s\n", left, common_flags[i].help);
    }
    printf("\nmethod options (defaults in brackets; constants given for 224x224 in the papers are scaled by side/224):\n");
    for (int i = 0; baseline_methods[i]; i++)
        if (!only || only == baseline_methods[i]) print_method_help(baseline_methods[i]);
}

/* mkdir -p */
static int make_dir(const char *dir) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) break;
            *p = '/';
        }
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "nicex: --out: cannot create folder %s: %s\n", dir, strerror(errno));
    return -1;
}

/* Class names for the grid: the dataset's, else numbers. */
static const char *class_name(const Dataset *d, int k, char *buf, size_t cap) {
    if (d->class_names && k >= 0 && k < d->n_classes && d->class_names[k]) return d->class_names[k];
    snprintf(buf, cap, "%d", k);
    return buf;
}

/* grid.png: per image a caption line, then input | heatmap | overlay. */
static int write_grid(const char *path, uint8_t *const *tiles, int n, int ts, int cols, const Dataset *d,
                      const int32_t *target, const int32_t *pred, const char *method) {
    const int gap = 4, pad = 6, ts3 = 3 * ts + 2 * 2, cap_h = text_height(1) + 6, title_h = text_height(2) + 10;
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int cw = ts3 + 2 * pad, ch = cap_h + ts + pad;
    int W = cols * cw + gap, H = title_h + rows * ch + gap;
    uint8_t *px = nx_malloc((size_t)W * H * 3);
    memset(px, 255, (size_t)W * H * 3);
    const uint8_t black[3] = {0, 0, 0}, red[3] = {190, 20, 20};
    char title[128];
    snprintf(title, sizeof title, "%s: input, heatmap, overlay", method);
    text_draw(px, H, W, gap + 2, 5, title, 2, black);
    for (int i = 0; i < n; i++) {
        int x0 = gap + (i % cols) * cw + pad, y0 = title_h + (i / cols) * ch;
        char a[32], b[32], cap[160];
        snprintf(cap, sizeof cap, "%d T:%s P:%s", i, class_name(d, target[i], a, sizeof a), class_name(d, pred[i], b, sizeof b));
        text_draw(px, H, W, x0, y0 + 2, cap, 1, target[i] == pred[i] ? black : red);
        for (int k = 0; k < 3; k++) {
            const uint8_t *t = tiles[3 * i + k];
            int tx = x0 + k * (ts + 2), ty = y0 + cap_h;
            for (int y = 0; y < ts; y++) memcpy(px + ((size_t)(ty + y) * W + tx) * 3, t + (size_t)y * ts * 3, (size_t)ts * 3);
        }
    }
    int rc = png_write(path, px, H, W, 3, NULL);
    free(px);
    return rc;
}

/* Nearest-neighbour upscale of an (h, w, 3) picture by s. */
static uint8_t *upscale(const uint8_t *src, int h, int w, int s) {
    uint8_t *dst = nx_malloc((size_t)h * s * w * s * 3);
    for (int y = 0; y < h * s; y++)
        for (int x = 0; x < w * s; x++) memcpy(dst + ((size_t)y * w * s + x) * 3, src + ((size_t)(y / s) * w + x / s) * 3, 3);
    return dst;
}

int cmd_explain(int argc, char **argv) {
    Common c = {.data = "fashion-mnist", .split = "test", .target = "predicted", .device = "cpu", .n = 16, .cols = 4};
    /* pass 1: the common flags; method options are kept as (name, value) pairs */
    const char **mo_name = nx_calloc((size_t)argc + 1, sizeof *mo_name), **mo_val = nx_calloc((size_t)argc + 1, sizeof *mo_val);
    int n_mo = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0) a = "--help";
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "nicex: explain: unexpected argument '%s' (options start with --; see --help)\n", a);
            return 2;
        }
        char name[64];
        const char *eq = strchr(a + 2, '='), *v = NULL;
        snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - a - 2) : strlen(a + 2)), a + 2);
        bool is_common = false, has_value = true;
        for (size_t k = 0; k < sizeof common_flags / sizeof common_flags[0]; k++)
            if (strcmp(common_flags[k].name, name) == 0) is_common = true, has_value = common_flags[k].has_value;
        if (!has_value) {
            if (eq) {
                fprintf(stderr, "nicex: explain: --%s takes no value\n", name);
                return 2;
            }
            if (strcmp(name, "json") == 0) c.json = true;
            else c.help = true;
            continue;
        }
        v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "nicex: explain: --%s needs a value\n", name);
            return 2;
        }
        if (is_common) {
            if (set_common(&c, name, v) != 0) return usage_error();
        } else {
            mo_name[n_mo] = strdup(name);
            mo_val[n_mo++] = v;
        }
    }
    const BaselineMethod *bm = c.method ? baseline_find(c.method) : NULL;
    if (c.help) {
        print_help(bm);
        return 0;
    }
    if (!c.method) {
        fprintf(stderr, "nicex: explain: --method is required (%s)\n", baseline_names());
        return 2;
    }
    if (!bm) {
        fprintf(stderr, "nicex: explain: --method: unknown method '%s' (known: %s)\n", c.method, baseline_names());
        return 2;
    }
    /* method options: check names and values now (defaults for 28x28), apply again once the size is known */
    void *opts = nx_calloc(1, bm->opts_size);
    bm->defaults(opts, 28);
    for (int i = 0; i < n_mo; i++)
        if (baseline_set_option(bm, opts, mo_name[i], mo_val[i]) != 0) return usage_error();
    if (!c.classifier && strcmp(bm->name, "nice") == 0) c.classifier = NX_MODELS_DIR "/lenet5-fashion-mnist.safetensors";
    if (!c.classifier) {
        fprintf(stderr, "nicex: explain: --classifier CKPT is required\n");
        return 2;
    }
    if (!c.out) {
        fprintf(stderr, "nicex: explain: --out DIR is required\n");
        return 2;
    }
    int target_class = -1;
    if (strcmp(c.target, "predicted") != 0 && strcmp(c.target, "label") != 0 &&
        parse_int("target", c.target, 0, 1 << 20, &target_class) != 0) {
        nx_error_set("--target: '%s' is not predicted, label or a class number", c.target);
        return usage_error();
    }
    Device dev;
    DataSplit sp;
    if (device_parse(c.device, &dev) != 0) {
        fprintf(stderr, "nicex: explain: %s\n", nx_error_msg());
        return 2;
    }
    if (dataset_split_parse(c.split, &sp) != 0) {
        fprintf(stderr, "nicex: explain: --split: %s\n", nx_error_msg());
        return 2;
    }
    Dataset d;
    if (dataset_open(&d, c.data, sp, c.image_size, c.seed) != 0) {
        fprintf(stderr, "nicex: explain: --data: %s\n", nx_error_msg());
        return 1;
    }
    if ((int64_t)c.first + c.n > d.n) {
        fprintf(stderr, "nicex: explain: --first %d --n %d: the %s split has %lld images\n", c.first, c.n, c.split,
                (long long)d.n);
        return 2;
    }
    if (target_class >= d.n_classes) {
        fprintf(stderr, "nicex: explain: --target: class %d, the data has %d classes\n", target_class, d.n_classes);
        return 2;
    }
    Model m;
    if (model_load(&m, c.classifier, NULL, d.n_classes, d.c, d.h, dev) != 0) {
        fprintf(stderr, "nicex: explain: --classifier: %s\n", nx_error_msg());
        return 1;
    }
    if (m.in_c != d.c || m.in_h != d.h || m.in_w != d.w || m.n_classes != d.n_classes) {
        fprintf(stderr, "nicex: explain: --classifier %s takes %dx%dx%d images and %d classes; %s has %dx%dx%d and %d\n",
                c.classifier, m.in_c, m.in_h, m.in_w, m.n_classes, c.data, d.c, d.h, d.w, d.n_classes);
        return 2;
    }
    int N = c.n, C = d.c, H = d.h, W = d.w;
    memset(opts, 0, bm->opts_size);
    bm->defaults(opts, H);
    for (int i = 0; i < n_mo; i++)
        if (baseline_set_option(bm, opts, mo_name[i], mo_val[i]) != 0) return usage_error();
    BaselineCommon *bc = opts;
    bc->seed = c.seed;
    bc->quiet = true;
    if (baseline_check(bm, &m, opts, H, W) != 0) return usage_error();
    int nh = 0, nw = 0;
    if (bm->native_size) bm->native_size(&m, opts, H, W, &nh, &nw);
    if (make_dir(c.out) != 0) return 1;

    /* images, labels, targets, predictions */
    size_t D = (size_t)C * H * W;
    float *x = nx_malloc(sizeof(float) * (size_t)N * D);
    int32_t *index = nx_malloc(sizeof(int32_t) * N), *label = nx_malloc(sizeof(int32_t) * N),
            *target = nx_malloc(sizeof(int32_t) * N), *pred = nx_malloc(sizeof(int32_t) * N);
    for (int i = 0; i < N; i++) {
        index[i] = c.first + i;
        label[i] = d.labels[c.first + i];
        dataset_get_float(&d, c.first + i, x + i * D, NULL, NULL);
    }
    bool prev = nx_no_grad();
    bool was_training = m.training;
    model_set_training(&m, false);
    for (int i0 = 0; i0 < N; i0 += 256) {
        int b = N - i0 < 256 ? N - i0 : 256;
        nx_step_reset();
        argmax_rows(pred + i0, model_forward(&m, batch_to_device(x + i0 * D, b, C, H, W, dev)));
    }
    model_set_training(&m, was_training);
    nx_set_grad(prev);
    for (int i = 0; i < N; i++)
        target[i] = target_class >= 0 ? target_class : strcmp(c.target, "label") == 0 ? label[i] : pred[i];

    MapsFile mf;
    maps_alloc(&mf, N, H, W, nh, nw);
    memcpy(mf.index, index, sizeof(int32_t) * N);
    memcpy(mf.target, target, sizeof(int32_t) * N);
    memcpy(mf.label, label, sizeof(int32_t) * N);
    /* run in chunks of images: a progress bar, bounded host memory; the
     * images' stream ids are their dataset indices, so chunking changes nothing */
    const int chunk = 64;
    Progress pr;
    progress_start(&pr, bm->name, N);
    double t0 = now_seconds();
    for (int i0 = 0; i0 < N; i0 += chunk) {
        int b = N - i0 < chunk ? N - i0 : chunk;
        nx_step_reset();
        Tensor *xt = batch_to_device(x + i0 * D, b, C, H, W, dev);
        bc->ids = index + i0;
        if (bm->run(mf.maps + (size_t)i0 * H * W, mf.native ? mf.native + (size_t)i0 * nh * nw : NULL, &m, xt,
                    target + i0, opts) != 0) {
            progress_end(&pr);
            return usage_error();
        }
        char status[64];
        snprintf(status, sizeof status, "%d/%d images", i0 + b, N);
        progress_update(&pr, i0 + b, status);
    }
    double seconds = now_seconds() - t0;
    progress_end(&pr);
    bc->ids = NULL;
    for (int64_t i = 0; i < (int64_t)N * H * W; i++)
        if (!isfinite(mf.maps[i])) {
            fprintf(stderr, "nicex: explain: --method %s produced a non-finite map value (image %lld)\n", bm->name,
                    (long long)(i / (H * W)));
            return 1;
        }

    /* metadata: the method, every option, where the data came from */
    char buf[64];
    maps_set_meta(&mf, "method", bm->name);
    for (int i = 0; i < bm->n_options; i++) maps_set_meta(&mf, bm->options[i].name, baseline_option_str(&bm->options[i], opts));
    maps_set_meta(&mf, "classifier", c.classifier);
    maps_set_meta(&mf, "classifier_arch", m.arch);
    maps_set_meta(&mf, "data", c.data);
    maps_set_meta(&mf, "split", dataset_split_name(sp));
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)c.seed);
    maps_set_meta(&mf, "seed", buf);
    snprintf(buf, sizeof buf, "%d", c.first);
    maps_set_meta(&mf, "first", buf);
    snprintf(buf, sizeof buf, "%d", N);
    maps_set_meta(&mf, "n", buf);
    maps_set_meta(&mf, "target_mode", c.target);
    snprintf(buf, sizeof buf, "%d", c.image_size);
    maps_set_meta(&mf, "image_size", buf);
    maps_set_meta(&mf, "device", c.device);
    char path[1024];
    snprintf(path, sizeof path, "%s/maps.safetensors", c.out);
    if (maps_save(path, &mf) != 0) {
        fprintf(stderr, "nicex: explain: %s\n", nx_error_msg());
        return 1;
    }

    /* pictures: tiles at least 96 px */
    int s = H >= 96 ? 1 : (96 + H - 1) / H;
    int ts = H * s;
    uint8_t **tiles = nx_calloc((size_t)3 * N, sizeof *tiles);
    uint8_t *tmp = nx_malloc((size_t)H * W * 3);
    float *mn = nx_malloc(sizeof(float) * (size_t)H * W);
    for (int i = 0; i < N; i++) {
        const float *xi = x + i * D;
        memcpy(mn, mf.maps + (size_t)i * H * W, sizeof(float) * (size_t)H * W);
        normalise_map(mn, (int64_t)H * W);
        render_image(tmp, xi, C, H, W, 1);
        tiles[3 * i] = upscale(tmp, H, W, s);
        render_heatmap(tmp, mn, H, W);
        tiles[3 * i + 1] = upscale(tmp, H, W, s);
        render_overlay(tmp, xi, mn, C, H, W);
        tiles[3 * i + 2] = upscale(tmp, H, W, s);
        const char *kind[3] = {"input", "heatmap", "overlay"};
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/%04d_%s.png", c.out, i, kind[k]);
            if (png_write(path, tiles[3 * i + k], ts, W * s, 3, NULL) != 0) {
                fprintf(stderr, "nicex: explain: %s\n", nx_error_msg());
                return 1;
            }
        }
    }
    snprintf(path, sizeof path, "%s/grid.png", c.out);
    if (write_grid(path, tiles, N, ts, c.cols, &d, target, pred, bm->name) != 0) {
        fprintf(stderr, "nicex: explain: %s\n", nx_error_msg());
        return 1;
    }
    double ips = seconds > 0 ? N / seconds : 0;
    if (c.json)
        printf("{\"method\": \"%s\", \"n\": %d, \"seconds\": %.6f, \"images_per_s\": %.3f, \"out\": \"%s\", "
               "\"maps\": \"%s/maps.safetensors\"}\n",
               bm->name, N, seconds, ips, c.out, c.out);
    else printf("%s: explained %d images in %.2f s (%.1f images/s); wrote %s/maps.safetensors, grid.png, NNNN_*.png\n",
                bm->name, N, seconds, ips, c.out);
    for (int i = 0; i < 3 * N; i++) free(tiles[i]);
    free(tiles), free(tmp), free(mn), free(x), free(index), free(label), free(target), free(pred), free(opts);
    for (int i = 0; i < n_mo; i++) free((void *)mo_name[i]);
    free(mo_name), free(mo_val);
    maps_free(&mf);
    model_free(&m);
    dataset_free(&d);
    return 0;
}

/* ---- nicex compare-maps: one grid, rows images, columns input + each maps file ---- */

int cmd_compare_maps(int argc, char **argv) {
    const char *out = NULL;
    const char *files[32];
    int nf = 0, image_size = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: nicex compare-maps --out PNG [--image-size S] DIR_OR_MAPS...\n\n"
                   "One grid: a row per image, columns the input and the heatmap of each maps.safetensors\n"
                   "(same images in every file; the images are read from the first file's data and split).\n");
            return 0;
        }
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "--image-size") == 0 && i + 1 < argc) {
            if (parse_int("image-size", argv[++i], 0, 4096, &image_size) != 0) {
                fprintf(stderr, "nicex: %s\n", nx_error_msg());
                return 2;
            }
        }
        else if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "nicex: compare-maps: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (nf < 32) files[nf++] = argv[i];
    }
    if (!out || nf == 0) {
        fprintf(stderr, "nicex: compare-maps: needs --out PNG and at least one maps file or folder\n");
        return 2;
    }
    MapsFile *mf = nx_calloc((size_t)nf, sizeof *mf);
    for (int k = 0; k < nf; k++) {
        char path[1024];
        struct stat sb;
        if (stat(files[k], &sb) == 0 && S_ISDIR(sb.st_mode)) snprintf(path, sizeof path, "%s/maps.safetensors", files[k]);
        else snprintf(path, sizeof path, "%s", files[k]);
        if (maps_load(&mf[k], path) != 0) {
            fprintf(stderr, "nicex: compare-maps: %s\n", nx_error_msg());
            return 1;
        }
        if (mf[k].n != mf[0].n || mf[k].h != mf[0].h || mf[k].w != mf[0].w ||
            memcmp(mf[k].index, mf[0].index, sizeof(int32_t) * mf[0].n) != 0) {
            fprintf(stderr, "nicex: compare-maps: %s holds other images than %s\n", files[k], files[0]);
            return 2;
        }
    }
    const char *data = maps_meta(&mf[0], "data"), *split = maps_meta(&mf[0], "split");
    DataSplit sp;
    Dataset d;
    if (!data || !split || dataset_split_parse(split, &sp) != 0 || dataset_open(&d, data, sp, image_size, 0) != 0) {
        fprintf(stderr, "nicex: compare-maps: %s: cannot open its data (%s)\n", files[0], nx_error_msg());
        return 1;
    }
    int N = mf[0].n, H = mf[0].h, W = mf[0].w, C = d.c;
    if (d.h != H || d.w != W) {
        fprintf(stderr, "nicex: compare-maps: the maps are %dx%d, the data %dx%d (--image-size?)\n", H, W, d.h, d.w);
        return 2;
    }
    int s = H >= 96 ? 1 : (96 + H - 1) / H, ts = H * s, gap = 3, head = text_height(1) + 8, left = 8 * 6 * 2 + 8;
    int cols = nf + 1, PW = left + cols * (ts + gap) + gap, PH = head + N * (ts + gap) + gap;
    uint8_t *px = nx_malloc((size_t)PW * PH * 3), *tile = nx_malloc((size_t)H * W * 3);
    memset(px, 255, (size_t)PW * PH * 3);
    float *x = nx_malloc(sizeof(float) * (size_t)C * H * W), *mn = nx_malloc(sizeof(float) * (size_t)H * W);
    const uint8_t black[3] = {0, 0, 0};
    text_draw(px, PH, PW, left + gap, 4, "input", 1, black);
    for (int k = 0; k < nf; k++) {
        const char *name = maps_meta(&mf[k], "method");
        text_draw(px, PH, PW, left + gap + (k + 1) * (ts + gap), 4, name ? name : files[k], 1, black);
    }
    for (int i = 0; i < N; i++) {
        int y0 = head + i * (ts + gap);
        char a[32], lab[64];
        snprintf(lab, sizeof lab, "%d", mf[0].index[i]);
        text_draw(px, PH, PW, 4, y0 + 4, lab, 1, black);
        snprintf(lab, sizeof lab, "T:%s", class_name(&d, mf[0].target[i], a, sizeof a));
        text_draw(px, PH, PW, 4, y0 + 16, lab, 1, black);
        snprintf(lab, sizeof lab, "L:%s", class_name(&d, mf[0].label[i], a, sizeof a));
        text_draw(px, PH, PW, 4, y0 + 28, lab, 1, black);
        dataset_get_float(&d, mf[0].index[i], x, NULL, NULL);
        for (int k = -1; k < nf; k++) {
            if (k < 0) render_image(tile, x, C, H, W, 1);
            else {
                memcpy(mn, mf[k].maps + (size_t)i * H * W, sizeof(float) * (size_t)H * W);
                normalise_map(mn, (int64_t)H * W);
                render_heatmap(tile, mn, H, W);
            }
            int x0 = left + gap + (k + 1) * (ts + gap);
            for (int y = 0; y < ts; y++)
                for (int xx = 0; xx < ts; xx++)
                    memcpy(px + ((size_t)(y0 + y) * PW + x0 + xx) * 3, tile + ((size_t)(y / s) * W + xx / s) * 3, 3);
        }
    }
    int rc = png_write(out, px, PH, PW, 3, NULL);
    if (rc != 0) fprintf(stderr, "nicex: compare-maps: %s\n", nx_error_msg());
    else printf("wrote %s (%d images x %d methods)\n", out, N, nf);
    free(px), free(tile), free(x), free(mn);
    for (int k = 0; k < nf; k++) maps_free(&mf[k]);
    free(mf);
    dataset_free(&d);
    return rc ? 1 : 0;
}
