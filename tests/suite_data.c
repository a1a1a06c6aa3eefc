/* suite_data.c: datasets, the loader, PNG writing and safetensors checkpoints.
 *
 * Round trips write small files into a temporary folder (IDX raw and gzip,
 * CIFAR-10 batches, PNG, safetensors) and read them back; fixtures made by
 * PIL and PyTorch (tests/data/make_fixtures.py) check JPEG/PNG decoding, the
 * bilinear resize and a safetensors file from PyTorch's side. Every bad
 * input has a test asserting that the one-line error names the file and the
 * problem. Real datasets (Debian's Fashion-MNIST, ../shared/data/mnist) are
 * checked when present; when absent the test is not registered and the run's
 * summary lists it as skipped (tests/skips.c).
 *
 * NX_TEST_DATA overrides the fixture folder (default tests/data);
 * NX_FASHION_MNIST and NX_SHARED_DATA the real datasets' folders.
 */
#include "tests/testlib.h"

#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/image.h"
#include "data/loader.h"
#include "eval/maps.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *fixtures(void) {
    const char *d = getenv("NX_TEST_DATA");
    return d ? d : "tests/data";
}

static char tmp_root[256];

static const char *tmpdir(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/nx_data_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
    return tmp_root;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rmtree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static char *pjoin(const char *a, const char *b) {
    static char buf[8][1024];
    static int k;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/%s", a, b); /* a may be an earlier result */
    char *p = buf[k++ % 8];
    memcpy(p, tmp, sizeof tmp);
    return p;
}

static void mkdirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    mkdir(tmp, 0755);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = nx_malloc(*n);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void copy_file(const char *dst, const char *src) {
    size_t n;
    uint8_t *b = read_bytes(src, &n);
    write_bytes(dst, b, n);
    free(b);
}

/* Assert rc == -1 and that the error line contains each of the strings. */
static void assert_error(int rc, const char *a, const char *b, const char *c) {
    const char *msg = nx_error_msg();
    ck_assert_msg(rc == -1, "expected an error (%s), got rc %d", a, rc);
    ck_assert_msg(strchr(msg, '\n') == NULL, "error is not one line: %s", msg);
    const char *want[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(!want[i] || strstr(msg, want[i]), "error '%s' lacks '%s'", msg, want[i]);
    printf("  expected error: %s\n", msg);
}

/* An IDX file: magic 00 00 08 ndim, big-endian dims, then data (n bytes). */
static void write_idx(const char *path, bool gz, int ndim, const int *dims, const uint8_t *data, size_t n) {
    uint8_t head[20] = {0, 0, 8, (uint8_t)ndim};
    for (int d = 0; d < ndim; d++) {
        head[4 + 4 * d] = (uint8_t)(dims[d] >> 24);
        head[5 + 4 * d] = (uint8_t)(dims[d] >> 16);
        head[6 + 4 * d] = (uint8_t)(dims[d] >> 8);
        head[7 + 4 * d] = (uint8_t)dims[d];
    }
    if (gz) {
        gzFile g = gzopen(path, "wb");
        ck_assert_ptr_nonnull(g);
        gzwrite(g, head, (unsigned)(4 + 4 * ndim));
        if (n) gzwrite(g, data, (unsigned)n);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(head, 1, (size_t)(4 + 4 * ndim), f);
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static uint8_t pix(int64_t i, int k) { return (uint8_t)((i * 31 + k * 7 + (k * k) / 3) & 0xFF); }

/* An MNIST-style folder: n_train / n_test images of h x w, labels i % 10. */
static void make_idx_dir(const char *dir, int n_train, int n_test, int h, int w, bool gz_images, bool gz_labels) {
    for (int s = 0; s < 2; s++) {
        int n = s ? n_test : n_train;
        const char *prefix = s ? "t10k" : "train";
        uint8_t *px = nx_malloc((size_t)n * h * w + 1), *lab = nx_malloc((size_t)n + 1);
        for (int i = 0; i < n; i++) {
            lab[i] = (uint8_t)((i + s) % 10);
            for (int k = 0; k < h * w; k++) px[i * h * w + k] = pix(i + 100 * s, k);
        }
        char name[256];
        snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, gz_images ? ".gz" : "");
        write_idx(pjoin(dir, name), gz_images, 3, (int[]){n, h, w}, px, (size_t)n * h * w);
        snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", prefix, gz_labels ? ".gz" : "");
        write_idx(pjoin(dir, name), gz_labels, 1, (int[]){n}, lab, (size_t)n);
        free(px);
        free(lab);
    }
}

/* ---- IDX ---------------------------------------------------------------- */

START_TEST(test_idx_roundtrip_gz_and_raw) {
    const char *dir = tmpdir();
    make_idx_dir(dir, 7, 3, 4, 5, true, false);
    char spec[512];
    snprintf(spec, sizeof spec, "mnist:%s", dir);
    Dataset d;
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 0, 1) == 0, "%s", nx_error_msg());
    ck_assert_int_eq(d.n, 7);
    ck_assert(d.c == 1 && d.h == 4 && d.w == 5);
    ck_assert_int_eq(d.n_classes, 10);
    ck_assert_str_eq(d.class_names[3], "3");
    ck_assert_str_eq(d.kind, "mnist");
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(d.labels[i], i % 10);
        for (int k = 0; k < 20; k++) ck_assert_uint_eq(d.pixels[i * 20 + k], pix(i, k));
    }
    dataset_free(&d);
    ck_assert(dataset_open(&d, spec, DATA_TEST, 0, 1) == 0);
    ck_assert_int_eq(d.n, 3);
    ck_assert_int_eq(d.labels[0], 1);
    ck_assert_uint_eq(d.pixels[20 + 3], pix(101, 3));
    dataset_free(&d);

    /* raw images, gzip labels, fashion-mnist names, resized to 8x8 */
    rmtree(dir);
    dir = tmpdir();
    make_idx_dir(dir, 4, 2, 4, 5, false, true);
    snprintf(spec, sizeof spec, "fashion-mnist:%s", dir);
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 8, 1) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 4 && d.c == 1 && d.h == 8 && d.w == 8);
    ck_assert_str_eq(d.class_names[9], "Ankle boot");
    uint8_t src[20], want[64];
    for (int k = 0; k < 20; k++) src[k] = pix(2, k);
    image_resize_plane(want, 8, 8, src, 4, 5);
    ck_assert_mem_eq(d.pixels + 2 * 64, want, 64);
    dataset_free(&d);
    rmtree(dir);
}
END_TEST

START_TEST(test_idx_truncated) {
    const char *dir = tmpdir();
    make_idx_dir(dir, 5, 2, 4, 3, true, true);
    char spec[512];
    snprintf(spec, sizeof spec, "mnist:%s", dir);
    Dataset d;
    /* header says 5 images of 4x3 = 60 bytes, the stream holds 36 */
    uint8_t px[36] = {0};
    write_idx(pjoin(dir, "train-images-idx3-ubyte.gz"), true, 3, (int[]){5, 4, 3}, px, sizeof px);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-images-idx3-ubyte.gz",
                 "truncated: expected 60 bytes of pixels, found 36", NULL);
    /* the same in a raw file */
    write_idx(pjoin(dir, "t10k-images-idx3-ubyte.gz"), false, 3, (int[]){2, 4, 3}, px, 10);
    assert_error(dataset_open(&d, spec, DATA_TEST, 0, 1), "t10k-images-idx3-ubyte.gz",
                 "truncated: expected 24 bytes of pixels, found 10", NULL);
    /* a gzip stream cut in the middle */
    rmtree(dir);
    dir = tmpdir();
    snprintf(spec, sizeof spec, "mnist:%s", dir);
    make_idx_dir(dir, 50, 2, 8, 8, true, true);
    const char *path = pjoin(dir, "train-images-idx3-ubyte.gz");
    size_t n;
    uint8_t *b = read_bytes(path, &n);
    write_bytes(path, b, n / 2);
    free(b);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-images-idx3-ubyte.gz", "truncated", NULL);
    /* a file too short for its header */
    write_bytes(path, "\0\0", 2);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-images-idx3-ubyte.gz", "too short for an IDX header",
                 NULL);
    /* missing files */
    remove(path);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-images-idx3-ubyte.gz", "not found", NULL);
    rmtree(dir);
}
END_TEST

START_TEST(test_idx_corrupt) {
    const char *dir = tmpdir();
    make_idx_dir(dir, 5, 2, 4, 3, true, false);
    char spec[512];
    snprintf(spec, sizeof spec, "mnist:%s", dir);
    Dataset d;
    const char *img = pjoin(dir, "train-images-idx3-ubyte.gz"), *lab = pjoin(dir, "train-labels-idx1-ubyte");
    /* bad magic */
    {
        gzFile g = gzopen(img, "wb");
        gzwrite(g, "GIF89a-not-idx-at-all", 21);
        gzclose(g);
    }
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-images-idx3-ubyte.gz", "not an IDX file", NULL);
    /* float elements */
    {
        uint8_t h[16] = {0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
        write_bytes(lab, h, 16);
    }
    make_idx_dir(dir, 5, 2, 4, 3, true, true); /* images valid again; labels now .gz, raw one shadowed */
    remove(pjoin(dir, "train-labels-idx1-ubyte.gz"));
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-labels-idx1-ubyte",
                 "unsupported IDX element type 0x0d (float)", NULL);
    /* labels given as a 3-dim file */
    uint8_t px[60] = {0};
    write_idx(lab, false, 3, (int[]){5, 4, 3}, px, 60);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-labels-idx1-ubyte", "expected a 1-dim IDX file",
                 NULL);
    /* more labels than images */
    uint8_t labels[6] = {1, 2, 3, 4, 5, 6};
    write_idx(lab, false, 1, (int[]){6}, labels, 6);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-labels-idx1-ubyte", "6 labels", "5 images");
    /* a label out of range */
    labels[2] = 12;
    write_idx(lab, false, 1, (int[]){5}, labels, 5);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-labels-idx1-ubyte", "label 12 at index 2", NULL);
    /* trailing bytes after the data */
    labels[2] = 2;
    write_idx(lab, false, 1, (int[]){4}, labels, 5);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-labels-idx1-ubyte", "1 bytes after", NULL);
    /* a gzip file with a wrong checksum */
    write_idx(lab, false, 1, (int[]){5}, labels, 5);
    size_t n;
    uint8_t *b = read_bytes(img, &n);
    b[n - 8] ^= 0xFF; /* CRC32 of the trailer */
    write_bytes(img, b, n);
    free(b);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "train-images-idx3-ubyte.gz", "corrupt gzip data", NULL);
    rmtree(dir);
}
END_TEST

/* ---- CIFAR-10 ----------------------------------------------------------- */

static void write_cifar(const char *path, int records, int first) {
    uint8_t *b = nx_malloc((size_t)records * 3073);
    for (int r = 0; r < records; r++) {
        b[r * 3073] = (uint8_t)((first + r) % 10);
        for (int k = 0; k < 3072; k++) b[r * 3073 + 1 + k] = pix(first + r, k);
    }
    write_bytes(path, b, (size_t)records * 3073);
    free(b);
}

START_TEST(test_cifar_roundtrip) {
    const char *dir = tmpdir();
    const char *sub = pjoin(dir, "cifar-10-batches-bin");
    mkdirs(sub);
    char name[64];
    for (int b = 1; b <= 5; b++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        write_cifar(pjoin(sub, name), 2, 2 * (b - 1));
    }
    write_cifar(pjoin(sub, "test_batch.bin"), 3, 50);
    char spec[512];
    snprintf(spec, sizeof spec, "cifar10:%s", dir); /* finds the cifar-10-batches-bin subfolder */
    Dataset d;
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 0, 1) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 10 && d.c == 3 && d.h == 32 && d.w == 32 && d.n_classes == 10);
    ck_assert_str_eq(d.class_names[0], "airplane");
    ck_assert_str_eq(d.class_names[9], "truck");
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(d.labels[i], i % 10);
        for (int k = 0; k < 3072; k += 97) ck_assert_uint_eq(d.pixels[i * 3072 + k], pix(i, k));
    }
    dataset_free(&d);
    snprintf(spec, sizeof spec, "cifar10:%s", sub); /* and the batch folder itself */
    ck_assert(dataset_open(&d, spec, DATA_TEST, 0, 1) == 0);
    ck_assert_int_eq(d.n, 3);
    ck_assert_int_eq(d.labels[1], 1);
    ck_assert_uint_eq(d.pixels[2 * 3072 + 5], pix(52, 5));
    dataset_free(&d);
    rmtree(dir);
}
END_TEST

START_TEST(test_cifar_truncated) {
    const char *dir = tmpdir();
    char name[64], spec[512];
    for (int b = 1; b <= 5; b++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        write_cifar(pjoin(dir, name), 2, 0);
    }
    const char *path = pjoin(dir, "data_batch_3.bin");
    size_t n;
    uint8_t *b = read_bytes(path, &n);
    write_bytes(path, b, n - 100);
    snprintf(spec, sizeof spec, "cifar10:%s", dir);
    Dataset d;
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "data_batch_3.bin", "truncated",
                 "not a whole number of 3073-byte records (1 records and 2973 bytes)");
    b[3073] = 200; /* label byte of record 1 */
    write_bytes(path, b, n);
    free(b);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "data_batch_3.bin", "record 1 has label 200", NULL);
    remove(path);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "data_batch_3.bin", "cannot open", NULL);
    assert_error(dataset_open(&d, spec, DATA_TEST, 0, 1), "test_batch.bin", "not found", NULL);
    rmtree(dir);
}
END_TEST

/* ---- specs -------------------------------------------------------------- */

START_TEST(test_unknown_dataset) {
    Dataset d;
    assert_error(dataset_open(&d, "imagenet:/data", DATA_TRAIN, 0, 1), "unknown dataset 'imagenet:/data'",
                 "expected fashion-mnist", NULL);
    assert_error(dataset_open(&d, "mnist", DATA_TRAIN, 0, 1), "dataset 'mnist' needs a folder", NULL, NULL);
    assert_error(dataset_open(&d, "folder:", DATA_TRAIN, 0, 1), "needs a folder", NULL, NULL);
    assert_error(dataset_open(&d, "folder:/nonexistent/nx", DATA_TRAIN, 0, 1), "/nonexistent/nx", "cannot open folder",
                 NULL);
    DataSplit s;
    assert_error(dataset_split_parse("dev", &s), "unknown split 'dev'", NULL, NULL);
    ck_assert(dataset_split_parse("val", &s) == 0 && s == DATA_TEST);
}
END_TEST

/* synthetic:N:CxHxW:K: sizes, the Philox bytes the header promises, the
 * same bytes twice, other bytes for the other split, labels in range and
 * spread over the classes, and one-line errors for malformed specs. */
START_TEST(test_synthetic_dataset) {
    Dataset a, b, t;
    ck_assert_int_eq(dataset_open(&a, "synthetic:200:3x8x6:7", DATA_TRAIN, 0, 1), 0);
    ck_assert_int_eq(dataset_open(&b, "synthetic:200:3x8x6:7", DATA_TRAIN, 0, 99), 0); /* the seed is not used */
    ck_assert_int_eq(dataset_open(&t, "synthetic:200:3x8x6:7", DATA_TEST, 0, 1), 0);
    ck_assert_str_eq(a.kind, "synthetic");
    ck_assert(a.n == 200 && a.c == 3 && a.h == 8 && a.w == 6 && a.n_classes == 7 && t.n == 200);
    ck_assert_str_eq(a.class_names[6], "6");
    size_t bytes = 200 * 3 * 8 * 6;
    ck_assert(memcmp(a.pixels, b.pixels, bytes) == 0 && memcmp(a.labels, b.labels, 200 * sizeof(int32_t)) == 0);
    ck_assert(memcmp(a.pixels, t.pixels, bytes) != 0);
    uint64_t ps = data_stream(0, DATA_TAG_SYNTH_PIXELS, DATA_TRAIN), ls = data_stream(0, DATA_TAG_SYNTH_LABELS, DATA_TRAIN);
    int count[7] = {0};
    double mean = 0;
    for (size_t i = 0; i < bytes; i++) {
        ck_assert_int_eq(a.pixels[i], (uint8_t)philox_word(ps, i));
        mean += a.pixels[i] / (double)bytes;
    }
    for (int i = 0; i < 200; i++) {
        ck_assert(a.labels[i] >= 0 && a.labels[i] < 7);
        ck_assert_int_eq(a.labels[i], (int32_t)(((uint64_t)philox_word(ls, (uint64_t)i) * 7) >> 32));
        count[a.labels[i]]++;
    }
    ck_assert_msg(fabs(mean - 127.5) < 3, "pixel mean %g", mean);
    for (int k = 0; k < 7; k++) ck_assert_msg(count[k] > 10, "class %d has %d of 200 labels", k, count[k]);
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&t);
    ck_assert_int_eq(dataset_open(&a, "synthetic:3:1x28x28:10", DATA_TRAIN, 14, 0), 0); /* --image-size resizes */
    ck_assert(a.n == 3 && a.c == 1 && a.h == 14 && a.w == 14);
    dataset_free(&a);
    const char *bad[] = {"synthetic", "synthetic:", "synthetic:10", "synthetic:10:3x8:2", "synthetic:10:3x8x8:2x",
                         "synthetic:0:3x8x8:2", "synthetic:10:4x8x8:2", "synthetic:10:3x0x8:2", "synthetic:10:3x8x8:0",
                         "synthetic:10:3x8x5000:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_error(dataset_open(&a, bad[i], DATA_TRAIN, 0, 0), "synthetic", "expected", NULL);
    assert_error(dataset_open(&a, "synthetic:1000000000:3x4096x4096:2", DATA_TRAIN, 0, 0), "synthetic", "limit", NULL);
}
END_TEST

/* ---- images, folders, resize -------------------------------------------- */

START_TEST(test_resize_matches_pil) {
    const int H = 15, W = 19;
    uint8_t src[15 * 19];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) src[y * W + x] = (uint8_t)((7 * x * x + 13 * y + 3 * x * y + 11) % 256);
    size_t n;
    uint8_t *want = read_bytes(pjoin(fixtures(), "resize_expected.bin"), &n);
    const int sizes[3][2] = {{5, 7}, {26, 31}, {24, 10}}; /* (h, w) */
    size_t off = 0;
    for (int s = 0; s < 3; s++) {
        int h = sizes[s][0], w = sizes[s][1];
        uint8_t got[26 * 31];
        image_resize_plane(got, h, w, src, H, W);
        int bad = 0;
        for (int k = 0; k < h * w; k++) bad += got[k] != want[off + k];
        ck_assert_msg(bad == 0, "resize %dx%d -> %dx%d: %d pixels differ from PIL", H, W, h, w, bad);
        off += (size_t)h * w;
    }
    ck_assert_uint_eq(off, n);
    free(want);
}
END_TEST

START_TEST(test_folder_dataset_matches_pil) {
    char spec[512];
    snprintf(spec, sizeof spec, "folder:%s/folder", fixtures());
    size_t n;
    uint8_t *want = read_bytes(pjoin(fixtures(), "folder_expected.bin"), &n);
    ck_assert_uint_eq(n, 5 * (6 * 8 * 3 + 4 * 4 * 3));
    Dataset d;
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 0, 42) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 5 && d.c == 3 && d.h == 6 && d.w == 8 && d.n_classes == 2);
    ck_assert_str_eq(d.class_names[0], "cat");
    ck_assert_str_eq(d.class_names[1], "dog");
    const int labels[5] = {0, 0, 1, 1, 1};
    uint8_t planar[6 * 8 * 3];
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(d.labels[i], labels[i]);
        ck_assert_ptr_nonnull(strstr(d.files[i], i < 2 ? "/cat/" : "/dog/"));
        image_interleaved_to_planar(planar, want + i * 144, 3, 6, 8);
        ck_assert_msg(memcmp(d.pixels + i * 144, planar, 144) == 0, "%s differs from PIL's decode", d.files[i]);
    }
    dataset_free(&d);
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 4, 42) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 5 && d.c == 3 && d.h == 4 && d.w == 4);
    for (int i = 0; i < 5; i++) {
        image_interleaved_to_planar(planar, want + 5 * 144 + i * 48, 3, 4, 4);
        ck_assert_msg(memcmp(d.pixels + i * 48, planar, 48) == 0, "%s resized differs from PIL's", d.files[i]);
    }
    dataset_free(&d);
    /* with two images per class, n / 5 = 0 go to test */
    assert_error(dataset_open(&d, spec, DATA_TEST, 0, 42), "folder", "no JPEG or PNG images for the test split", NULL);
    free(want);
}
END_TEST

START_TEST(test_folder_splits) {
    const char *dir = tmpdir();
    char fx[512];
    snprintf(fx, sizeof fx, "%s/folder", fixtures());
    /* train/ and val/ given */
    mkdirs(pjoin(dir, "tv/train/a"));
    mkdirs(pjoin(dir, "tv/train/b"));
    mkdirs(pjoin(dir, "tv/val/b"));
    copy_file(pjoin(dir, "tv/train/a/1.png"), pjoin(fx, "cat/b.png"));
    copy_file(pjoin(dir, "tv/train/a/2.jpg"), pjoin(fx, "cat/a.jpg"));
    copy_file(pjoin(dir, "tv/train/b/1.png"), pjoin(fx, "dog/d.png"));
    copy_file(pjoin(dir, "tv/val/b/x.PNG"), pjoin(fx, "dog/e.png"));
    write_bytes(pjoin(dir, "tv/val/b/notes.txt"), "ignored", 7);
    char spec[512];
    snprintf(spec, sizeof spec, "folder:%s/tv", dir);
    Dataset d;
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 0, 1) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 3 && d.n_classes == 2 && d.labels[2] == 1);
    dataset_free(&d);
    ck_assert_msg(dataset_open(&d, spec, DATA_TEST, 0, 1) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 1 && d.n_classes == 2 && d.labels[0] == 1);
    ck_assert_str_eq(d.class_names[1], "b");
    dataset_free(&d);
    mkdirs(pjoin(dir, "tv/val/zebra"));
    assert_error(dataset_open(&d, spec, DATA_TEST, 0, 1), "val/zebra", "class folder not in", NULL);

    /* no split folders: a split of each class made from the seed */
    char name[64];
    mkdirs(pjoin(dir, "s/x"));
    mkdirs(pjoin(dir, "s/y"));
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "s/x/%02d.png", i);
        copy_file(pjoin(dir, name), pjoin(fx, "cat/b.png"));
        snprintf(name, sizeof name, "s/y/%02d.jpg", i);
        copy_file(pjoin(dir, name), pjoin(fx, "cat/a.jpg"));
    }
    snprintf(spec, sizeof spec, "folder:%s/s", dir);
    Dataset tr, te, te2, te3;
    ck_assert(dataset_open(&tr, spec, DATA_TRAIN, 0, 7) == 0);
    ck_assert(dataset_open(&te, spec, DATA_TEST, 0, 7) == 0);
    ck_assert(dataset_open(&te2, spec, DATA_TEST, 0, 7) == 0);
    ck_assert(dataset_open(&te3, spec, DATA_TEST, 0, 8) == 0);
    ck_assert_int_eq(tr.n, 16);
    ck_assert_int_eq(te.n, 4);
    int seen[20] = {0}, same = 1, differ = 0;
    for (int i = 0; i < 16; i++) seen[strtol(strrchr(tr.files[i], '/') + 1, NULL, 10) + 10 * tr.labels[i]]++;
    for (int i = 0; i < 4; i++) {
        seen[strtol(strrchr(te.files[i], '/') + 1, NULL, 10) + 10 * te.labels[i]]++;
        same &= strcmp(te.files[i], te2.files[i]) == 0;
        differ |= strcmp(te.files[i], te3.files[i]) != 0;
    }
    for (int k = 0; k < 20; k++) ck_assert_int_eq(seen[k], 1); /* disjoint, and together every image */
    ck_assert_msg(same, "the same seed must give the same split");
    ck_assert_msg(differ, "seeds 7 and 8 gave the same test split");
    ck_assert(te.labels[0] == 0 && te.labels[1] == 0 && te.labels[2] == 1 && te.labels[3] == 1);
    dataset_free(&tr);
    dataset_free(&te);
    dataset_free(&te2);
    dataset_free(&te3);

    /* all gray: one channel; gray among RGB: expanded */
    mkdirs(pjoin(dir, "g/only"));
    copy_file(pjoin(dir, "g/only/c.jpg"), pjoin(fx, "dog/c.jpg"));
    snprintf(spec, sizeof spec, "folder:%s/g", dir);
    ck_assert(dataset_open(&d, spec, DATA_TRAIN, 0, 1) == 0);
    ck_assert_int_eq(d.c, 1);
    uint8_t gray[48];
    memcpy(gray, d.pixels, 48);
    dataset_free(&d);
    snprintf(spec, sizeof spec, "folder:%s/folder", fixtures());
    ck_assert(dataset_open(&d, spec, DATA_TRAIN, 0, 1) == 0);
    for (int k = 0; k < 3; k++) ck_assert_mem_eq(d.pixels + 2 * 144 + k * 48, gray, 48);
    dataset_free(&d);

    /* images of different sizes need an image size */
    mkdirs(pjoin(dir, "m/k"));
    copy_file(pjoin(dir, "m/k/a.png"), pjoin(fx, "cat/b.png"));
    uint8_t px[5 * 7 * 3] = {0};
    ck_assert(png_write(pjoin(dir, "m/k/b.png"), px, 5, 7, 3, NULL) == 0);
    snprintf(spec, sizeof spec, "folder:%s/m", dir);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "m/k/b.png", "image is 5x7", "give an image size");
    ck_assert(dataset_open(&d, spec, DATA_TRAIN, 3, 1) == 0);
    ck_assert(d.n == 2 && d.h == 3 && d.w == 3);
    dataset_free(&d);
    rmtree(dir);
}
END_TEST

START_TEST(test_folder_no_images) {
    const char *dir = tmpdir();
    char spec[512];
    snprintf(spec, sizeof spec, "folder:%s", dir);
    Dataset d;
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), dir, "no class folders", NULL);
    mkdirs(pjoin(dir, "cls"));
    write_bytes(pjoin(dir, "cls/readme.txt"), "x", 1);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "/cls", "no JPEG or PNG images", NULL);
    rmtree(dir);
}
END_TEST

START_TEST(test_corrupt_png) {
    const char *dir = tmpdir();
    mkdirs(pjoin(dir, "k"));
    char fx[512];
    snprintf(fx, sizeof fx, "%s/folder/cat/b.png", fixtures());
    size_t n;
    uint8_t *b = read_bytes(fx, &n);
    /* flip a byte of the IDAT chunk's CRC: libpng reports a CRC error */
    uint8_t *idat = memmem(b, n, "IDAT", 4);
    ck_assert_ptr_nonnull(idat);
    uint32_t len = (uint32_t)idat[-4] << 24 | (uint32_t)idat[-3] << 16 | (uint32_t)idat[-2] << 8 | idat[-1];
    uint8_t *crc = idat + 4 + len;
    *crc ^= 0x55;
    const char *path = pjoin(dir, "k/bad.png");
    write_bytes(path, b, n);
    char spec[512];
    snprintf(spec, sizeof spec, "folder:%s", dir);
    Dataset d;
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "k/bad.png", "corrupt PNG", "CRC");
    *crc ^= 0x55;
    idat[6] ^= 0x55; /* a byte of the compressed data: zlib's complaint */
    write_bytes(path, b, n);
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "k/bad.png", "corrupt PNG", NULL);
    idat[6] ^= 0x55;
    write_bytes(path, b, (size_t)(crc - b) - 10); /* cut inside IDAT */
    uint8_t *px;
    int h, w, c;
    assert_error(image_load(path, &px, &h, &w, &c), "k/bad.png", "corrupt PNG", "truncated");
    write_bytes(path, b, 5);
    assert_error(image_load(path, &px, &h, &w, &c), "k/bad.png", "not a JPEG or PNG image", NULL);
    free(b);
    rmtree(dir);
}
END_TEST

START_TEST(test_corrupt_jpeg) {
    const char *dir = tmpdir();
    mkdirs(pjoin(dir, "k"));
    char fx[512];
    snprintf(fx, sizeof fx, "%s/folder/cat/a.jpg", fixtures());
    size_t n;
    uint8_t *b = read_bytes(fx, &n);
    const char *path = pjoin(dir, "k/bad.jpg");
    write_bytes(path, b, n - 6); /* cut inside the scan */
    char spec[512];
    snprintf(spec, sizeof spec, "folder:%s", dir);
    Dataset d;
    assert_error(dataset_open(&d, spec, DATA_TRAIN, 0, 1), "k/bad.jpg", "corrupt JPEG", "Premature end");
    write_bytes(path, b, 40); /* cut inside the headers: a fatal libjpeg error */
    uint8_t *px;
    int h, w, c;
    assert_error(image_load(path, &px, &h, &w, &c), "k/bad.jpg", "corrupt JPEG", NULL);
    memcpy(b, "GIF89a", 6);
    write_bytes(path, b, n);
    char want[96];
    snprintf(want, sizeof want, "not a JPEG or PNG image (%zu bytes, starting 47 49 46 38)", n);
    assert_error(image_load(path, &px, &h, &w, &c), "k/bad.jpg", want, NULL);
    write_bytes(path, b, 0);
    assert_error(image_load(path, &px, &h, &w, &c), "k/bad.jpg", "empty file", NULL);
    free(b);
    rmtree(dir);
}
END_TEST

/* ---- PNG writing -------------------------------------------------------- */

START_TEST(test_png_write_roundtrip) {
    const char *dir = tmpdir();
    for (int ch = 1; ch <= 3; ch += 2) {
        int H = 13, W = 7;
        uint8_t px[13 * 7 * 3];
        for (int k = 0; k < H * W * ch; k++) px[k] = pix(k, k % 5);
        const char *path = pjoin(dir, ch == 1 ? "gray.png" : "rgb.png");
        size_t bytes = 0, size = 0;
        ck_assert_msg(png_write(path, px, H, W, ch, &bytes) == 0, "%s", nx_error_msg());
        struct stat st;
        ck_assert(stat(path, &st) == 0);
        ck_assert_uint_eq((size_t)st.st_size, bytes);
        ck_assert(png_encoded_size(px, H, W, ch, &size) == 0);
        ck_assert_uint_eq(size, bytes);
        uint8_t *enc;
        ck_assert(png_encode(px, H, W, ch, &enc, &size) == 0);
        size_t fn;
        uint8_t *file = read_bytes(path, &fn);
        ck_assert(fn == size && memcmp(file, enc, size) == 0);
        free(file);
        free(enc);
        uint8_t *back;
        int h, w, c;
        ck_assert_msg(image_load(path, &back, &h, &w, &c) == 0, "%s", nx_error_msg());
        ck_assert(h == H && w == W && c == ch);
        ck_assert_mem_eq(back, px, (size_t)H * W * ch);
        free(back);
    }
    /* no temporary files left behind */
    DIR *dp = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(dp)))
        if (e->d_name[0] != '.') {
            files++;
            ck_assert_msg(strstr(e->d_name, ".tmp") == NULL, "leftover %s", e->d_name);
        }
    closedir(dp);
    ck_assert_int_eq(files, 2);
    uint8_t px[4] = {0};
    assert_error(png_write(pjoin(dir, "no/such/dir/x.png"), px, 2, 2, 1, NULL), "no/such/dir/x.png",
                 "cannot create the temporary file", NULL);
    assert_error(png_write(pjoin(dir, "y.png"), px, 2, 2, 2, NULL), "y.png", "with 2 channels", NULL);
    rmtree(dir);
}
END_TEST

/* ---- the loader --------------------------------------------------------- */

static void fake_dataset(Dataset *d, int64_t n, int c, int h, int w) {
    memset(d, 0, sizeof *d);
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    d->pixels = nx_malloc((size_t)n * c * h * w);
    d->labels = nx_malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        d->labels[i] = (int32_t)(i % 10);
        for (int k = 0; k < c * h * w; k++) d->pixels[i * c * h * w + k] = pix(i, k);
    }
}

/* All batches of one epoch, concatenated. */
typedef struct {
    int64_t n_batches, n;
    float *x;
    int32_t *y;
    int64_t *idx;
    int sizes[64];
} Epoch;

static void run_epoch(Loader *l, int e, Epoch *out) {
    const Dataset *d = l->d;
    size_t img = (size_t)d->c * d->h * d->w;
    memset(out, 0, sizeof *out);
    out->x = nx_malloc((size_t)d->n * img * sizeof(float));
    out->y = nx_malloc((size_t)d->n * sizeof(int32_t));
    out->idx = nx_malloc((size_t)d->n * sizeof(int64_t));
    loader_start_epoch(l, e);
    Batch b;
    while (loader_next(l, &b)) {
        ck_assert_int_eq(b.batch, out->n_batches);
        ck_assert(b.c == d->c && b.h == d->h && b.w == d->w);
        out->sizes[out->n_batches++] = b.n;
        memcpy(out->x + out->n * img, b.x, (size_t)b.n * img * sizeof(float));
        memcpy(out->y + out->n, b.y, (size_t)b.n * sizeof(int32_t));
        memcpy(out->idx + out->n, b.index, (size_t)b.n * sizeof(int64_t));
        out->n += b.n;
    }
    ck_assert_int_eq(out->n_batches, loader_num_batches(l));
}

static void epoch_free(Epoch *e) {
    free(e->x);
    free(e->y);
    free(e->idx);
}

static bool epochs_equal(const Epoch *a, const Epoch *b, size_t img) {
    return a->n == b->n && memcmp(a->x, b->x, (size_t)a->n * img * sizeof(float)) == 0 &&
           memcmp(a->y, b->y, (size_t)a->n * 4) == 0 && memcmp(a->idx, b->idx, (size_t)a->n * 8) == 0;
}

START_TEST(test_loader_determinism) {
    Dataset d;
    fake_dataset(&d, 37, 3, 5, 4);
    size_t img = 3 * 5 * 4;
    float mean[3] = {0.5f, 0.4f, 0.3f}, std[3] = {0.2f, 0.25f, 0.3f};
    LoaderOptions o = loader_defaults(8, 1234);
    o.shuffle = true;
    o.crop_pad = 2;
    o.hflip = true;
    o.mean = mean;
    o.std = std;
    Loader a, b, c;
    ck_assert(loader_init(&a, &d, &o) == 0);
    o.prefetch = false;
    ck_assert(loader_init(&b, &d, &o) == 0);
    o.seed = 99;
    ck_assert(loader_init(&c, &d, &o) == 0);
    ck_assert_int_eq(loader_num_batches(&a), 5);
    Epoch a0, a1, b0, b1, c0, a0again;
    run_epoch(&a, 0, &a0);
    run_epoch(&a, 1, &a1);
    run_epoch(&b, 0, &b0);
    run_epoch(&b, 1, &b1);
    run_epoch(&c, 0, &c0);
    run_epoch(&a, 0, &a0again);
    ck_assert_msg(epochs_equal(&a0, &b0, img) && epochs_equal(&a1, &b1, img), "prefetch changed the batches");
    ck_assert_msg(epochs_equal(&a0, &a0again, img), "epoch 0 twice differs");
    ck_assert_msg(memcmp(a0.idx, a1.idx, 37 * 8) != 0, "epochs 0 and 1 have the same order");
    ck_assert_msg(memcmp(a0.idx, c0.idx, 37 * 8) != 0, "seeds 1234 and 99 give the same order");
    const Epoch *all[3] = {&a0, &a1, &c0};
    for (int e = 0; e < 3; e++) {
        int seen[37] = {0};
        ck_assert_int_eq(all[e]->n, 37);
        ck_assert(all[e]->sizes[0] == 8 && all[e]->sizes[4] == 5);
        for (int i = 0; i < 37; i++) {
            seen[all[e]->idx[i]]++;
            ck_assert_int_eq(all[e]->y[i], d.labels[all[e]->idx[i]]);
        }
        for (int i = 0; i < 37; i++) ck_assert_int_eq(seen[i], 1);
    }
    epoch_free(&a0), epoch_free(&a1), epoch_free(&b0), epoch_free(&b1), epoch_free(&c0), epoch_free(&a0again);
    /* an epoch left half way, then a new one: same as a fresh start */
    loader_start_epoch(&a, 3);
    Batch bt;
    ck_assert(loader_next(&a, &bt) == 1);
    Epoch a3, b3;
    run_epoch(&a, 3, &a3);
    run_epoch(&b, 3, &b3);
    ck_assert(epochs_equal(&a3, &b3, img));
    epoch_free(&a3), epoch_free(&b3);
    loader_free(&a);
    loader_free(&b);
    loader_free(&c);

    /* drop_last, no shuffle */
    o = loader_defaults(8, 5);
    o.drop_last = true;
    ck_assert(loader_init(&a, &d, &o) == 0);
    Epoch e;
    run_epoch(&a, 0, &e);
    ck_assert(e.n_batches == 4 && e.n == 32);
    for (int i = 0; i < 32; i++) ck_assert_int_eq(e.idx[i], i);
    for (size_t k = 0; k < 32 * img; k++) ck_assert_float_eq(e.x[k], d.pixels[k] * (1.0f / 255.0f));
    epoch_free(&e);
    loader_free(&a);
    o.batch_size = 0;
    assert_error(loader_init(&a, &d, &o), "batch size 0", NULL, NULL);
    dataset_free(&d);
}
END_TEST

START_TEST(test_loader_augmentation) {
    const int C = 3, H = 6, W = 5, P = 2;
    Dataset d;
    fake_dataset(&d, 40, C, H, W);
    float mean[3] = {0.1f, 0.2f, 0.3f}, std[3] = {0.5f, 0.25f, 2.0f};
    LoaderOptions o = loader_defaults(16, 7);
    o.crop_pad = P;
    o.hflip = true;
    o.mean = mean;
    o.std = std;
    Loader l;
    ck_assert(loader_init(&l, &d, &o) == 0);
    float got[3 * 6 * 5];
    int flips = 0, shifts = 0;
    for (int64_t i = 0; i < d.n; i++) {
        loader_sample(&l, 0, i, got);
        /* find the (dy, dx, flip) that explains the output */
        int found = 0;
        for (int dy = -P; dy <= P; dy++)
            for (int dx = -P; dx <= P; dx++)
                for (int f = 0; f < 2; f++) {
                    bool ok = true;
                    for (int c = 0; c < C && ok; c++)
                        for (int y = 0; y < H && ok; y++)
                            for (int x = 0; x < W && ok; x++) {
                                int xx = f ? W - 1 - x : x, sy = y + dy, sx = xx + dx;
                                float p = sy < 0 || sy >= H || sx < 0 || sx >= W
                                              ? 0.0f
                                              : d.pixels[((i * C + c) * H + sy) * W + sx] / 255.0f;
                                ok = fabsf(got[(c * H + y) * W + x] - (p - mean[c]) / std[c]) < 1e-5f;
                            }
                    if (ok) {
                        found = 1;
                        flips += f;
                        shifts += dy != 0 || dx != 0;
                    }
                }
        ck_assert_msg(found >= 1, "sample %lld is not a padded crop, maybe flipped, of the image", (long long)i);
    }
    ck_assert_msg(flips > 5 && flips < 35, "%d flips in 40 samples", flips);
    ck_assert_msg(shifts > 20, "%d shifted crops in 40 samples", shifts);
    /* a batch has the shape (B, C, H, W) and holds the same samples */
    loader_start_epoch(&l, 0);
    Batch b;
    ck_assert(loader_next(&l, &b) == 1);
    ck_assert(b.n == 16 && b.c == C && b.h == H && b.w == W);
    loader_sample(&l, 0, b.index[5], got);
    ck_assert_mem_eq(b.x + 5 * C * H * W, got, sizeof got);
    loader_free(&l);
    dataset_free(&d);
}
END_TEST

/* ---- safetensors -------------------------------------------------------- */

static void fill_store(ParamStore *s, float base) {
    for (int i = 0; i < s->n; i++)
        for (int64_t k = 0; k < s->t[i]->numel; k++) s->t[i]->data[k] = base + (float)i + 0.125f * (float)k;
}

static void make_store(ParamStore *s) {
    params_init(s, NX_CPU);
    params_add(s, "conv1.weight", 4, (int[]){4, 3, 3, 3}, false);
    params_add(s, "bn1.running_mean", 1, (int[]){4}, true);
    params_add(s, "fc.weight", 2, (int[]){10, 7}, false);
    params_add(s, "fc.bias", 1, (int[]){10}, false);
    params_finalize(s);
}

START_TEST(test_safetensors_roundtrip) {
    const char *dir = tmpdir();
    const char *path = pjoin(dir, "ckpt.safetensors");
    ParamStore a, b;
    make_store(&a);
    make_store(&b);
    fill_store(&a, 1.5f);
    const char *meta[4] = {"epoch", "3", "note", "quote \" and \\ and \n"};
    ck_assert_msg(safetensors_save_params(path, &a, 2, meta) == 0, "%s", nx_error_msg());
    ck_assert_msg(safetensors_load_params(path, &b, false) == 0, "%s", nx_error_msg());
    for (int i = 0; i < a.n; i++) ck_assert_mem_eq(a.t[i]->data, b.t[i]->data, (size_t)a.t[i]->numel * 4);
    SafetensorsFile sf;
    ck_assert(safetensors_open(&sf, path) == 0);
    ck_assert_int_eq(sf.header_len % 8, 0);
    ck_assert_int_eq(sf.n, 4);
    ck_assert_str_eq(safetensors_meta(&sf, "epoch"), "3");
    ck_assert_str_eq(safetensors_meta(&sf, "note"), "quote \" and \\ and \n");
    const StTensorInfo *ti = safetensors_find(&sf, "fc.weight");
    ck_assert(ti && ti->ndim == 2 && ti->shape[0] == 10 && ti->shape[1] == 7 && strcmp(ti->dtype, "F32") == 0);
    safetensors_close(&sf);
    /* int32 tensors keep their dtype */
    nx_step_reset();
    int32_t iv[3] = {-1, 5, 1 << 20};
    const Tensor *ts[1] = {tensor_wrap(NX_CPU, NX_I32, iv, 1, (int[]){3})};
    const char *names[1] = {"idx"};
    ck_assert(safetensors_save(path, 1, names, ts, 0, NULL) == 0);
    ck_assert(safetensors_open(&sf, path) == 0);
    ck_assert_str_eq(sf.t[0].dtype, "I32");
    int32_t back[3];
    ck_assert(safetensors_read_raw(&sf, &sf.t[0], back) == 0);
    ck_assert_mem_eq(back, iv, sizeof iv);
    safetensors_close(&sf);
    params_free(&a);
    params_free(&b);
    rmtree(dir);
}
END_TEST

START_TEST(test_maps_roundtrip) {
    const char *dir = tmpdir();
    const char *path = pjoin(dir, "maps.safetensors");
    MapsFile a, b;
    maps_alloc(&a, 3, 4, 5, 2, 2);
    for (int i = 0; i < 3 * 4 * 5; i++) a.maps[i] = (float)i / 7.0f;
    for (int i = 0; i < 3 * 2 * 2; i++) a.native[i] = -(float)i;
    for (int i = 0; i < 3; i++) a.index[i] = 100 + i, a.target[i] = i, a.label[i] = 2 - i;
    maps_set_meta(&a, "method", "saliency");
    maps_set_meta(&a, "method", "ig"); /* replaced, not duplicated */
    maps_set_meta(&a, "steps", "64");
    ck_assert_msg(maps_save(path, &a) == 0, "%s", nx_error_msg());
    ck_assert_msg(maps_load(&b, path) == 0, "%s", nx_error_msg());
    ck_assert(b.n == 3 && b.h == 4 && b.w == 5 && b.nh == 2 && b.nw == 2 && b.n_meta == 2);
    ck_assert_mem_eq(a.maps, b.maps, sizeof(float) * 60);
    ck_assert_mem_eq(a.native, b.native, sizeof(float) * 12);
    ck_assert_mem_eq(a.index, b.index, sizeof(int32_t) * 3);
    ck_assert_mem_eq(a.target, b.target, sizeof(int32_t) * 3);
    ck_assert_mem_eq(a.label, b.label, sizeof(int32_t) * 3);
    ck_assert_str_eq(maps_meta(&b, "method"), "ig");
    ck_assert_str_eq(maps_meta(&b, "steps"), "64");
    ck_assert_ptr_null(maps_meta(&b, "absent"));
    maps_free(&b);
    /* a NaN map is refused, naming the file and the tensor */
    a.maps[7] = NAN;
    ck_assert(maps_save(path, &a) == 0);
    ck_assert_int_eq(maps_load(&b, path), -1);
    ck_assert_ptr_nonnull(strstr(nx_error_msg(), "maps.safetensors"));
    ck_assert_ptr_nonnull(strstr(nx_error_msg(), "non-finite"));
    maps_free(&a);
    /* a file without 'label' is refused */
    nx_step_reset();
    float mv[4] = {0};
    int32_t iv[1] = {0};
    const Tensor *ts[3] = {tensor_wrap(NX_CPU, NX_F32, mv, 3, (int[]){1, 2, 2}),
                           tensor_wrap(NX_CPU, NX_I32, iv, 1, (int[]){1}), tensor_wrap(NX_CPU, NX_I32, iv, 1, (int[]){1})};
    const char *names[3] = {"maps", "index", "target"};
    ck_assert(safetensors_save(path, 3, names, ts, 0, NULL) == 0);
    ck_assert_int_eq(maps_load(&b, path), -1);
    ck_assert_ptr_nonnull(strstr(nx_error_msg(), "'label'"));
    rmtree(dir);
}
END_TEST

START_TEST(test_safetensors_from_pytorch) {
    char path[512];
    snprintf(path, sizeof path, "%s/torch_small.safetensors", fixtures());
    /* nn.Sequential(Conv2d(1, 2, 3), BatchNorm2d(2), Flatten(), Linear(8, 3)).state_dict() */
    static const char *keys[] = {"0.bias",          "0.weight",       "1.bias",   "1.num_batches_tracked",
                                 "1.running_mean",  "1.running_var",  "1.weight", "3.bias",
                                 "3.weight"};
    ParamStore s;
    params_init(&s, NX_CPU);
    Tensor *t[9];
    t[0] = params_add(&s, "0.weight", 4, (int[]){2, 1, 3, 3}, false);
    t[1] = params_add(&s, "0.bias", 1, (int[]){2}, false);
    t[2] = params_add(&s, "1.weight", 1, (int[]){2}, false);
    t[3] = params_add(&s, "1.bias", 1, (int[]){2}, false);
    t[4] = params_add(&s, "1.running_mean", 1, (int[]){2}, true);
    t[5] = params_add(&s, "1.running_var", 1, (int[]){2}, true);
    t[6] = params_add(&s, "3.weight", 2, (int[]){3, 8}, false);
    t[7] = params_add(&s, "3.bias", 1, (int[]){3}, false);
    params_finalize(&s);
    /* num_batches_tracked is in the file, not in the store: skipped even without ignore_extra */
    ck_assert_msg(safetensors_load_params(path, &s, false) == 0, "%s", nx_error_msg());
    for (int i = 0; i < 8; i++) {
        int k = 0;
        while (strcmp(keys[k], t[i]->name) != 0) k++;
        for (int64_t j = 0; j < t[i]->numel; j++) ck_assert_float_eq(t[i]->data[j], (float)j * 0.25f - (float)k);
    }
    SafetensorsFile sf;
    ck_assert(safetensors_open(&sf, path) == 0);
    ck_assert_str_eq(safetensors_meta(&sf, "format"), "pt");
    const StTensorInfo *nb = safetensors_find(&sf, "1.num_batches_tracked");
    ck_assert(nb && nb->ndim == 0 && nb->numel == 1 && strcmp(nb->dtype, "I64") == 0);
    safetensors_close(&sf);
    params_free(&s);
    /* a store that keeps num_batches_tracked (a scalar buffer) gets it as float */
    params_init(&s, NX_CPU);
    Tensor *nbt = params_add(&s, "1.num_batches_tracked", 0, NULL, true);
    params_finalize(&s);
    ck_assert_msg(safetensors_load_params(path, &s, true) == 0, "%s", nx_error_msg());
    ck_assert_float_eq(nbt->data[0], 7.0f);
    params_free(&s);
}
END_TEST

/* A file with a hand-written header and n data bytes. */
static void write_st(const char *path, const char *header, size_t data_bytes) {
    FILE *f = fopen(path, "wb");
    uint64_t n = strlen(header);
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)(n >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, n, f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    fclose(f);
}

START_TEST(test_safetensors_errors) {
    const char *dir = tmpdir();
    const char *path = pjoin(dir, "ckpt.safetensors");
    ParamStore a;
    make_store(&a);
    fill_store(&a, 0.0f);
    ck_assert(safetensors_save_params(path, &a, 0, NULL) == 0);
    size_t n;
    uint8_t *b = read_bytes(path, &n);

    /* truncated data, truncated header, too short for the length */
    write_bytes(path, b, n - 10);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "truncated", NULL);
    write_bytes(path, b, 40);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "truncated: header length", NULL);
    write_bytes(path, b, 5);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "truncated", "too short");
    write_bytes(path, b, n);

    /* bad JSON in the header */
    uint8_t *colon = memchr(b + 8, ':', n - 8);
    *colon = ';';
    write_bytes(path, b, n);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "bad header JSON at byte",
                 "expected ':'");
    *colon = ':';
    write_st(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", 8);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "bad header JSON", NULL);
    write_st(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "bad header JSON",
                 "non-negative integer");
    write_st(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "unexpected or repeated key", NULL);
    write_st(path, "{\"x\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "unknown dtype", NULL);
    /* offsets that do not match the shape, holes, overlaps, trailing bytes */
    write_st(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "'x'", "do not hold 3 F32");
    write_st(path,
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
             12);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "'y'", "overlaps");
    write_st(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "4 bytes after the last tensor", NULL);
    /* a header length that cannot be right */
    memset(b, 0xFF, 8);
    write_bytes(path, b, n);
    assert_error(safetensors_load_params(path, &a, false), "ckpt.safetensors", "over the 100 MB limit", NULL);

    /* a key missing from the file, a wrong shape, an unsupported dtype, extra keys */
    ParamStore s;
    ck_assert(safetensors_save_params(path, &a, 0, NULL) == 0);
    params_init(&s, NX_CPU);
    params_add(&s, "fc.weight", 2, (int[]){10, 7}, false);
    params_add(&s, "head.weight", 2, (int[]){10, 7}, false);
    params_finalize(&s);
    assert_error(safetensors_load_params(path, &s, true), "ckpt.safetensors", "key 'head.weight' is missing", NULL);
    params_free(&s);
    params_init(&s, NX_CPU);
    params_add(&s, "fc.weight", 2, (int[]){7, 10}, false);
    params_finalize(&s);
    assert_error(safetensors_load_params(path, &s, true), "ckpt.safetensors", "'fc.weight': shape mismatch",
                 "expected (7, 10), found (10, 7)");
    params_free(&s);
    params_init(&s, NX_CPU);
    Tensor *fw = params_add(&s, "fc.weight", 2, (int[]){10, 7}, false);
    params_finalize(&s);
    assert_error(safetensors_load_params(path, &s, false), "ckpt.safetensors", "is not in the model",
                 "3 such keys");
    ck_assert_msg(safetensors_load_params(path, &s, true) == 0, "%s", nx_error_msg());
    ck_assert_float_eq(fw->data[3], 2.0f + 0.375f);
    params_free(&s);
    params_init(&s, NX_CPU);
    params_add(&s, "x", 1, (int[]){2}, false);
    params_finalize(&s);
    write_st(path, "{\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16); /* F16 loads now */
    assert_error(safetensors_load_params(path, &s, false), "ckpt.safetensors", "'x': unsupported dtype F64", NULL);
    remove(path);
    assert_error(safetensors_load_params(path, &s, false), "ckpt.safetensors", "cannot open", NULL);
    params_free(&s);
    params_free(&a);
    free(b);
    rmtree(dir);
}
END_TEST

/* ---- real datasets, when present ---------------------------------------- */

/* registered only when present (suite_data) */
START_TEST(test_fashion_mnist_debian) {
    Dataset d;
    ck_assert_msg(dataset_open(&d, test_fashion_mnist_spec(), DATA_TEST, 0, 1) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 10000 && d.c == 1 && d.h == 28 && d.w == 28);
    int count[10] = {0};
    for (int64_t i = 0; i < d.n; i++) count[d.labels[i]]++;
    for (int k = 0; k < 10; k++) ck_assert_int_eq(count[k], 1000);
    printf("  %s\n", dataset_describe(&d));
    dataset_free(&d);
}
END_TEST

static const char *mnist_shared_dir(void) {
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/mnist", test_shared_data_dir());
    return dir;
}

static bool have_mnist_shared(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", mnist_shared_dir());
    if (access(path, R_OK) != 0) return false;
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", mnist_shared_dir());
    return access(path, R_OK) == 0;
}

/* registered only when present (suite_data) */
START_TEST(test_mnist_shared) {
    Dataset d;
    char spec[700];
    snprintf(spec, sizeof spec, "mnist:%s", mnist_shared_dir());
    ck_assert_msg(dataset_open(&d, spec, DATA_TRAIN, 0, 1) == 0, "%s", nx_error_msg());
    ck_assert(d.n == 60000 && d.h == 28 && d.w == 28);
    static const int want[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    int count[10] = {0};
    for (int64_t i = 0; i < d.n; i++) count[d.labels[i]]++;
    for (int k = 0; k < 10; k++) ck_assert_int_eq(count[k], want[k]);
    float mean[3], std[3];
    dataset_channel_stats(&d, mean, std);
    ck_assert_float_eq_tol(mean[0], 0.1307f, 1e-4f); /* the well-known Normalize((0.1307,), (0.3081,)) */
    ck_assert_float_eq_tol(std[0], 0.3081f, 1e-4f);
    printf("  %s\n", dataset_describe(&d));
    dataset_free(&d);
}
END_TEST

Suite *suite_data(void) {
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_idx_roundtrip_gz_and_raw);
    tcase_add_test(tc, test_idx_truncated);
    tcase_add_test(tc, test_idx_corrupt);
    tcase_add_test(tc, test_cifar_roundtrip);
    tcase_add_test(tc, test_cifar_truncated);
    tcase_add_test(tc, test_unknown_dataset);
    tcase_add_test(tc, test_synthetic_dataset);
    tcase_add_test(tc, test_resize_matches_pil);
    tcase_add_test(tc, test_folder_dataset_matches_pil);
    tcase_add_test(tc, test_folder_splits);
    tcase_add_test(tc, test_folder_no_images);
    tcase_add_test(tc, test_corrupt_png);
    tcase_add_test(tc, test_corrupt_jpeg);
    tcase_add_test(tc, test_png_write_roundtrip);
    tcase_add_test(tc, test_loader_determinism);
    tcase_add_test(tc, test_loader_augmentation);
    tcase_add_test(tc, test_safetensors_roundtrip);
    tcase_add_test(tc, test_safetensors_from_pytorch);
    tcase_add_test(tc, test_maps_roundtrip);
    tcase_add_test(tc, test_safetensors_errors);
    TCASE_ADD_TEST_IF(tc, test_fashion_mnist_debian, test_have_fashion_mnist(),
                      "Fashion-MNIST not in %s (Debian package dataset-fashion-mnist)", test_fashion_mnist_dir());
    TCASE_ADD_TEST_IF(tc, test_mnist_shared, have_mnist_shared(), "MNIST not in %s", mnist_shared_dir());
    suite_add_tcase(s, tc);
    return s;
}
