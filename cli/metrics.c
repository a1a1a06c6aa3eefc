/* metrics.c: `nicex metrics deletion | insertion | randomise | compress | localise | timing`.
 *
 * Scores a maps.safetensors file (eval/maps.h) from any tool against the
 * classifier and the data it explains. The data and split default to the
 * file's metadata ("data", "split"), else fashion-mnist test; the file's
 * index, image size and labels must agree with the data (exit 2 otherwise).
 * docs/eval.md describes every metric and protocol.
 */
#include "cli/args.h"
#include "cli/cli.h"
#include "data/dataset.h"
#include "eval/compress.h"
#include "eval/deletion.h"
#include "eval/localise.h"
#include "eval/maps.h"
#include "eval/perturb.h"
#include "eval/randomise.h"
#include "eval/timing.h"
#include "layers/checkpoint.h"
#include "nice/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What every scoring subcommand loads: the maps, the classifier, the data and the images the maps explain. */
typedef struct {
    const char *maps_path, *classifier, *data, *split, *device;
    int n, batch;
    uint64_t seed;
    bool json;
    MapsFile mf;
    Model model;
    bool has_model;
    Dataset d;
    float *x;        /* (n, C, H, W): the images, in the file's order */
    int32_t *labels; /* (n) */
} Ctx;

#define COMMON_OPTS(c)                                                                                                \
    {"maps", OPT_STR, &(c).maps_path, "maps.safetensors to score (required)"},                                       \
        {"classifier", OPT_STR, &(c).classifier, "classifier checkpoint (default: the file's \"classifier\")"},       \
        {"data", OPT_STR, &(c).data, "dataset spec (default: the file's \"data\", else fashion-mnist)"},              \
        {"split", OPT_STR, &(c).split, "train | test (default: the file's \"split\", else test)"},                    \
        {"n", OPT_INT, &(c).n, "score only the first N maps (default all)"},                                          \
        {"batch", OPT_INT, &(c).batch, "images per forward pass (default 256)"},                                      \
        {"seed", OPT_U64, &(c).seed, "seed of tie-breaking and random draws (default 0)"},                            \
        {"device", OPT_STR, &(c).device, "cpu | cuda | cuda:N (default cpu)"},                                        \
        {"json", OPT_FLAG, &(c).json, "print JSON"}

static void ctx_init(Ctx *c) {
    memset(c, 0, sizeof *c);
    c->device = "cpu";
    c->batch = 256;
}

static void ctx_free(Ctx *c) {
    maps_free(&c->mf);
    if (c->has_model) model_free(&c->model);
    dataset_free(&c->d);
    free(c->x), free(c->labels);
}

/* 0, or the exit status after printing one line. */
static int ctx_load(Ctx *c, bool need_model) {
    if (!c->maps_path) {
        fprintf(stderr, "nicex: metrics needs --maps FILE (a maps.safetensors from nicex explain)\n");
        return 2;
    }
    if (c->batch < 1) {
        fprintf(stderr, "nicex: --batch must be positive\n");
        return 2;
    }
    if (maps_load(&c->mf, c->maps_path) != 0) {
        fprintf(stderr, "nicex: --maps: %s\n", nx_error_msg());
        return 1;
    }
    if (!c->data) c->data = maps_meta(&c->mf, "data") ? maps_meta(&c->mf, "data") : "fashion-mnist";
    if (!c->split) c->split = maps_meta(&c->mf, "split") ? maps_meta(&c->mf, "split") : "test";
    DataSplit sp;
    if (dataset_split_parse(c->split, &sp) != 0) {
        fprintf(stderr, "nicex: --split: %s\n", nx_error_msg());
        return 2;
    }
    if (dataset_open(&c->d, c->data, sp, 0, 0) != 0) {
        fprintf(stderr, "nicex: --data: %s\n", nx_error_msg());
        return 1;
    }
    MapsFile *m = &c->mf;
    if (m->h != c->d.h || m->w != c->d.w) {
        fprintf(stderr, "nicex: %s: maps are %dx%d but the images of %s are %dx%d\n", c->maps_path, m->h, m->w, c->data,
                c->d.h, c->d.w);
        return 2;
    }
    if (c->n > 0 && c->n < m->n) m->n = c->n;
    const int C = c->d.c, H = c->d.h, W = c->d.w;
    c->x = nx_malloc(sizeof(float) * (size_t)m->n * C * H * W);
    c->labels = nx_malloc(sizeof(int32_t) * (size_t)m->n);
    for (int i = 0; i < m->n; i++) {
        int j = m->index[i];
        if (j < 0 || j >= c->d.n) {
            fprintf(stderr, "nicex: %s: index[%d] = %d is outside %s %s (%lld images)\n", c->maps_path, i, j, c->data,
                    c->split, (long long)c->d.n);
            return 2;
        }
        if (m->label[i] != c->d.labels[j]) {
            fprintf(stderr, "nicex: %s: label[%d] = %d but image %d of %s %s has label %d: maps of other data?\n",
                    c->maps_path, i, m->label[i], j, c->data, c->split, c->d.labels[j]);
            return 2;
        }
        dataset_get_float(&c->d, j, c->x + (size_t)i * C * H * W, NULL, NULL);
        c->labels[i] = c->d.labels[j];
    }
    if (!need_model) return 0;
    if (!c->classifier) c->classifier = maps_meta(m, "classifier");
    if (!c->classifier) {
        fprintf(stderr, "nicex: metrics needs --classifier CKPT (the file names none)\n");
        return 2;
    }
    Device dev;
    if (device_parse(c->device, &dev) != 0) {
        fprintf(stderr, "nicex: --device: %s\n", nx_error_msg());
        return 2;
    }
    if (model_load(&c->model, c->classifier, NULL, 0, 0, 0, dev) != 0) {
        fprintf(stderr, "nicex: --classifier: %s\n", nx_error_msg());
        return 1;
    }
    c->has_model = true;
    if (c->model.in_c != C || c->model.in_h != H) {
        fprintf(stderr, "nicex: %s takes %dx%dx%d images, %s has %dx%dx%d\n", c->classifier, c->model.in_c,
                c->model.in_h, c->model.in_h, c->data, C, H, W);
        return 2;
    }
    return 0;
}

static const char *method_of(const Ctx *c) {
    const char *m = maps_meta(&c->mf, "method");
    return m ? m : "unknown";
}

static void json_array(const double *v, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) printf("%s%.6f", i ? ", " : "", v[i]);
    putchar(']');
}

/* "1,2,4" -> values; -1 on a bad list. */
static int parse_list(const char *s, double *out, int cap, const char *opt) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || n == cap) {
            fprintf(stderr, "nicex: --%s: '%s' is not a comma-separated list of at most %d numbers\n", opt, s, cap);
            return -1;
        }
        out[n++] = v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') {
            fprintf(stderr, "nicex: --%s: '%s' is not a comma-separated list of numbers\n", opt, s);
            return -1;
        }
    }
    return n;
}

/* ---- deletion / insertion ---------------------------------------------------- */

static int deletion_cmd(int argc, char **argv, CurveKind kind) {
    Ctx c;
    ctx_init(&c);
    const char *protocol = "rise";
    int resolution = 0, step = 0, blur_k = 0;
    float blur_sigma = 0;
    const Opt opts[] = {
        COMMON_OPTS(c),
        {"protocol", OPT_STR, &protocol, "rise (zero / scaled 11-tap blur, pixels) | igos (51-tap sigma-50 blur, native grid)"},
        {"resolution", OPT_INT, &resolution, "rank on an r x r grid (the map average-pooled; default: igos the file's native, rise the input)"},
        {"step", OPT_INT, &step, "cells replaced per step (default: one grid row)"},
        {"blur-k", OPT_INT, &blur_k, "override the protocol's blur taps"},
        {"blur-sigma", OPT_FLOAT, &blur_sigma, "override the protocol's blur sigma"},
    };
    const char *name = kind == CURVE_DELETION ? "deletion" : "insertion";
    char usage[128];
    snprintf(usage, sizeof usage, "usage: nicex metrics %s --maps F --classifier CKPT [--protocol rise|igos]", name);
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage);
    if (rc) return rc > 0 ? 0 : 2;
    DelConfig cfg;
    DelProtocol p;
    if (del_protocol_parse(protocol, &p) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 2;
    }
    cfg = del_config(p);
    cfg.step = step, cfg.blur_k = blur_k, cfg.blur_sigma = blur_sigma, cfg.seed = c.seed, cfg.batch = c.batch;
    if (step < 0 || resolution < 0) {
        fprintf(stderr, "nicex: --step and --resolution must be >= 0\n");
        return 2;
    }
    if ((rc = ctx_load(&c, true)) != 0) return ctx_free(&c), rc;
    const MapsFile *m = &c.mf;
    int H = m->h, W = m->w, gh = H, gw = W;
    const float *grid = m->maps;
    float *pooled = NULL;
    const char *grid_from = "the maps at input resolution";
    if (resolution > 0) {
        if (H % resolution || W % resolution) {
            fprintf(stderr, "nicex: --resolution %d does not divide the image size %dx%d\n", resolution, H, W);
            return ctx_free(&c), 2;
        }
        gh = gw = resolution;
        int f = H / resolution;
        pooled = nx_malloc(sizeof(float) * (size_t)m->n * gh * gw);
        for (int i = 0; i < m->n; i++) avgpool_map(pooled + (size_t)i * gh * gw, m->maps + (size_t)i * H * W, H, W, f);
        grid = pooled;
        grid_from = "the maps average-pooled";
    } else if (p == PROTO_IGOS && m->native) {
        gh = m->nh, gw = m->nw, grid = m->native;
        grid_from = "the file's native maps";
    }
    CurveResult r;
    if (deletion_curves(&r, kind, &c.model, c.x, grid, m->n, c.d.c, H, W, gh, gw, &cfg) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return free(pooled), ctx_free(&c), 2;
    }
    char sub[96];
    if (p == PROTO_RISE && kind == CURVE_DELETION) snprintf(sub, sizeof sub, "zero image");
    else snprintf(sub, sizeof sub, "gaussian blur k %d sigma %g", r.blur_k, r.blur_sigma);
    if (c.json) {
        printf("{\"metric\": \"%s\", \"protocol\": \"%s\", \"method\": \"%s\", \"maps\": \"%s\", \"classifier\": \"%s\", "
               "\"data\": \"%s\", \"split\": \"%s\", \"n\": %d, \"grid\": [%d, %d], \"grid_from\": \"%s\", "
               "\"upsampling\": \"%s\", \"step\": %d, \"substrate\": \"%s\", \"score\": \"softmax of the class predicted on the clean image\", "
               "\"auc\": %.6f, \"auc_sem\": %.6f, \"x\": ",
               name, del_protocol_name(p), method_of(&c), c.maps_path, c.classifier, c.data, c.split, m->n, gh, gw,
               grid_from, p == PROTO_IGOS ? "bilinear (align_corners true)" : "nearest", r.step, sub, r.auc_mean,
               r.auc_sem);
        json_array(r.x, r.n_points);
        printf(", \"curve\": ");
        json_array(r.mean, r.n_points);
        printf("}\n");
    } else {
        printf("%s, protocol %s (%s; grid %dx%d from %s, %d cells per step): method %s, %d images: AUC %.4f +- %.4f\n",
               name, del_protocol_name(p), sub, gh, gw, grid_from, r.step, method_of(&c), m->n, r.auc_mean, r.auc_sem);
    }
    curve_result_free(&r);
    free(pooled);
    ctx_free(&c);
    return 0;
}

/* ---- randomise ------------------------------------------------------------- */

static int randomise_cmd(int argc, char **argv) {
    Ctx c;
    ctx_init(&c);
    const char *mode = "all", *ks_s = "0,10,20,30,40,50,60,70,80,90,100";
    const Opt opts[] = {
        COMMON_OPTS(c),
        {"mode", OPT_STR, &mode, "top | bottom | random | all (default all)"},
        {"ks", OPT_STR, &ks_s, "percentages replaced (default 0,10,...,100)"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], "usage: nicex metrics randomise --maps F --classifier CKPT [--mode M]");
    if (rc) return rc > 0 ? 0 : 2;
    double ks[64], fr[64];
    int n_k = parse_list(ks_s, ks, 64, "ks");
    if (n_k < 0) return 2;
    for (int j = 0; j < n_k; j++) {
        if (ks[j] < 0 || ks[j] > 100) {
            fprintf(stderr, "nicex: --ks: %g is not a percentage in [0, 100]\n", ks[j]);
            return 2;
        }
        fr[j] = ks[j] / 100;
    }
    RandMode modes[3];
    int n_modes = 0;
    if (strcmp(mode, "top") == 0 || strcmp(mode, "all") == 0) modes[n_modes++] = RAND_TOP;
    if (strcmp(mode, "bottom") == 0 || strcmp(mode, "all") == 0) modes[n_modes++] = RAND_BOTTOM;
    if (strcmp(mode, "random") == 0 || strcmp(mode, "all") == 0) modes[n_modes++] = RAND_RANDOM;
    if (!n_modes) {
        fprintf(stderr, "nicex: --mode: '%s' is not top, bottom, random or all\n", mode);
        return 2;
    }
    if ((rc = ctx_load(&c, true)) != 0) return ctx_free(&c), rc;
    const MapsFile *m = &c.mf;
    if (c.json)
        printf("{\"metric\": \"randomise\", \"method\": \"%s\", \"maps\": \"%s\", \"classifier\": \"%s\", \"data\": \"%s\", "
               "\"split\": \"%s\", \"n\": %d, \"values\": \"uniform [0, 1) per pixel and channel\", \"k\": ",
               method_of(&c), c.maps_path, c.classifier, c.data, c.split, m->n);
    if (c.json) json_array(ks, n_k);
    else printf("randomisation (uniform [0, 1) values), method %s, %d images; accuracy at K%% =", method_of(&c), m->n);
    if (!c.json) for (int j = 0; j < n_k; j++) printf(" %g", ks[j]);
    if (!c.json) printf("\n");
    for (int t = 0; t < n_modes; t++) {
        double acc[64];
        randomise_accuracy(acc, &c.model, c.x, c.labels, m->maps, m->n, c.d.c, m->h, m->w, fr, n_k, modes[t], c.seed,
                           c.batch);
        if (c.json) {
            printf(", \"%s\": ", rand_mode_name(modes[t]));
            json_array(acc, n_k);
        } else {
            printf("  %-7s", rand_mode_name(modes[t]));
            for (int j = 0; j < n_k; j++) printf(" %.4f", acc[j]);
            printf("\n");
        }
    }
    if (c.json) printf("}\n");
    ctx_free(&c);
    return 0;
}

/* ---- compress ---------------------------------------------------------------- */

/* NICE's test-time mask from a maps file of method nice. The metadata "map"
 * (written by `nicex explain --method nice --map ...`) says what the map is:
 * "mask", the test-time gate itself, or "log_alpha", which eq. 12 (or the L0
 * form, metadata test_mask = l0) turns into the mask. Only a file without
 * "map" falls back to guessing from the values (all in [0, 1]: a mask) -
 * a guess that fails for a generator whose log_alpha happens to lie in
 * [0, 1], hence the metadata first. Returns how the mask was made. */
static const char *nice_mask(float *z, const MapsFile *m) {
    int64_t P = (int64_t)m->n * m->h * m->w;
    const char *kind = maps_meta(m, "map");
    bool unit = kind ? strcmp(kind, "mask") == 0 : true;
    for (int64_t p = 0; !kind && p < P && unit; p++) unit = m->maps[p] >= 0 && m->maps[p] <= 1;
    if (unit) {
        memcpy(z, m->maps, sizeof(float) * (size_t)P);
        return "NICE's test-time mask (the map, in [0, 1])";
    }
    HardConcrete hc = hc_default();
    const char *gen = maps_meta(m, "gen"); /* nicex explain --method nice: the generator's own gate settings */
    Generator g;
    Model gm;
    NiceConfig nc;
    if (gen && nice_load(gen, &g, &gm, &nc, NX_CPU) == 0) {
        hc = nc.hc;
        generator_free(&g);
        model_free(&gm);
    }
    const char *tm = maps_meta(m, "test_mask");
    if (tm && strcmp(tm, "l0") == 0) hc.test_mask = NICE_TEST_L0;
    const char *beta = maps_meta(m, "beta");
    float b;
    if (beta && meta_parse_float("the maps file", "beta", beta, 0, 100, true, &b) == 0) hc.beta = b;
    else if (beta) fprintf(stderr, "nicex: warning: %s; the mask uses beta %g\n", nx_error_msg(), (double)hc.beta);
    bool prev = nx_no_grad();
    Tensor *la = tensor_wrap(NX_CPU, NX_F32, m->maps, 2, (int[]){m->n, m->h * m->w});
    float *zh = tensor_to_host(hc_test_mask(&hc, la));
    memcpy(z, zh, sizeof(float) * (size_t)P);
    free(zh);
    nx_step_reset();
    nx_set_grad(prev);
    return hc.test_mask == NICE_TEST_L0 ? "NICE's test-time mask from log_alpha (L0 form sigmoid(la))"
                                        : "NICE's test-time mask from log_alpha (eq. 12)";
}

static int compress_cmd(int argc, char **argv) {
    Ctx c;
    ctx_init(&c);
    const char *blocks_s = NULL, *density_from = NULL, *background = "blocks";
    float density = 0;
    bool baseline = false;
    const Opt opts[] = {
        COMMON_OPTS(c),
        {"blocks", OPT_STR, &blocks_s, "block sizes b (default: every divisor of the image side)"},
        {"density", OPT_FLOAT, &density, "keep this fraction of each map's top pixels (non-NICE maps)"},
        {"density-from", OPT_STR, &density_from, "a NICE maps file: keep as many pixels as its mask opens, image by image"},
        {"background", OPT_STR, &background, "blocks (eq. 13, default) | zero"},
        {"baseline", OPT_FLAG, &baseline, "also the down-sampling rows (bilinear back up) and the original images"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex metrics compress --maps F --classifier CKPT [--density D | --density-from NICE_MAPS]");
    if (rc) return rc > 0 ? 0 : 2;
    NiceBackground bg;
    if (nice_background_parse(background, &bg) != 0) {
        fprintf(stderr, "nicex: --background: %s\n", nx_error_msg());
        return 2;
    }
    if (density < 0 || density > 1) {
        fprintf(stderr, "nicex: --density %g is not in [0, 1]\n", density);
        return 2;
    }
    if ((rc = ctx_load(&c, true)) != 0) return ctx_free(&c), rc;
    const MapsFile *m = &c.mf;
    const int H = m->h, W = m->w, P = H * W;
    double blocks[64];
    int n_b = 0;
    if (blocks_s) {
        if ((n_b = parse_list(blocks_s, blocks, 64, "blocks")) < 0) return ctx_free(&c), 2;
    } else
        for (int b = 1; b <= H && n_b < 64; b++)
            if (H % b == 0 && W % b == 0) blocks[n_b++] = b;
    float *z = nx_malloc(sizeof(float) * (size_t)m->n * P);
    const char *how;
    char howbuf[160];
    bool is_nice = strcmp(method_of(&c), "nice") == 0;
    if (is_nice && !density_from && density == 0) how = nice_mask(z, m);
    else if (density_from) {
        MapsFile nf;
        if (maps_load(&nf, density_from) != 0) {
            fprintf(stderr, "nicex: --density-from: %s\n", nx_error_msg());
            return ctx_free(&c), 1;
        }
        if (nf.h != H || nf.w != W) {
            fprintf(stderr, "nicex: --density-from %s: maps are %dx%d, not %dx%d\n", density_from, nf.h, nf.w, H, W);
            return maps_free(&nf), ctx_free(&c), 2;
        }
        float *nz = nx_malloc(sizeof(float) * (size_t)nf.n * P);
        nice_mask(nz, &nf);
        double mean = 0;
        for (int64_t p = 0; p < (int64_t)nf.n * P; p++) mean += nz[p];
        mean /= (double)nf.n * P;
        int matched = 0;
        for (int i = 0; i < m->n; i++) {
            double d = mean;
            for (int j = 0; j < nf.n; j++)
                if (nf.index[j] == m->index[i]) {
                    d = 0;
                    for (int p = 0; p < P; p++) d += nz[(size_t)j * P + p];
                    d /= P;
                    matched++;
                    break;
                }
            mask_top_fraction(z + (size_t)i * P, m->maps + (size_t)i * P, P, d,
                              data_stream(c.seed, EVAL_TAG_TIES, (uint64_t)i));
        }
        snprintf(howbuf, sizeof howbuf, "top pixels at the density of NICE's mask (%d of %d images matched, mean %.3f)",
                 matched, m->n, mean);
        how = howbuf;
        free(nz);
        maps_free(&nf);
    } else {
        if (density == 0) {
            fprintf(stderr, "nicex: compress: a %s map needs --density D or --density-from NICE_MAPS\n", method_of(&c));
            return ctx_free(&c), 2;
        }
        for (int i = 0; i < m->n; i++)
            mask_top_fraction(z + (size_t)i * P, m->maps + (size_t)i * P, P, density,
                              data_stream(c.seed, EVAL_TAG_TIES, (uint64_t)i));
        snprintf(howbuf, sizeof howbuf, "top %.3f of each map's pixels", density);
        how = howbuf;
    }
    double zd = 0;
    for (int64_t p = 0; p < (int64_t)m->n * P; p++) zd += z[p];
    zd /= (double)m->n * P;
    if (c.json)
        printf("{\"metric\": \"compress\", \"method\": \"%s\", \"maps\": \"%s\", \"classifier\": \"%s\", \"data\": \"%s\", "
               "\"split\": \"%s\", \"n\": %d, \"mask\": \"%s\", \"mask_density\": %.6f, \"background\": \"%s\", "
               "\"png\": \"8-bit, default zlib\", \"rows\": [",
               method_of(&c), c.maps_path, c.classifier, c.data, c.split, m->n, how, zd, background);
    else
        printf("compression, method %s, %d images, mask: %s (density %.3f), background %s, 8-bit PNG, default zlib\n",
               method_of(&c), m->n, how, zd, background);
    bool first = true;
    for (int pass = 0; pass < (baseline ? 2 : 1); pass++)
        for (int k = 0; k < n_b; k++) {
            int b = (int)blocks[k];
            CompressPoint r;
            int e = pass == 0 ? compress_mixed(&r, &c.model, c.x, c.labels, z, m->n, c.d.c, H, W, b, bg, c.batch)
                              : compress_downsample(&r, &c.model, c.x, c.labels, m->n, c.d.c, H, W, b, c.batch);
            if (e != 0) {
                fprintf(stderr, "nicex: --blocks: %s\n", nx_error_msg());
                return free(z), ctx_free(&c), 2;
            }
            const char *kind = pass == 0 ? "mixed" : b == 1 ? "original" : "downsample";
            if (c.json) printf("%s{\"kind\": \"%s\", \"block\": %d, \"mean_bytes\": %.1f, \"accuracy\": %.6f}", first ? "" : ", ", kind, b, r.mean_bytes, r.accuracy);
            else printf("  %-10s b %3d: mean PNG %8.1f bytes, accuracy %.2f%%\n", kind, b, r.mean_bytes, 100 * r.accuracy);
            first = false;
        }
    if (c.json) printf("]}\n");
    free(z);
    ctx_free(&c);
    return 0;
}

/* ---- localise ------------------------------------------------------------------ */

static int localise_cmd(int argc, char **argv) {
    Ctx c;
    ctx_init(&c);
    const char *masks_path = NULL;
    const Opt opts[] = {
        COMMON_OPTS(c),
        {"masks", OPT_STR, &masks_path, "ground-truth IDX masks (default: the data folder's <split>-masks-idx3-ubyte)"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], "usage: nicex metrics localise --maps F [--data fashion-mnist:DIR]");
    if (rc) return rc > 0 ? 0 : 2;
    if ((rc = ctx_load(&c, false)) != 0) return ctx_free(&c), rc;
    char path[4096];
    if (!masks_path) {
        snprintf(path, sizeof path, "%s/%s-masks-idx3-ubyte", c.d.root ? c.d.root : ".", c.d.split == DATA_TRAIN ? "train" : "t10k");
        masks_path = path;
    }
    uint8_t *gt;
    int nd;
    int64_t dims[4];
    if (idx_read(masks_path, 3, "masks", &gt, &nd, dims) != 0) {
        fprintf(stderr, "nicex: --masks: %s (make one with nicex data cluttered)\n", nx_error_msg());
        return ctx_free(&c), 1;
    }
    const MapsFile *m = &c.mf;
    const int P = m->h * m->w;
    if (dims[0] != c.d.n || dims[1] != m->h || dims[2] != m->w) {
        fprintf(stderr, "nicex: %s: %lld masks of %lldx%lld, but the data has %lld images of %dx%d\n", masks_path,
                (long long)dims[0], (long long)dims[1], (long long)dims[2], (long long)c.d.n, m->h, m->w);
        return free(gt), ctx_free(&c), 2;
    }
    uint8_t *sel = nx_malloc((size_t)m->n * P);
    for (int i = 0; i < m->n; i++) memcpy(sel + (size_t)i * P, gt + (size_t)m->index[i] * P, (size_t)P);
    LocaliseResult r;
    localise_score(&r, m->maps, sel, m->n, m->h, m->w, c.seed);
    if (c.json)
        printf("{\"metric\": \"localise\", \"method\": \"%s\", \"maps\": \"%s\", \"data\": \"%s\", \"split\": \"%s\", "
               "\"masks\": \"%s\", \"n\": %d, \"pointing_hit_rate\": %.6f, \"mass_inside\": %.6f, \"mask_area\": %.6f}\n",
               method_of(&c), c.maps_path, c.data, c.split, masks_path, r.n, r.hit_rate, r.mass_inside, r.area);
    else
        printf("localisation, method %s, %d images: pointing game %.2f%%, mass inside %.2f%% (object covers %.2f%%: chance)\n",
               method_of(&c), r.n, 100 * r.hit_rate, 100 * r.mass_inside, 100 * r.area);
    free(sel), free(gt);
    ctx_free(&c);
    return 0;
}

/* ---- timing ----------------------------------------------------------------------- */

static int timing_cmd(int argc, char **argv) {
    int warmup = 1, repeats = 5, split = -1;
    bool json = false;
    const char *label = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    const Opt opts[] = {
        {"warmup", OPT_INT, &warmup, "untimed runs first (default 1)"},
        {"repeats", OPT_INT, &repeats, "timed runs (default 5)"},
        {"label", OPT_STR, &label, "a name for the JSON output"},
        {"json", OPT_FLAG, &json, "print JSON"},
    };
    int rc = args_parse(split < 0 ? argc : split, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex metrics timing [--warmup W] [--repeats R] -- COMMAND [ARGS...]");
    if (rc) return rc > 0 ? 0 : 2;
    if (split < 0 || split + 1 >= argc) {
        fprintf(stderr, "nicex: metrics timing needs the command after --\n");
        return 2;
    }
    if (warmup < 0 || repeats < 1) {
        fprintf(stderr, "nicex: --warmup must be >= 0 and --repeats >= 1\n");
        return 2;
    }
    TimingStats t;
    if (timing_command(&t, argv + split + 1, warmup, repeats, true) != 0) {
        fprintf(stderr, "nicex: %s\n", nx_error_msg());
        return 1;
    }
    if (json)
        printf("{\"metric\": \"timing\", \"label\": \"%s\", \"warmup\": %d, \"repeats\": %d, \"mean_s\": %.6f, \"std_s\": %.6f, "
               "\"min_s\": %.6f, \"includes\": \"process start, loading, the method, writing its output\"}\n",
               label ? label : argv[split + 1], warmup, t.repeats, t.mean, t.std, t.min);
    else
        printf("%s: %d runs after %d warm-up: %.4f s +- %.4f (min %.4f), wall clock of the whole command\n",
               label ? label : argv[split + 1], t.repeats, warmup, t.mean, t.std, t.min);
    return 0;
}

int cmd_metrics(int argc, char **argv) {
    if (argc >= 2) {
        const char *s = argv[1];
        if (strcmp(s, "deletion") == 0) return deletion_cmd(argc - 1, argv + 1, CURVE_DELETION);
        if (strcmp(s, "insertion") == 0) return deletion_cmd(argc - 1, argv + 1, CURVE_INSERTION);
        if (strcmp(s, "randomise") == 0 || strcmp(s, "randomize") == 0) return randomise_cmd(argc - 1, argv + 1);
        if (strcmp(s, "compress") == 0) return compress_cmd(argc - 1, argv + 1);
        if (strcmp(s, "localise") == 0 || strcmp(s, "localize") == 0) return localise_cmd(argc - 1, argv + 1);
        if (strcmp(s, "timing") == 0) return timing_cmd(argc - 1, argv + 1);
    }
    fprintf(stderr, "usage: nicex metrics deletion | insertion | randomise | compress | localise | timing [options] (each takes --help)\n");
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) ? 0 : 2;
}
