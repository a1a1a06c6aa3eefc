/* nice.c: `nicex nice train | explain | compress` (`nicex explain --method nice` is in cli/explain.c). */
#include "cli/args.h"
#include "cli/cli.h"
#include "data/image.h"
#include "data/loader.h"
#include "eval/accuracy.h"
#include "eval/compress.h"
#include "eval/render.h"
#include "layers/checkpoint.h"
#include "nice/checkpoint.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
/* The shipped generator for the shipped LeNet5 (docs/models.md says how it was made). */
#define SHIPPED_GENERATOR NX_MODELS_DIR "/nice-lenet5-fashion-mnist.safetensors"

static int fail(const char *what) {
    fprintf(stderr, "nicex: %s%s%s\n", what ? what : "", what ? ": " : "", nx_error_msg());
    return 1;
}

static int make_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "nicex: cannot create folder %s: %s\n", dir, strerror(errno));
    return -1;
}

/* A NICE option name (nice/names.c): "nicex: --background: 'x' is not blocks or zero", exit 2. */
static int bad_name(const char *flag) {
    fprintf(stderr, "nicex: --%s: %s\n", flag, nx_error_msg());
    return 2;
}

/* ---- nice train ---------------------------------------------------------- */

static int nice_train_cmd(int argc, char **argv) {
    NiceConfig c = nice_config_default();
    const char *classifier = NULL, *data = "fashion-mnist", *out = "nice.safetensors", *device = "cpu",
               *gen_arch = "auto", *opt = "adam", *schedule = NULL, *background = "blocks", *test_mask = "paper",
               *cap_norm = "mean", *smooth_norm = "sum";
    uint64_t seed = 0;
    int image_size = 0;
    bool json = false;
    float beta = c.hc.beta;
    const Opt opts[] = {
        {"classifier", OPT_STR, &classifier, "checkpoint of the classifier to explain (required)"},
        {"data", OPT_STR, &data, "dataset spec (default fashion-mnist)"},
        {"lambda1", OPT_FLOAT, &c.lambda1, "weight of the capacity (L0) term L_C (default 5)", OPT_RANGE(0, 1e6)},
        {"lambda2", OPT_FLOAT, &c.lambda2, "weight of the smoothness term L_S (default 0)", OPT_RANGE(0, 1e6)},
        {"block", OPT_INT, &c.block, "block size b of the mixed-resolution image (default 4)", OPT_RANGE(1, NICE_MAX_BLOCK)},
        {"background", OPT_STR, &background, "blocks (eq. 13, default) | zero (x*z, the authors' MNIST code)"},
        {"test-mask", OPT_STR, &test_mask, "paper (eq. 12, sigmoid(la/beta), default) | l0 (sigmoid(la))"},
        {"beta", OPT_FLOAT, &beta, "hard-concrete temperature (default 2/3; the authors' code 0.66)", OPT_POSITIVE(100)},
        {"capacity-norm", OPT_STR, &cap_norm, "L_C: mean per pixel (default, the NICE code) | sum per image | dataset (L0 code: sum / N)"},
        {"smooth-norm", OPT_STR, &smooth_norm, "L_S as a sum per image (default) | mean per pixel"},
        {"generator", OPT_STR, &gen_arch, "auto | mnist | cifar | caltech (Table 1; default auto)"},
        {"finetune", OPT_STR, &c.finetune, "classifier prefixes to train too, e.g. fc1,fc2 (default: frozen)"},
        {"finetune-lr", OPT_FLOAT, &c.finetune_lr, "lr of the finetuned classifier layers (default 0: --lr)", OPT_RANGE(0, 10)},
        {"epochs", OPT_INT, &c.epochs, "epochs (default 10)", OPT_RANGE(1, 100000)},
        {"batch", OPT_INT, &c.batch, "batch size (default 100)", OPT_RANGE(1, 65536)},
        {"opt", OPT_STR, &opt, "adam (default) | sgd | adamw"},
        {"lr", OPT_FLOAT, &c.lr, "learning rate (default 1e-3)", OPT_POSITIVE(10)},
        {"schedule", OPT_STR, &schedule, "step:N:G (default step:5:0.1) | cosine:T | constant"},
        {"limit", OPT_INT, &c.limit, "use only the first N training images (default 0: all)", OPT_RANGE(0, INT_MAX)},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side (default 0: native)", OPT_RANGE(0, DATASET_MAX_SIDE)},
        {"seed", OPT_U64, &seed, "seed of every random draw (default 0)"},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"out", OPT_STR, &out, "where to save generator + classifier (default nice.safetensors)"},
        {"no-nan-check", OPT_FLAG, &c.no_nan_check, "do not stop at a non-finite loss or parameter (for speed measurements)"},
        {"json", OPT_FLAG, &json, "print the final test statistics as JSON"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex nice train --classifier CKPT [--data D] [--lambda1 L] [--block b] ...");
    if (rc) return rc > 0 ? 0 : 2;
    if (!classifier) {
        fprintf(stderr, "nicex: nice train needs --classifier CKPT (e.g. from nicex train)\n");
        return 2;
    }
    if (nice_background_parse(background, &c.background) != 0) return bad_name("background");
    if (nice_test_mask_parse(test_mask, &c.hc.test_mask) != 0) return bad_name("test-mask");
    if (nice_smooth_norm_parse(smooth_norm, &c.hc.smooth_norm) != 0) return bad_name("smooth-norm");
    if (nice_capacity_norm_parse(cap_norm, &c.hc.capacity_norm) != 0) return bad_name("capacity-norm");
    c.hc.beta = beta;
    c.quiet = json;
    if (optim_kind_parse(opt, &c.opt) != 0) {
        fprintf(stderr, "nicex: --opt: %s\n", nx_error_msg());
        return 2;
    }
    if (schedule && lr_schedule_parse(schedule, &c.schedule) != 0) return fail("--schedule");
    Device dev;
    if (device_parse(device, &dev) != 0) return fail(NULL);

    Dataset train, test;
    if (dataset_open(&train, data, DATA_TRAIN, image_size, seed) != 0) return fail(NULL);
    if (dataset_open(&test, data, DATA_TEST, image_size, seed) != 0) return fail(NULL);
    if (train.h % c.block != 0 || train.w % c.block != 0) {
        fprintf(stderr, "nicex: --block %d does not divide the image size %dx%d\n", c.block, train.h, train.w);
        return 2;
    }
    Model m;
    if (model_load(&m, classifier, NULL, train.n_classes, train.c, train.h, dev) != 0) return fail("--classifier");
    if (model_check_data(&m, classifier, train.c, train.h, train.w, train.n_classes, data) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 2;
    }
    rng_seed(seed);
    Generator g;
    if (generator_create(&g, gen_arch, train.c, train.h, dev) != 0) return fail("--generator");
    if (!json)
        printf("NICE: %s generator explaining %s on %s; lambda1 %g lambda2 %g block %d background %s test mask %s%s%s\n",
               g.arch, m.arch, data, c.lambda1, c.lambda2, c.block, background, test_mask,
               c.finetune ? ", finetuning " : ", classifier frozen", c.finetune ? c.finetune : "");
    NiceStats s;
    if (nice_train(&g, &m, &train, &test, &c, &s) != 0) return fail(NULL);
    if (nice_save(out, &g, &m, &c, data) != 0) return fail("saving");
    if (json)
        printf("{\"lambda1\": %g, \"lambda2\": %g, \"block\": %d, \"finetune\": \"%s\", \"accuracy\": %.6f, "
               "\"density\": %.6f, \"mask_mean\": %.6f, \"tv\": %.4f, \"loss_d\": %.6f, \"loss_c\": %.6f, "
               "\"loss_s\": %.6f, \"seconds\": %.3f, \"out\": \"%s\"}\n",
               c.lambda1, c.lambda2, c.block, c.finetune ? c.finetune : "", s.accuracy, s.density, s.mask_mean, s.tv,
               s.loss_d, s.loss_c, s.loss_s, s.seconds, out);
    else printf("saved %s (test: accuracy on mixed-resolution images %.2f%%, mask density %.3f)\n", out,
                100 * s.accuracy, s.density);
    generator_free(&g);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}

/* ---- nice explain ------------------------------------------------------------ */

static int write_png(const char *dir, const char *name, const uint8_t *px, int h, int w, int c, size_t *bytes) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        fprintf(stderr, "nicex: --out: the folder name is too long (%zu characters)\n", strlen(dir));
        return 1;
    }
    if (png_write(path, px, h, w, c, bytes) != 0) return fail(NULL);
    return 0;
}

static int nice_explain_cmd(int argc, char **argv) {
    const char *gen_path = NULL, *data = "fashion-mnist", *out = "explain", *split = "test", *device = "cpu";
    int n = 16, image_size = 0, cols = 8, mixed_block = 0;
    bool json = false;
    const Opt opts[] = {
        {"gen", OPT_STR, &gen_path, "NICE file from nicex nice train (default: the shipped LeNet5 one)"},
        {"mixed", OPT_INT, &mixed_block, "also show the mixed-resolution image at this block size b (default 0: no)", OPT_RANGE(0, NICE_MAX_BLOCK)},
        {"data", OPT_STR, &data, "dataset spec (default fashion-mnist)"},
        {"split", OPT_STR, &split, "train | test (default test)"},
        {"n", OPT_INT, &n, "number of images, from the first (default 16; 0: all)", OPT_RANGE(0, 100000)},
        {"cols", OPT_INT, &cols, "images per row of the grid (default 8)", OPT_RANGE(1, 256)},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side (default 0: native)", OPT_RANGE(0, DATASET_MAX_SIDE)},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"out", OPT_STR, &out, "output folder (default explain/)"},
        {"json", OPT_FLAG, &json, "print a JSON summary"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], "usage: nicex nice explain [--gen G] [--data D] [--n N] [--out DIR]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!gen_path) gen_path = SHIPPED_GENERATOR;
    Device dev;
    DataSplit sp;
    if (device_parse(device, &dev) != 0) return fail(NULL);
    if (dataset_split_parse(split, &sp) != 0) return fail("--split");
    Generator g;
    Model m;
    NiceConfig c;
    if (nice_load(gen_path, &g, &m, &c, dev) != 0) return fail("--gen");
    Dataset d;
    if (dataset_open(&d, data, sp, image_size, 0) != 0) return fail(NULL);
    if (d.c != g.in_c || d.h != g.hw || d.w != g.hw) {
        fprintf(stderr, "nicex: %s: images are %dx%dx%d, the generator in %s takes %dx%dx%d\n", data, d.c, d.h, d.w, gen_path, g.in_c, g.hw, g.hw);
        return 2;
    }
    if (n < 1 || n > d.n) n = (int)d.n;
    if (mixed_block && d.h % mixed_block != 0) {
        fprintf(stderr, "nicex: --mixed: %d does not divide the image side %d\n", mixed_block, d.h);
        return 2;
    }
    if (make_dir(out) != 0) return 1;
    int C = d.c, H = d.h, W = d.w;
    float *x = nx_malloc(sizeof(float) * (size_t)n * C * H * W);
    for (int i = 0; i < n; i++) dataset_get_float(&d, i, x + (size_t)i * C * H * W, NULL, NULL);
    bool prev = nx_no_grad();
    model_set_training(&m, false);
    Tensor *xt = batch_to_device(x, n, C, H, W, dev);
    Tensor *la = generator_forward(&g, xt);
    Tensor *z = hc_test_mask(&c.hc, la);
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)n);
    argmax_rows(pred, model_forward(&m, nice_mix(xt, z, c.block, c.background)));
    float *mixed = mixed_block ? tensor_to_host(nice_mix(xt, z, mixed_block, c.background)) : NULL; /* (n, C, H, W) */
    nx_set_grad(prev);
    float *zh = tensor_to_host(z);
    for (int64_t i = 0; i < z->numel; i++)
        if (!isfinite(zh[i])) {
            fprintf(stderr, "nicex: --gen: %s gives a mask value of %g (image %lld): the generator is broken\n",
                    gen_path, (double)zh[i], (long long)(i / ((int64_t)H * W)));
            return 1;
        }
    const int K = mixed ? 4 : 3; /* tiles per image */
    uint8_t **tiles = nx_calloc((size_t)K * n, sizeof *tiles);
    double density = 0;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * C * H * W, *zi = zh + (size_t)i * H * W;
        for (int k = 0; k < K; k++) tiles[K * i + k] = nx_malloc((size_t)H * W * 3);
        render_image(tiles[K * i], xi, C, H, W, 1);
        render_heatmap(tiles[K * i + 1], zi, H, W);
        render_overlay(tiles[K * i + 2], xi, zi, C, H, W);
        if (mixed) render_image(tiles[K * i + 3], mixed + (size_t)i * C * H * W, C, H, W, 1);
        for (int p = 0; p < H * W; p++) density += zi[p] > 0.5f;
        const char *kind[4] = {"input", "mask", "overlay", "mixed"};
        for (int k = 0; k < K; k++) {
            char name[64];
            snprintf(name, sizeof name, "%04d_%s.png", i, kind[k]);
            if (write_png(out, name, tiles[K * i + k], H, W, 3, NULL) != 0) return 1;
        }
    }
    free(mixed);
    /* the grid: for each image the input, its mask, the overlay (and the mixed image) side by side */
    int scale = H < 64 ? 3 : 1;
    Picture grid = grid_compose((const uint8_t *const *)tiles, K * n, H, W, K * (cols < n ? cols : n), scale);
    if (write_png(out, "grid.png", grid.pixels, grid.h, grid.w, 3, NULL) != 0) return 1;
    char maps[4096];
    if ((size_t)snprintf(maps, sizeof maps, "%s/maps.safetensors", out) >= sizeof maps) return 1; /* write_png said why */
    const char *names[2] = {"log_alpha", "mask"};
    const Tensor *ts[2] = {la, z};
    const char *meta[] = {"generator", gen_path, "data", data, "test_mask", nice_test_mask_name(c.hc.test_mask)};
    if (safetensors_save(maps, 2, names, ts, 3, meta) != 0) return fail(NULL);
    density /= (double)n * H * W;
    int correct = 0;
    for (int i = 0; i < n; i++) correct += pred[i] == d.labels[i];
    if (json)
        printf("{\"n\": %d, \"out\": \"%s\", \"density\": %.6f, \"accuracy_mixed\": %.6f, \"grid\": \"%s/grid.png\"}\n", n,
               out, density, (double)correct / n, out);
    else printf("wrote %d explanations to %s/ (grid.png, NNNN_{input,mask,overlay%s}.png, maps.safetensors); "
                "mask density %.3f, accuracy on mixed-resolution images %d/%d\n",
                n, out, K == 4 ? ",mixed" : "", density, correct, n);
    for (int i = 0; i < K * n; i++) free(tiles[i]);
    free(tiles);
    free(grid.pixels);
    free(zh);
    free(pred);
    free(x);
    nx_step_reset();
    generator_free(&g);
    model_free(&m);
    dataset_free(&d);
    return 0;
}

/* ---- nice compress ----------------------------------------------------------- */

static int nice_compress_cmd(int argc, char **argv) {
    const char *gen_path = NULL, *data = "fashion-mnist", *out = "compress", *device = "cpu", *background = "blocks";
    int block = 0, n = 0, image_size = 0;
    bool json = false, no_images = false;
    const Opt opts[] = {
        {"gen", OPT_STR, &gen_path, "NICE file (default: the shipped LeNet5 one)"},
        {"data", OPT_STR, &data, "dataset spec; the test split is compressed (default fashion-mnist)"},
        {"block", OPT_INT, &block, "block size b (default 0: the one the generator was trained with)", OPT_RANGE(0, NICE_MAX_BLOCK)},
        {"background", OPT_STR, &background, "blocks (eq. 13, default) | zero: what replaces closed pixels"},
        {"n", OPT_INT, &n, "number of test images (default 0: all)", OPT_RANGE(0, INT_MAX)},
        {"image-size", OPT_INT, &image_size, "resize folder images to this side (default 0: native)", OPT_RANGE(0, DATASET_MAX_SIDE)},
        {"device", OPT_STR, &device, "cpu | cuda | cuda:N"},
        {"out", OPT_STR, &out, "output folder for the PNGs and index.csv (default compress/)"},
        {"no-images", OPT_FLAG, &no_images, "only measure: write the CSV, not the PNGs"},
        {"json", OPT_FLAG, &json, "print JSON"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], "usage: nicex nice compress [--gen G] [--block b] [--out DIR]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!gen_path) gen_path = SHIPPED_GENERATOR;
    Device dev;
    if (device_parse(device, &dev) != 0) return fail(NULL);
    Generator g;
    Model m;
    NiceConfig c;
    if (nice_load(gen_path, &g, &m, &c, dev) != 0) return fail("--gen");
    if (block > 0) c.block = block;
    if (nice_background_parse(background, &c.background) != 0) return bad_name("background");
    Dataset d;
    if (dataset_open(&d, data, DATA_TEST, image_size, 0) != 0) return fail(NULL);
    if (d.h % c.block != 0 || d.w % c.block != 0) {
        fprintf(stderr, "nicex: --block %d does not divide the image size %dx%d\n", c.block, d.h, d.w);
        return 2;
    }
    if (d.c != g.in_c || d.h != g.hw || d.w != g.hw) {
        fprintf(stderr, "nicex: %s: images are %dx%dx%d, the generator in %s takes %dx%dx%d\n", data, d.c, d.h, d.w, gen_path, g.in_c, g.hw, g.hw);
        return 2;
    }
    if (n < 1 || n > d.n) n = (int)d.n;
    if (make_dir(out) != 0) return 1;
    char csv_path[4096];
    if ((size_t)snprintf(csv_path, sizeof csv_path, "%s/index.csv", out) >= sizeof csv_path) {
        fprintf(stderr, "nicex: --out: the folder name is too long (%zu characters)\n", strlen(out));
        return 2;
    }
    NiceCompressResult cr;
    rc = compress_nice_folder(&cr, &g, &m, &c.hc, c.block, c.background, &d, n, out, !no_images);
    if (rc == -2) {
        fprintf(stderr, "nicex: --out: %s\n", nx_error_msg());
        return 1;
    }
    if (rc != 0) return fail(NULL);
    double bytes = cr.bytes, orig_bytes = cr.original_bytes, acc = (double)cr.correct / n;
    if (json)
        printf("{\"n\": %d, \"block\": %d, \"mean_bytes\": %.1f, \"original_mean_bytes\": %.1f, \"ratio\": %.4f, "
               "\"accuracy\": %.6f, \"csv\": \"%s\"}\n",
               n, c.block, bytes / n, orig_bytes / n, orig_bytes / bytes, acc, csv_path);
    else printf("block %d: %d images, mean PNG %.0f bytes (original %.0f, %.2fx smaller), accuracy %.2f%%; %s\n", c.block, n,
                bytes / n, orig_bytes / n, orig_bytes / bytes, 100 * acc, csv_path);
    generator_free(&g);
    model_free(&m);
    dataset_free(&d);
    return 0;
}

int cmd_nice(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return nice_train_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "explain") == 0) return nice_explain_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "compress") == 0) return nice_compress_cmd(argc - 1, argv + 1);
    fprintf(stderr, "usage: nicex nice train | explain | compress [options] (each takes --help)\n");
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) ? 0 : 2;
}
