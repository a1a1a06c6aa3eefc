/* dataset.c: dataset specs, the IDX, CIFAR-10 and synthetic datasets, common helpers.
 *
 * dataset_open parses "name[:DIR]", reads the split's files with the format
 * readers (idx.c, cifar.c, folder.c), checks labels against the class
 * count, and resizes to image_size when asked (PIL bilinear, image.c).
 * "synthetic:N:CxHxW:K" draws N images and labels from Philox streams
 * (pixels uniform in 0..255, labels uniform in 0..K-1), for benchmarks.
 */
#include "data/dataset.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "tensor/rng.h"

static const char *FASHION_CLASSES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *MNIST_CLASSES[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *CIFAR_CLASSES[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                        "dog",      "frog",       "horse", "ship", "truck"};

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = nx_malloc(n);
    memcpy(p, s, n);
    return p;
}

/* malloc'd printf: paths are never cut at a fixed length. */
static char *str_printf(const char *fmt, ...) NX_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...) {
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = nx_malloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, aq);
    va_end(aq);
    return p;
}

void *data_alloc(int64_t n, int64_t each, const char *name, const char *what) {
    if (n < 0 || each < 0 || (each && n > DATASET_MAX_BYTES / each)) {
        nx_error_set("%s: %lld x %lld bytes of %s: over the %lld GiB limit", name, (long long)n, (long long)each, what,
                     (long long)(DATASET_MAX_BYTES >> 30));
        return NULL;
    }
    size_t bytes = (size_t)(n * each);
    void *p = malloc(bytes ? bytes : 1);
    if (!p) nx_error_set("%s: cannot allocate %zu bytes of %s", name, bytes, what);
    return p;
}

static void set_classes(Dataset *d, const char *const *names, int n) {
    d->n_classes = n;
    d->class_names = nx_calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) d->class_names[i] = str_dup(names[i]);
}

/* ---- seeded streams ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t data_stream(uint64_t seed, uint64_t tag, uint64_t index) {
    return splitmix64(seed ^ splitmix64(tag ^ splitmix64(index)));
}

void data_permutation(int64_t *perm, int64_t n, uint64_t stream) {
    NX_CHECK(n < ((int64_t)1 << 32), "data_permutation: n = %lld is too large", (long long)n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(((uint64_t)philox_word(stream, (uint64_t)i) * (uint64_t)(i + 1)) >> 32);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---- IDX datasets (MNIST, Fashion-MNIST) --------------------------------- */

static int idx_dataset_read(Dataset *d, const char *img_path, const char *lab_path, const char *const *classes);

static char *find_idx(const char *dir, const char *base) {
    char *p = str_printf("%s/%s.gz", dir, base);
    if (access(p, F_OK) == 0) return p;
    free(p);
    p = str_printf("%s/%s", dir, base);
    if (access(p, F_OK) == 0) return p;
    free(p);
    nx_error_set("%s/%s.gz: not found (nor without .gz)", dir, base);
    return NULL;
}

static int idx_dataset_open(Dataset *d, const char *dir, DataSplit split, const char *const *classes) {
    const char *prefix = split == DATA_TRAIN ? "train" : "t10k";
    char base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    char *img_path = find_idx(dir, base), *lab_path = NULL;
    int rc = -1;
    if (!img_path) return -1;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    if (!(lab_path = find_idx(dir, base))) goto out;
    rc = idx_dataset_read(d, img_path, lab_path, classes);
out:
    free(img_path);
    free(lab_path);
    return rc;
}

static int idx_dataset_read(Dataset *d, const char *img_path, const char *lab_path, const char *const *classes) {
    uint8_t *pix, *lab;
    int nd;
    int64_t di[4], dl[4];
    if (idx_read(img_path, 3, "pixels", &pix, &nd, di) != 0) return -1;
    if (idx_read(lab_path, 1, "labels", &lab, &nd, dl) != 0) {
        free(pix);
        return -1;
    }
    if (dl[0] != di[0]) {
        nx_error_set("%s: %lld labels, but %s has %lld images", lab_path, (long long)dl[0], img_path, (long long)di[0]);
        free(pix);
        free(lab);
        return -1;
    }
    if (di[1] < 1 || di[2] < 1 || di[1] > DATASET_MAX_SIDE || di[2] > DATASET_MAX_SIDE) {
        nx_error_set("%s: images of %lldx%lld pixels: expected sides of 1 to %d", img_path, (long long)di[1],
                     (long long)di[2], DATASET_MAX_SIDE);
        free(pix);
        free(lab);
        return -1;
    }
    d->n = di[0];
    d->c = 1;
    d->h = (int)di[1];
    d->w = (int)di[2];
    d->pixels = pix;
    d->labels = nx_malloc((size_t)(d->n ? d->n : 1) * sizeof(int32_t));
    for (int64_t i = 0; i < d->n; i++) {
        if (lab[i] > 9) {
            nx_error_set("%s: label %d at index %lld, expected 0..9", lab_path, lab[i], (long long)i);
            free(lab);
            return -1;
        }
        d->labels[i] = lab[i];
    }
    free(lab);
    set_classes(d, classes, 10);
    return 0;
}

/* ---- CIFAR-10 ------------------------------------------------------------ */

static int cifar_dataset_open(Dataset *d, const char *dir, DataSplit split) {
    const char *probe = split == DATA_TRAIN ? "data_batch_1.bin" : "test_batch.bin";
    char *sub, *path = str_printf("%s/%s", dir, probe);
    if (access(path, F_OK) == 0) {
        sub = str_printf("%s", dir);
    } else {
        sub = str_printf("%s/cifar-10-batches-bin", dir);
        free(path);
        path = str_printf("%s/%s", sub, probe);
        if (access(path, F_OK) != 0) {
            nx_error_set("%s/%s: not found (nor in %s): is %s the CIFAR-10 binary release?", dir, probe, sub, dir);
            free(path);
            free(sub);
            return -1;
        }
    }
    free(path);
    free(d->root);
    d->root = sub;
    int64_t n = 0;
    for (int b = 1; b <= (split == DATA_TRAIN ? 5 : 1); b++) {
        path = split == DATA_TRAIN ? str_printf("%s/data_batch_%d.bin", sub, b) : str_printf("%s/test_batch.bin", sub);
        int rc = cifar10_read_batch(path, &d->pixels, &d->labels, &n);
        free(path);
        if (rc != 0) return -1;
    }
    d->n = n;
    d->c = 3;
    d->h = d->w = 32;
    set_classes(d, CIFAR_CLASSES, 10);
    return 0;
}

/* ---- synthetic:N:CxHxW:K -------------------------------------------------- */

/* "N:CxHxW:K" -> sizes; -1 + nx_error_set on anything else. */
static int synthetic_parse(const char *arg, int64_t *n, int *c, int *h, int *w, int *k) {
    long long nn;
    int cc, hh, ww, kk, end = 0;
    if (sscanf(arg, "%lld:%dx%dx%d:%d%n", &nn, &cc, &hh, &ww, &kk, &end) != 5 || arg[end] != '\0') {
        nx_error_set("dataset 'synthetic:%s': expected synthetic:N:CxHxW:K (e.g. synthetic:64:3x224x224:10)", arg);
        return -1;
    }
    if (nn < 1 || cc < 1 || cc > 3 || hh < 1 || ww < 1 || hh > DATASET_MAX_SIDE || ww > DATASET_MAX_SIDE || kk < 1 ||
        kk > DATASET_MAX_CLASSES) {
        nx_error_set("dataset 'synthetic:%s': expected N >= 1, C in 1..3, sides 1..%d, K in 1..%d", arg,
                     DATASET_MAX_SIDE, DATASET_MAX_CLASSES);
        return -1;
    }
    *n = nn, *c = cc, *h = hh, *w = ww, *k = kk;
    return 0;
}

/* Pixel j of sample i: the low byte of philox_word(s, i * CHW + j); label i:
 * (philox_word(t, i) * K) >> 32; s and t are data_stream(0, DATA_TAG_SYNTH_PIXELS
 * or _LABELS, split): the same bytes for the same spec on every machine. */
static int synthetic_dataset_open(Dataset *d, const char *arg, DataSplit split) {
    int64_t n;
    int c, h, w, k;
    if (synthetic_parse(arg, &n, &c, &h, &w, &k) != 0) return -1;
    int64_t chw = (int64_t)c * h * w;
    if (!(d->pixels = data_alloc(n, chw, "synthetic", "pixels"))) return -1;
    if (!(d->labels = data_alloc(n, (int64_t)sizeof(int32_t), "synthetic", "labels"))) return -1;
    uint64_t ps = data_stream(0, DATA_TAG_SYNTH_PIXELS, (uint64_t)split);
    uint64_t ls = data_stream(0, DATA_TAG_SYNTH_LABELS, (uint64_t)split);
#pragma omp parallel for schedule(static) if (n * chw > 65536)
    for (int64_t i = 0; i < n * chw; i++) d->pixels[i] = (uint8_t)philox_word(ps, (uint64_t)i);
    for (int64_t i = 0; i < n; i++) d->labels[i] = (int32_t)(((uint64_t)philox_word(ls, (uint64_t)i) * (uint64_t)k) >> 32);
    d->n = n, d->c = c, d->h = h, d->w = w;
    d->n_classes = k;
    d->class_names = nx_calloc((size_t)k, sizeof(char *));
    for (int i = 0; i < k; i++) d->class_names[i] = str_printf("%d", i);
    return 0;
}

/* ---- resizing a loaded dataset ------------------------------------------- */

static int resize_all(Dataset *d, int size) {
    size_t in_img = (size_t)d->c * d->h * d->w, out_img = (size_t)d->c * size * size;
    uint8_t *out = data_alloc(d->n, (int64_t)out_img, d->root, "resized pixels");
    if (!out) return -1;
#pragma omp parallel for schedule(static) if (d->n > 64)
    for (int64_t i = 0; i < d->n; i++)
        for (int k = 0; k < d->c; k++)
            image_resize_plane(out + i * out_img + (size_t)k * size * size, size, size,
                               d->pixels + i * in_img + (size_t)k * d->h * d->w, d->h, d->w);
    free(d->pixels);
    d->pixels = out;
    d->h = d->w = size;
    return 0;
}

/* ---- the spec ------------------------------------------------------------ */

int dataset_split_parse(const char *s, DataSplit *out) {
    if (strcmp(s, "train") == 0) *out = DATA_TRAIN;
    else if (strcmp(s, "test") == 0 || strcmp(s, "val") == 0) *out = DATA_TEST;
    else {
        nx_error_set("--split: unknown split '%s' (expected train, test or val)", s);
        return -1;
    }
    return 0;
}

const char *dataset_split_name(DataSplit s) { return s == DATA_TRAIN ? "train" : "test"; }

int dataset_open(Dataset *d, const char *spec, DataSplit split, int image_size, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->split = split;
    if (image_size < 0 || image_size > DATASET_MAX_SIDE) {
        nx_error_set("--image-size %d: expected 0 (native) to %d", image_size, DATASET_MAX_SIDE);
        return -1;
    }
    const char *colon = strchr(spec, ':');
    size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    char name[sizeof d->kind] = {0}; /* the longest kind, "fashion-mnist", fits */
    if (name_len < sizeof name) memcpy(name, spec, name_len);
    static const char *usage =
        "expected fashion-mnist, fashion-mnist:DIR, mnist:DIR, cifar10:DIR, folder:DIR or synthetic:N:CxHxW:K";
    bool synthetic = strcmp(name, "synthetic") == 0; /* its argument is N:CxHxW:K, not a folder */
    bool needs_dir = strcmp(name, "mnist") == 0 || strcmp(name, "cifar10") == 0 || strcmp(name, "folder") == 0;
    if (needs_dir && (!arg || !*arg)) {
        nx_error_set("dataset '%s' needs a folder: %s:DIR", spec, name);
        return -1;
    }
    if (!synthetic && arg && !*arg) {
        nx_error_set("dataset '%s': empty folder after ':'", spec);
        return -1;
    }
    int rc;
    if (synthetic) {
        d->root = str_dup(spec);
        rc = synthetic_dataset_open(d, arg ? arg : "", split);
    } else if (strcmp(name, "fashion-mnist") == 0) {
        d->root = str_dup(arg ? arg : DATASET_FASHION_MNIST_DIR);
        rc = idx_dataset_open(d, d->root, split, FASHION_CLASSES);
    } else if (strcmp(name, "mnist") == 0) {
        d->root = str_dup(arg);
        rc = idx_dataset_open(d, d->root, split, MNIST_CLASSES);
    } else if (strcmp(name, "cifar10") == 0) {
        d->root = str_dup(arg);
        rc = cifar_dataset_open(d, arg, split);
    } else if (strcmp(name, "folder") == 0) {
        d->root = str_dup(arg);
        rc = folder_dataset_open(d, arg, split, image_size, seed);
    } else {
        nx_error_set("unknown dataset '%s' (%s)", spec, usage);
        return -1;
    }
    if (rc == 0 && d->n == 0) {
        nx_error_set("%s: the %s split has no samples", d->root, dataset_split_name(split));
        rc = -1;
    }
    if (rc != 0) {
        dataset_free(d);
        d->split = split;
        return -1;
    }
    snprintf(d->kind, sizeof d->kind, "%s", name);
    if (image_size > 0 && (d->h != image_size || d->w != image_size) && resize_all(d, image_size) != 0) {
        dataset_free(d);
        d->split = split;
        return -1;
    }
    return 0;
}

void dataset_free(Dataset *d) {
    free(d->root);
    free(d->pixels);
    free(d->labels);
    for (int i = 0; i < d->n_classes; i++) free(d->class_names[i]);
    free(d->class_names);
    if (d->files)
        for (int64_t i = 0; i < d->n; i++) free(d->files[i]);
    free(d->files);
    memset(d, 0, sizeof *d);
}

/* ---- helpers --------------------------------------------------------------- */

void dataset_get_float(const Dataset *d, int64_t i, float *out, const float *mean, const float *std) {
    NX_CHECK(i >= 0 && i < d->n, "dataset_get_float: index %lld out of range [0, %lld)", (long long)i,
             (long long)d->n);
    size_t hw = (size_t)d->h * d->w;
    const uint8_t *p = d->pixels + (size_t)i * d->c * hw;
    for (int k = 0; k < d->c; k++) {
        float m = mean ? mean[k] : 0.0f, s = std ? 1.0f / std[k] : 1.0f;
        for (size_t j = 0; j < hw; j++) out[k * hw + j] = (p[k * hw + j] * (1.0f / 255.0f) - m) * s;
    }
}

void dataset_channel_stats(const Dataset *d, float mean[3], float std[3]) {
    size_t hw = (size_t)d->h * d->w;
    for (int k = d->c; k < 3; k++) {
        mean[k] = 0.0f;
        std[k] = 1.0f;
    }
    for (int k = 0; k < d->c; k++) {
        double s = 0, s2 = 0;
#pragma omp parallel for reduction(+ : s, s2) schedule(static) if (d->n > 256)
        for (int64_t i = 0; i < d->n; i++) {
            const uint8_t *p = d->pixels + ((size_t)i * d->c + k) * hw;
            uint64_t a = 0, b = 0;
            for (size_t j = 0; j < hw; j++) {
                a += p[j];
                b += (uint64_t)p[j] * p[j];
            }
            s += (double)a;
            s2 += (double)b;
        }
        double cnt = (double)d->n * hw, m = s / cnt / 255.0, v = s2 / cnt / (255.0 * 255.0) - m * m;
        mean[k] = (float)m;
        std[k] = (float)sqrt(v > 0 ? v : 0);
    }
}

const char *dataset_describe(const Dataset *d) {
    static _Thread_local char buf[1024];
    snprintf(buf, sizeof buf, "%s %s: %lld x %dx%dx%d, %d classes (%s)", d->kind, dataset_split_name(d->split),
             (long long)d->n, d->c, d->h, d->w, d->n_classes, d->root ? d->root : "");
    return buf;
}
