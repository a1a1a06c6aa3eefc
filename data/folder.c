/* folder.c: the folder:DIR dataset (one subfolder of images per class).
 *
 * Layout:
 *   DIR/train/<class>/NAME.jpg and DIR/val/<class>/ (or DIR/test/<class>/):
 *       the two splits as given; classes are the subfolders of DIR/train.
 *   otherwise DIR/<class>/NAME.jpg (or DIR/train/<class>/ alone): each class's
 *       images, sorted by name, are shuffled with a Philox stream made from
 *       the seed and the class index (data_permutation); the first
 *       n_class / 5 (rounded down) are the test split, the rest train. The
 *       same seed gives the same split on every machine.
 * Class names are the subfolder names, sorted bytewise (strcmp); labels
 * are their indices. Images are the files ending in .jpg, .jpeg or .png
 * (any case); names starting with '.' and other files are ignored. Within a
 * split, samples are ordered by class, then by file name.
 *
 * Decoding runs in parallel (OpenMP) straight into the uint8 (N, C, H, W)
 * array: each image is decoded, made planar, gray expanded to RGB, and
 * resized to image_size x image_size (PIL bilinear, no aspect ratio kept).
 * With image_size 0 every image must have the size of the first. If every
 * image of the split is grayscale the dataset keeps one channel, else three.
 * The first failing file (lowest index) is the one reported.
 */
#include "data/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/image.h"

typedef struct {
    char **v;
    int n, cap;
} StrList;

static void list_push(StrList *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = nx_realloc(l->v, (size_t)l->cap * sizeof(char *));
    }
    size_t n = strlen(s) + 1;
    l->v[l->n] = nx_malloc(n);
    memcpy(l->v[l->n++], s, n);
}

static void list_free(StrList *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

static char *path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = nx_malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* Sorted names in dir: subfolders (want_dirs) or image files. */
static int list_dir(const char *dir, bool want_dirs, StrList *out) {
    DIR *dp = opendir(dir);
    if (!dp) {
        nx_error_set("%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char *path = path_join(dir, e->d_name);
        struct stat st;
        bool ok = stat(path, &st) == 0 &&
                  (want_dirs ? S_ISDIR(st.st_mode) : (S_ISREG(st.st_mode) && is_image_name(e->d_name)));
        free(path);
        if (ok) list_push(out, e->d_name);
    }
    closedir(dp);
    if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof(char *), cmp_str);
    return 0;
}

/* Decode file i into its slot of out (3 planes of s_h x s_w). */
static int load_one(const char *path, uint8_t *slot /* (3, th, tw) */, int th, int tw, bool resize, bool *gray) {
    uint8_t *px;
    int h, w, c;
    if (image_load(path, &px, &h, &w, &c) != 0) return -1;
    if (!resize && (h != th || w != tw)) {
        nx_error_set("%s: image is %dx%d (HxW) but the first image is %dx%d: give an image size to resize to", path,
                     h, w, th, tw);
        free(px);
        return -1;
    }
    *gray = c == 1;
    size_t hw = (size_t)h * w, thw = (size_t)th * tw;
    uint8_t *planar = nx_malloc((size_t)c * hw);
    image_interleaved_to_planar(planar, px, c, h, w);
    free(px);
    for (int k = 0; k < c; k++) image_resize_plane(slot + k * thw, th, tw, planar + k * hw, h, w);
    for (int k = c; k < 3; k++) memcpy(slot + k * thw, slot, thw); /* gray -> RGB */
    free(planar);
    return 0;
}

int folder_dataset_open(Dataset *d, const char *dir, DataSplit split, int image_size, uint64_t seed) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        nx_error_set("%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        nx_error_set("%s: not a folder", dir);
        return -1;
    }
    char *train_dir = path_join(dir, "train"), *val_dir = path_join(dir, "val"), *test_dir = path_join(dir, "test");
    const char *class_root = dir, *split_root = dir;
    bool by_folder = false;
    if (is_dir(train_dir)) {
        class_root = split_root = train_dir;
        const char *other = is_dir(val_dir) ? val_dir : is_dir(test_dir) ? test_dir : NULL;
        if (other) {
            by_folder = true;
            if (split == DATA_TEST) split_root = other;
        }
    }
    StrList classes = {0}, files = {0};
    int32_t *labels = NULL;
    int64_t *perm = NULL;
    int rc = -1;
    if (list_dir(class_root, true, &classes) != 0) goto done;
    if (classes.n == 0) {
        nx_error_set("%s: no class folders (expected one subfolder of JPEG or PNG images per class)", class_root);
        goto done;
    }
    if (by_folder && split_root != class_root) { /* every split folder must be a known class */
        StrList other = {0};
        if (list_dir(split_root, true, &other) != 0) goto done;
        for (int i = 0; i < other.n; i++)
            if (!bsearch(&other.v[i], classes.v, (size_t)classes.n, sizeof(char *), cmp_str)) {
                nx_error_set("%s/%s: class folder not in %s", split_root, other.v[i], class_root);
                list_free(&other);
                goto done;
            }
        list_free(&other);
    }
    int cap = 0;
    for (int k = 0; k < classes.n; k++) {
        char *cdir = path_join(split_root, classes.v[k]);
        StrList imgs = {0};
        if (by_folder && split_root != class_root && !is_dir(cdir)) { /* a class absent from val/ */
            free(cdir);
            continue;
        }
        if (list_dir(cdir, false, &imgs) != 0) {
            free(cdir);
            goto done;
        }
        if (imgs.n == 0 && split_root == class_root) {
            nx_error_set("%s: no JPEG or PNG images (.jpg, .jpeg, .png) in this class folder", cdir);
            free(cdir);
            list_free(&imgs);
            goto done;
        }
        bool *is_test = nx_calloc((size_t)(imgs.n ? imgs.n : 1), sizeof(bool));
        if (!by_folder) {
            perm = nx_realloc(perm, (size_t)(imgs.n ? imgs.n : 1) * sizeof(int64_t));
            data_permutation(perm, imgs.n, data_stream(seed, DATA_TAG_SPLIT, (uint64_t)k));
            for (int j = 0; j < imgs.n / 5; j++) is_test[perm[j]] = true;
        }
        for (int j = 0; j < imgs.n; j++) {
            if (!by_folder && is_test[j] != (split == DATA_TEST)) continue;
            char *p = path_join(cdir, imgs.v[j]);
            list_push(&files, p);
            free(p);
            if (files.n > cap) {
                cap = files.cap;
                labels = nx_realloc(labels, (size_t)cap * sizeof(int32_t));
            }
            labels[files.n - 1] = k;
        }
        free(is_test);
        free(cdir);
        list_free(&imgs);
    }
    if (files.n == 0) {
        nx_error_set("%s: no JPEG or PNG images for the %s split", split_root, dataset_split_name(split));
        goto done;
    }

    /* the target size: image_size, or the first image's own size */
    int th = image_size, tw = image_size;
    uint8_t *first = NULL;
    int fc;
    if (image_size == 0) {
        if (image_load(files.v[0], &first, &th, &tw, &fc) != 0) goto done;
        free(first);
    }
    if (th > DATASET_MAX_SIDE || tw > DATASET_MAX_SIDE) {
        nx_error_set("%s: %dx%d pixels: a folder dataset takes sides up to %d (resize with --image-size)", files.v[0],
                     tw, th, DATASET_MAX_SIDE);
        goto done;
    }
    int64_t n = files.n;
    size_t img = (size_t)3 * th * tw;
    if (!(d->pixels = data_alloc(n, (int64_t)img, split_root, "pixels"))) goto done;
    bool *gray = nx_calloc((size_t)n, sizeof(bool));
    int64_t bad = n;
    char bad_msg[1024] = {0};
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; i++) {
        int64_t seen;
#pragma omp atomic read
        seen = bad;
        if (i > seen) continue; /* an earlier file already failed */
        if (load_one(files.v[i], d->pixels + i * img, th, tw, image_size > 0, &gray[i]) != 0) {
#pragma omp critical(folder_error)
            if (i < bad) {
                snprintf(bad_msg, sizeof bad_msg, "%s", nx_error_msg());
#pragma omp atomic write
                bad = i;
            }
        }
    }
    bool all_gray = true;
    for (int64_t i = 0; i < n; i++) all_gray &= gray[i];
    free(gray);
    if (bad < n) {
        nx_error_set("%s", bad_msg);
        goto done;
    }
    d->c = 3;
    if (all_gray) { /* keep one channel: move plane 0 of each image down */
        size_t thw = (size_t)th * tw;
        for (int64_t i = 0; i < n; i++) memmove(d->pixels + i * thw, d->pixels + i * img, thw);
        d->pixels = nx_realloc(d->pixels, (size_t)n * thw);
        d->c = 1;
    }
    d->n = n;
    d->h = th;
    d->w = tw;
    d->labels = labels;
    labels = NULL;
    d->files = files.v;
    files.v = NULL;
    files.n = 0;
    d->n_classes = classes.n;
    d->class_names = classes.v;
    classes.v = NULL;
    classes.n = 0;
    free(d->root);
    d->root = nx_malloc(strlen(split_root) + 1);
    strcpy(d->root, split_root);
    rc = 0;
done:
    list_free(&classes);
    list_free(&files);
    free(labels);
    free(perm);
    free(train_dir);
    free(val_dir);
    free(test_dir);
    return rc;
}
