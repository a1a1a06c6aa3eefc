/* suite_badinput.c: bad input never aborts (issue 11).
 *
 * Each case crafts its input here (IDX, CIFAR, PNG, JPEG and safetensors
 * files, a FIFO, out-of-range flags), runs bin/nicex on it (NX_BIN
 * overrides, e.g. the sanitizer build's) and asserts:
 *   - the exit status (2: user error, 1: bad file; 130/143: interrupted),
 *   - that stderr names the offending file or flag,
 *   - that nothing crashed: no "fatal:", no sanitizer report, and the run
 *     ended before its timeout (a hang fails the case).
 * Then the interruption cases: a SIGINT'd run leaves no temporary file,
 * names its last good checkpoint and, resumed, ends byte-identical to an
 * uninterrupted run; a state file from another epoch is refused.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/image.h"
#include "layers/checkpoint.h"
#include "nice/checkpoint.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

extern char **environ;

static char tmp[256];  /* this run's scratch folder */
static char data[512]; /* a tiny Fashion-MNIST-shaped dataset: 64 train, 32 test images */
static char ckpt[512]; /* a lenet5 checkpoint for it */

static const char *nicex_bin(void) {
    const char *b = getenv("NX_BIN");
    return b && *b ? b : "bin/nicex";
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

/* ---- running nicex ------------------------------------------------------- */

static pid_t spawn_nicex(const char *const *args) {
    const char *argv[64];
    int k = 0;
    argv[k++] = nicex_bin();
    for (int i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
    argv[k] = NULL;
    char out[300], err[300];
    snprintf(out, sizeof out, "%s/stdout.txt", tmp);
    snprintf(err, sizeof err, "%s/stderr.txt", tmp);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(rc == 0, "cannot run %s: %s", argv[0], strerror(rc));
    return pid;
}

/* Exit status, 128 + signal when killed by one, or -1 after a timeout (then killed). */
static int wait_nicex(pid_t pid, double timeout_s) {
    struct timespec t0, now, nap = {0, 5 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) * 1e-9 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        nanosleep(&nap, NULL);
    }
}

static int run_nicex(const char *const *args, double timeout_s) { return wait_nicex(spawn_nicex(args), timeout_s); }

static char *last_stderr(void) {
    char p[300];
    snprintf(p, sizeof p, "%s/stderr.txt", tmp);
    return slurp(p);
}

/* nicex ARGS must exit with status `want` within the timeout, and its
 * stderr name `needle`, without a crash or a sanitizer report. */
static void expect_fail(int want, const char *needle, const char *const *args) {
    char cmd[2048] = "";
    for (int i = 0; args[i]; i++) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %.200s", args[i]);
    int rc = run_nicex(args, 600);
    char *err = last_stderr();
    ck_assert_msg(rc != -1, "nicex%s: timed out (a hang)", cmd);
    ck_assert_msg(!strstr(err, "fatal:") && !strstr(err, "Sanitizer") && !strstr(err, "runtime error"),
                  "nicex%s crashed: %s", cmd, err);
    ck_assert_msg(rc == want, "nicex%s: exit %d, expected %d; stderr: %s", cmd, rc, want, err);
    ck_assert_msg(strstr(err, needle), "nicex%s: stderr does not name '%s': %s", cmd, needle, err);
    printf("  exit %d  nicex%s\n          %s", rc, cmd, strrchr(err, '\n') && strlen(err) > 1 ? err : "\n");
    free(err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- crafting files -------------------------------------------------------- */

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An IDX file: the header of ndim dims, then `bytes` bytes (pattern). */
static void write_idx(const char *path, int ndim, const uint32_t *dims, size_t bytes) {
    uint8_t *b = calloc(1, 4 + 4 * (size_t)ndim + bytes + 1);
    b[2] = 0x08, b[3] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++) put_be32(b + 4 + 4 * d, dims[d]);
    for (size_t i = 0; i < bytes; i++) b[4 + 4 * ndim + i] = (uint8_t)(ndim == 1 ? i % 10 : (i * 37) % 251);
    write_bytes(path, b, 4 + 4 * (size_t)ndim + bytes);
    free(b);
}

/* DIR/{train,t10k}-{images,labels} with n_train / n_test images of h x w. */
static void make_idx_dataset(const char *dir, int n_train, int n_test, int h, int w) {
    mkdir(dir, 0755);
    char p[600];
    for (int s = 0; s < 2; s++) {
        int n = s ? n_test : n_train;
        const char *pre = s ? "t10k" : "train";
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, pre);
        write_idx(p, 3, (uint32_t[]){(uint32_t)n, (uint32_t)h, (uint32_t)w}, (size_t)n * h * w);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, pre);
        write_idx(p, 1, (uint32_t[]){(uint32_t)n}, (size_t)n);
    }
}

/* A lenet5 checkpoint with the given metadata (NULL: model_save's own). */
static void make_ckpt(const char *path, int classes, int n_meta, const char *const *meta) {
    Model m;
    rng_seed(1);
    ck_assert(model_create(&m, "lenet5", classes, 1, 28, NX_CPU) == 0);
    if (meta) ck_assert_msg(safetensors_save_params(path, &m.params, n_meta, meta) == 0, "%s", nx_error_msg());
    else ck_assert_msg(model_save(&m, path, 0, NULL) == 0, "%s", nx_error_msg());
    model_free(&m);
}

static void setup(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/nicex-badinput-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(tmp) != NULL);
    snprintf(data, sizeof data, "%s/fm", tmp);
    make_idx_dataset(data, 64, 32, 28, 28);
    snprintf(ckpt, sizeof ckpt, "%s/lenet5.safetensors", tmp);
    make_ckpt(ckpt, 10, 0, NULL);
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
}

static char *spec(const char *kind, const char *dir) {
    static char s[4][700];
    static int k;
    k = (k + 1) % 4;
    snprintf(s[k], sizeof s[k], "%s:%s", kind, dir);
    return s[k];
}

static char *tpath(const char *name) {
    static char s[8][700];
    static int k;
    k = (k + 1) % 8;
    snprintf(s[k], sizeof s[k], "%s/%s", tmp, name);
    return s[k];
}

/* ---- flags ------------------------------------------------------------------ */

START_TEST(test_flags_out_of_range) {
    const char *fm = spec("fashion-mnist", data);
    expect_fail(2, "--lr", ARGS("train", "--data", fm, "--lr", "-1"));
    expect_fail(2, "--lr", ARGS("train", "--data", fm, "--lr", "nan"));
    expect_fail(2, "--lr", ARGS("train", "--data", fm, "--lr", "inf"));
    expect_fail(2, "--lr", ARGS("train", "--data", fm, "--lr", "1e3"));
    expect_fail(2, "--lr", ARGS("train", "--data", fm, "--lr", "0"));
    expect_fail(2, "--momentum", ARGS("train", "--data", fm, "--momentum", "nan"));
    expect_fail(2, "--wd", ARGS("train", "--data", fm, "--wd", "inf"));
    expect_fail(2, "--epochs", ARGS("train", "--data", fm, "--epochs", "99999999999"));
    expect_fail(2, "--epochs", ARGS("train", "--data", fm, "--epochs", "4294967297"));
    expect_fail(2, "--batch", ARGS("train", "--data", fm, "--batch", "1000000000"));
    expect_fail(2, "--image-size", ARGS("train", "--data", fm, "--image-size", "100000"));
    expect_fail(2, "--schedule", ARGS("train", "--data", fm, "--schedule", "step:5:inf"));
    expect_fail(2, "--batch", ARGS("eval", "--ckpt", ckpt, "--data", fm, "--batch", "0"));
    expect_fail(2, "--block", ARGS("nice", "train", "--classifier", ckpt, "--data", fm, "--block", "0"));
    expect_fail(2, "--block 3", ARGS("nice", "train", "--classifier", ckpt, "--data", fm, "--block", "3"));
    expect_fail(2, "--beta", ARGS("nice", "train", "--classifier", ckpt, "--data", fm, "--beta", "0"));
    expect_fail(2, "--lambda1", ARGS("nice", "train", "--classifier", ckpt, "--data", fm, "--lambda1", "nan"));
    expect_fail(2, "--cols", ARGS("nice", "explain", "--data", fm, "--cols", "-1"));
    expect_fail(2, "--cols", ARGS("nice", "explain", "--data", fm, "--cols", "0"));
    expect_fail(2, "--mixed", ARGS("nice", "explain", "--data", fm, "--mixed", "-1"));
    expect_fail(2, "--mixed", ARGS("nice", "explain", "--data", fm, "--mixed", "100000"));
    expect_fail(2, "does not divide the image side 28", ARGS("nice", "explain", "--data", fm, "--mixed", "5"));
    expect_fail(2, "--block", ARGS("nice", "compress", "--data", fm, "--block", "-2"));
    expect_fail(2, "--classes", ARGS("summary", "--classes", "2000000000"));
}
END_TEST

START_TEST(test_help_names_defaults_and_ranges) {
    ck_assert_int_eq(run_nicex(ARGS("nice", "explain", "--help"), 30), 0);
    char *out = slurp(tpath("stdout.txt"));
    ck_assert_msg(strstr(out, "0: all"), "--n's help does not say what 0 means: %s", out);
    ck_assert_msg(strstr(out, "[1, 256]"), "--cols's help does not show its range: %s", out);
    free(out);
    ck_assert_int_eq(run_nicex(ARGS("train", "--help"), 30), 0);
    out = slurp(tpath("stdout.txt"));
    ck_assert_msg(strstr(out, "--no-nan-check"), "train --help lacks --no-nan-check: %s", out);
    free(out);
}
END_TEST

/* ---- data files ------------------------------------------------------------- */

START_TEST(test_idx_dims_that_wrap) {
    /* 16 x 2^30 x 2^30 = 2^64: the product wraps to 0 in 64 bits */
    char *dir = tpath("wrap");
    make_idx_dataset(dir, 4, 4, 28, 28);
    char p[700];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    write_idx(p, 3, (uint32_t[]){16, 1u << 30, 1u << 30}, 64);
    expect_fail(1, "t10k-images-idx3-ubyte", ARGS("eval", "--ckpt", ckpt, "--data", spec("mnist", dir), "--image-size", "28"));
    /* a zero side */
    write_idx(p, 3, (uint32_t[]){4, 0, 28}, 0);
    expect_fail(1, "t10k-images-idx3-ubyte", ARGS("eval", "--ckpt", ckpt, "--data", spec("mnist", dir)));
}
END_TEST

START_TEST(test_data_that_does_not_fit_the_model) {
    char *d8 = tpath("small"), *d32 = tpath("big");
    make_idx_dataset(d8, 4, 4, 8, 8);
    make_idx_dataset(d32, 4, 4, 32, 32);
    expect_fail(2, "takes 1x28x28", ARGS("eval", "--ckpt", ckpt, "--data", spec("fashion-mnist", d8)));
    expect_fail(2, "takes 1x28x28", ARGS("eval", "--ckpt", ckpt, "--data", spec("fashion-mnist", d32)));
    expect_fail(2, "too small", ARGS("train", "--data", spec("fashion-mnist", d8), "--epochs", "1"));
    /* 3-channel CIFAR for LeNet5 */
    char *cdir = tpath("cifar");
    mkdir(cdir, 0755);
    uint8_t *rec = calloc(4, 3073);
    for (int i = 0; i < 4; i++) rec[i * 3073] = (uint8_t)i;
    char p[700];
    snprintf(p, sizeof p, "%s/test_batch.bin", cdir);
    write_bytes(p, rec, 4 * 3073);
    free(rec);
    expect_fail(2, "3x32x32", ARGS("eval", "--ckpt", ckpt, "--data", spec("cifar10", cdir)));
    /* a 12-class folder for a 10-class model */
    char *fdir = tpath("folder12");
    mkdir(fdir, 0755);
    uint8_t px[28 * 28] = {0};
    for (int k = 0; k < 12; k++) {
        snprintf(p, sizeof p, "%s/class%02d", fdir, k);
        mkdir(p, 0755);
        for (int j = 0; j < 5; j++) {
            snprintf(p, sizeof p, "%s/class%02d/%d.png", fdir, k, j);
            px[j] = (uint8_t)(k * 20);
            ck_assert(png_write(p, px, 28, 28, 1, NULL) == 0);
        }
    }
    expect_fail(2, "12 classes", ARGS("eval", "--ckpt", ckpt, "--data", spec("folder", fdir)));
}
END_TEST

START_TEST(test_huge_image_headers) {
    char *fdir = tpath("huge");
    char p[700];
    mkdir(fdir, 0755);
    snprintf(p, sizeof p, "%s/a", fdir);
    mkdir(p, 0755);
    /* a PNG whose IHDR says 100000 x 100000 (crc included: libpng checks it) */
    uint8_t png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    put_be32(png + 16, 100000), put_be32(png + 20, 100000);
    png[24] = 8, png[25] = 0;
    uint32_t crc = 0xFFFFFFFFu;
    for (int i = 12; i < 29; i++) {
        crc ^= png[i];
        for (int b = 0; b < 8; b++) crc = crc >> 1 ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    put_be32(png + 29, ~crc);
    snprintf(p, sizeof p, "%s/a/big.png", fdir);
    write_bytes(p, png, sizeof png);
    expect_fail(1, "big.png", ARGS("eval", "--ckpt", ckpt, "--data", spec("folder", fdir), "--split", "train"));
    /* a JPEG (the test fixture) whose SOF says 65000 x 65000 */
    char *jpg = slurp("tests/data/folder/cat/a.jpg");
    FILE *f = fopen("tests/data/folder/cat/a.jpg", "rb");
    ck_assert_msg(f != NULL, "tests/data/folder/cat/a.jpg is missing");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    int sof = -1;
    for (long i = 2; i + 9 < n && sof < 0; i++)
        if ((uint8_t)jpg[i] == 0xFF && ((uint8_t)jpg[i + 1] == 0xC0 || (uint8_t)jpg[i + 1] == 0xC2)) sof = (int)i;
    ck_assert_msg(sof > 0, "no SOF marker in the JPEG fixture");
    jpg[sof + 5] = (char)0xFD, jpg[sof + 6] = (char)0xE8, jpg[sof + 7] = (char)0xFD, jpg[sof + 8] = (char)0xE8;
    remove(p);
    snprintf(p, sizeof p, "%s/a/big.jpg", fdir);
    write_bytes(p, jpg, (size_t)n);
    free(jpg);
    expect_fail(1, "big.jpg", ARGS("eval", "--ckpt", ckpt, "--data", spec("folder", fdir), "--split", "train"));
}
END_TEST

START_TEST(test_fifo_and_folder_as_files) {
    char *dir = tpath("fifo");
    make_idx_dataset(dir, 4, 4, 28, 28);
    char p[700];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    remove(p);
    ck_assert(mkfifo(p, 0644) == 0);
    expect_fail(1, "FIFO", ARGS("eval", "--ckpt", ckpt, "--data", spec("fashion-mnist", dir)));
    expect_fail(1, "FIFO", ARGS("eval", "--ckpt", p, "--data", spec("fashion-mnist", data)));
    expect_fail(1, "directory", ARGS("eval", "--ckpt", tmp, "--data", spec("fashion-mnist", data)));
    expect_fail(2, "FIFO", ARGS("train", "--data", spec("fashion-mnist", data), "--out", p));
    expect_fail(2, "--out", ARGS("train", "--data", spec("fashion-mnist", data), "--out", "/dev/null"));
}
END_TEST

/* ---- checkpoints -------------------------------------------------------------- */

START_TEST(test_checkpoint_metadata) {
    const char *fm = spec("fashion-mnist", data);
    struct {
        const char *key, *value;
    } bad[] = {{"classes", "2000000000"}, {"in_channels", "-1"}, {"in_size", "1000000"}, {"classes", "ten"}};
    for (int i = 0; i < 4; i++) {
        const char *meta[] = {"format", "nicex", "arch", "lenet5", "classes", "10", "in_channels", "1", "in_size", "28"};
        for (int k = 0; k < 5; k++)
            if (strcmp(meta[2 * k], bad[i].key) == 0) meta[2 * k + 1] = bad[i].value;
        char *p = tpath("meta.safetensors");
        make_ckpt(p, 10, 5, meta);
        expect_fail(1, bad[i].key, ARGS("eval", "--ckpt", p, "--data", fm));
    }
}
END_TEST

/* A header of n tensors (each 0 elements), the last named like the first when dup. */
static void write_many_tensors(const char *path, int n, bool dup) {
    size_t cap = (size_t)n * 64 + 64, len = 1;
    char *h = malloc(cap);
    h[0] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(h + len, cap - len, "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                                i ? "," : "", dup && i == n - 1 ? 0 : i);
    h[len++] = '}';
    uint8_t n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (uint8_t)((uint64_t)len >> (8 * i));
    FILE *f = fopen(path, "wb");
    fwrite(n8, 1, 8, f);
    fwrite(h, 1, len, f);
    fclose(f);
    free(h);
}

START_TEST(test_safetensors_headers_parse_fast) {
    const char *fm = spec("fashion-mnist", data);
    char *p = tpath("many.safetensors");
    write_many_tensors(p, 200000, false);
    expect_fail(1, "100000", ARGS("eval", "--ckpt", p, "--data", fm));
    write_many_tensors(p, 99999, true); /* a duplicate at the very end: found by sorting, in well under a second */
    expect_fail(1, "appears twice", ARGS("eval", "--ckpt", p, "--data", fm));
}
END_TEST

/* The shipped NICE file, changed by `edit`, saved to path. */
static void make_nice(const char *path, void (*edit)(Generator *g, Model *m, NiceConfig *c)) {
    Generator g;
    Model m;
    NiceConfig c;
    ck_assert_msg(nice_load(NX_MODELS_DIR "/nice-lenet5-fashion-mnist.safetensors", &g, &m, &c, NX_CPU) == 0, "%s",
                  nx_error_msg());
    edit(&g, &m, &c);
    ck_assert_msg(nice_save(path, &g, &m, &c, "fashion-mnist") == 0, "%s", nx_error_msg());
    generator_free(&g);
    model_free(&m);
}
static void edit_nan_weight(Generator *g, Model *m, NiceConfig *c) {
    (void)m, (void)c;
    g->params.params[3] = NAN;
}
static void edit_nan_beta(Generator *g, Model *m, NiceConfig *c) { (void)g, (void)m, c->hc.beta = NAN; }
static void edit_block0(Generator *g, Model *m, NiceConfig *c) { (void)g, (void)m, c->block = 0; }

static uint32_t png_width(const char *path) { /* IHDR's width: bytes 16-19, big-endian */
    uint8_t h[24] = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f && fread(h, 1, sizeof h, f) == sizeof h, "%s: no PNG header", path);
    fclose(f);
    return (uint32_t)h[16] << 24 | (uint32_t)h[17] << 16 | (uint32_t)h[18] << 8 | h[19];
}

/* --mixed B that divides the side adds a fourth tile per image (the
 * mixed-resolution image): the grid is 4/3 as wide as without it. */
START_TEST(test_explain_mixed_tile) {
    const char *fm = spec("fashion-mnist", data);
    char *o3 = tpath("plain"), *o4 = tpath("mixed"), g3[600], g4[600];
    ck_assert_int_eq(run_nicex(ARGS("nice", "explain", "--data", fm, "--n", "2", "--cols", "2", "--out", o3), 120), 0);
    ck_assert_int_eq(run_nicex(ARGS("nice", "explain", "--data", fm, "--n", "2", "--cols", "2", "--mixed", "4", "--json",
                                    "--out", o4), 120), 0);
    char *out = slurp(tpath("stdout.txt"));
    ck_assert_msg(strstr(out, "\"accuracy_mixed\"") && strstr(out, "grid.png"), "%s", out);
    free(out);
    snprintf(g3, sizeof g3, "%s/grid.png", o3);
    snprintf(g4, sizeof g4, "%s/grid.png", o4);
    uint32_t w3 = png_width(g3), w4 = png_width(g4);
    printf("  grid width %u px without --mixed, %u with --mixed 4\n", w3, w4);
    ck_assert_msg(w4 > w3 && fabs(w4 / (double)w3 - 4.0 / 3.0) < 0.1, "grid widths %u without --mixed, %u with", w3, w4);
}
END_TEST

START_TEST(test_nice_files) {
    const char *fm = spec("fashion-mnist", data), *out = tpath("explain");
    char *p = tpath("nice.safetensors");
    make_nice(p, edit_nan_weight);
    expect_fail(1, "nice.safetensors", ARGS("nice", "explain", "--gen", p, "--data", fm, "--out", out));
    make_nice(p, edit_nan_beta);
    expect_fail(1, "beta", ARGS("nice", "explain", "--gen", p, "--data", fm, "--out", out));
    make_nice(p, edit_block0);
    expect_fail(1, "block", ARGS("nice", "explain", "--gen", p, "--data", fm, "--out", out));
    expect_fail(1, "block", ARGS("nice", "compress", "--gen", p, "--data", fm, "--out", out));
    /* a transposed classifier weight with the right element count */
    SafetensorsFile sf;
    ck_assert(safetensors_open(&sf, NX_MODELS_DIR "/nice-lenet5-fashion-mnist.safetensors") == 0);
    int n = sf.n;
    const char **names = calloc((size_t)n, sizeof *names), **meta = calloc(2 * (size_t)sf.n_meta, sizeof *meta);
    const Tensor **ts = calloc((size_t)n, sizeof *ts);
    for (int i = 0; i < n; i++) {
        const StTensorInfo *ti = &sf.t[i];
        float *h = malloc((size_t)(ti->end - ti->begin) + 4);
        ck_assert(safetensors_read_raw(&sf, ti, h) == 0);
        int shape[8];
        for (int d = 0; d < ti->ndim; d++) shape[d] = (int)ti->shape[ti->ndim - 1 - d]; /* reversed */
        if (strcmp(ti->name, "classifier.fc1.weight") != 0)
            for (int d = 0; d < ti->ndim; d++) shape[d] = (int)ti->shape[d];
        ts[i] = tensor_wrap(NX_CPU, NX_F32, h, ti->ndim, shape);
        names[i] = ti->name;
    }
    for (int i = 0; i < sf.n_meta; i++) meta[2 * i] = sf.meta_key[i], meta[2 * i + 1] = sf.meta_val[i];
    ck_assert(safetensors_save(p, n, names, ts, sf.n_meta, meta) == 0);
    safetensors_close(&sf);
    free(names), free(meta), free(ts);
    expect_fail(1, "classifier.fc1.weight", ARGS("nice", "explain", "--gen", p, "--data", fm, "--out", out));
}
END_TEST

/* ---- training: divergence, interruption, pairing ----------------------------------- */

START_TEST(test_diverging_run_stops) {
    char *out = tpath("diverge.safetensors");
    /* AdamW's decoupled decay with lr * wd = 10 multiplies every weight by -9 each step: inf, then NaN */
    expect_fail(1, "the loss is", ARGS("train", "--data", spec("fashion-mnist", data), "--epochs", "5", "--batch",
                                       "8", "--opt", "adamw", "--lr", "10", "--wd", "1", "--out", out));
    char *err = last_stderr();
    ck_assert_msg(strstr(err, "at step") && strstr(err, "epoch"), "the message does not name the step and epoch: %s", err);
    /* the checkpoint left behind (if an epoch ended before the NaN) is the last good one: finite */
    if (access(out, F_OK) == 0) {
        ck_assert_msg(strstr(err, "the last good checkpoint is"), "%s", err);
        Model m;
        ck_assert_msg(model_load(&m, out, NULL, 0, 0, 0, NX_CPU) == 0, "%s", nx_error_msg());
        for (size_t i = 0; i < m.params.total; i++) ck_assert_msg(isfinite(m.params.params[i]), "a NaN model was saved");
        model_free(&m);
    } else {
        ck_assert_msg(strstr(err, "no checkpoint was written"), "%s", err);
    }
    free(err);
}
END_TEST

START_TEST(test_nice_training_stops_at_nan) {
    /* lambda1 = NaN (the CLI refuses it; the library must still stop) */
    Dataset train, test;
    ck_assert_msg(dataset_open(&train, spec("fashion-mnist", data), DATA_TRAIN, 0, 0) == 0, "%s", nx_error_msg());
    ck_assert_msg(dataset_open(&test, spec("fashion-mnist", data), DATA_TEST, 0, 0) == 0, "%s", nx_error_msg());
    Model m;
    ck_assert_msg(model_load(&m, ckpt, NULL, 0, 0, 0, NX_CPU) == 0, "%s", nx_error_msg());
    Generator g;
    rng_seed(0);
    ck_assert(generator_create(&g, "mnist", 1, 28, NX_CPU) == 0);
    NiceConfig c = nice_config_default();
    c.lambda1 = NAN, c.epochs = 2, c.batch = 16, c.quiet = true;
    ck_assert_int_eq(nice_train(&g, &m, &train, &test, &c, NULL), -1);
    const char *msg = nx_error_msg();
    printf("  nice_train: %s\n", msg);
    ck_assert_msg(strstr(msg, "at step 1 ") && strstr(msg, "epoch 1") && strstr(msg, "nan"), "%s", msg);
    /* and --no-nan-check trains on */
    c.no_nan_check = true, c.epochs = 1;
    ck_assert_int_eq(nice_train(&g, &m, &train, &test, &c, NULL), 0);
    generator_free(&g);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
}
END_TEST

static void cmp_files(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    ck_assert_msg(fa && fb, "missing %s or %s", a, b);
    int ca, cb;
    long at = 0;
    do {
        ca = fgetc(fa), cb = fgetc(fb);
        ck_assert_msg(ca == cb, "%s and %s differ at byte %ld", a, b, at);
        at++;
    } while (ca != EOF);
    fclose(fa), fclose(fb);
}

static int count_tmp_files(const char *dir) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.tmp\\.' > '%s/count.txt'", dir, tmp);
    if (system(cmd) < 0) return -1;
    char *s = slurp(tpath("count.txt"));
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s) n = -1; /* the count did not come out */
    free(s);
    return (int)n;
}

START_TEST(test_interrupted_run_resumes_byte_identical) {
    char *big = tpath("fm1000");
    make_idx_dataset(big, 320, 32, 28, 28); /* epochs long enough for the signal to land inside one */
    const char *fm = spec("fashion-mnist", big);
    char *full = tpath("full.safetensors"), *cut = tpath("cut.safetensors");
    const char *common[] = {"--data", fm, "--epochs", "3", "--batch", "16", "--seed", "7"};
    ck_assert_int_eq(run_nicex(ARGS("train", common[0], common[1], common[2], common[3], common[4], common[5],
                                    common[6], common[7], "--out", full),
                               900),
                     0);
    /* the same run, interrupted once its first checkpoint exists */
    pid_t pid = spawn_nicex(ARGS("train", common[0], common[1], common[2], common[3], common[4], common[5], common[6],
                                 common[7], "--out", cut));
    char state[800];
    snprintf(state, sizeof state, "%s.state", cut);
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 100000 && access(state, F_OK) != 0; i++) nanosleep(&nap, NULL);
    kill(pid, SIGINT);
    int rc = wait_nicex(pid, 900);
    char *err = last_stderr();
    if (rc == 0) { /* the run was faster than the signal: nothing to check but the result */
        printf("  note: the run ended before SIGINT arrived\n");
    } else {
        ck_assert_msg(rc == 130, "SIGINT: exit %d, expected 130; stderr: %s", rc, err);
        ck_assert_msg(strstr(err, "last good checkpoint is") && strstr(err, cut), "no last good checkpoint named: %s", err);
        ck_assert_int_eq(count_tmp_files(tmp), 0);
        printf("  exit 130  SIGINT: %s", err);
        ck_assert_int_eq(run_nicex(ARGS("train", common[0], common[1], common[2], common[3], common[4], common[5],
                                        common[6], common[7], "--out", cut, "--resume", cut),
                                   900),
                         0);
    }
    free(err);
    cmp_files(full, cut);
}
END_TEST

START_TEST(test_mismatched_state_refused) {
    const char *fm = spec("fashion-mnist", data);
    char *a = tpath("a.safetensors"), st[800], old[800];
    snprintf(st, sizeof st, "%s.state", a);
    snprintf(old, sizeof old, "%s/epoch1.state", tmp);
    ck_assert_int_eq(run_nicex(ARGS("train", "--data", fm, "--epochs", "1", "--batch", "32", "--out", a), 900), 0);
    ck_assert(rename(st, old) == 0);
    ck_assert(link(old, st) == 0);
    ck_assert_int_eq(run_nicex(ARGS("train", "--data", fm, "--epochs", "2", "--batch", "32", "--out", a, "--resume", a), 900), 0);
    /* a kill between the two renames: the new checkpoint with the old state */
    remove(st);
    ck_assert(rename(old, st) == 0);
    expect_fail(1, "belongs to the checkpoint of epoch 1",
                ARGS("train", "--data", fm, "--epochs", "3", "--batch", "32", "--out", a, "--resume", a));
    /* a step count that is not one */
    Model m;
    rng_seed(0);
    ck_assert(model_create(&m, "lenet5", 10, 1, 28, NX_CPU) == 0);
    float steps[8];
    for (int i = 0; i < 8; i++) steps[i] = i == 2 ? NAN : 1e30f;
    const Tensor *ts[1] = {tensor_wrap(NX_CPU, NX_F32, steps, 1, (int[]){m.params.n})};
    const char *names[1] = {"param_step"};
    const char *meta[] = {"epoch", "1", "steps", "2", "seed", "0", "rng_offset", "0"};
    ck_assert(m.params.n == 8);
    ck_assert(safetensors_save(st, 1, names, ts, 4, meta) == 0);
    model_free(&m);
    expect_fail(1, "param_step", ARGS("train", "--data", fm, "--epochs", "3", "--batch", "32", "--opt", "sgd",
                                      "--momentum", "0", "--out", a, "--resume", a));
}
END_TEST

START_TEST(test_long_out_path) {
    /* 1023 characters: once cut to 1024 bytes, "<out>.state" was "<out>" itself */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", tmp);
    while (strlen(dir) < 900) {
        snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", "dddddddddddddddddddddddddddddddddddddddddddddddddd");
        mkdir(dir, 0755);
    }
    char out[1100];
    size_t n = strlen(dir) + 1;
    memcpy(out, dir, n - 1);
    out[n - 1] = '/';
    while (n < 1023 - 12) out[n++] = 'o';
    out[n] = 0;
    strcat(out, ".safetensors");
    ck_assert_int_eq(strlen(out), 1023);
    ck_assert_int_eq(run_nicex(ARGS("train", "--data", spec("fashion-mnist", data), "--epochs", "1", "--batch", "32",
                                    "--out", out),
                               900),
                     0);
    char st[1200];
    snprintf(st, sizeof st, "%s.state", out);
    ck_assert_msg(access(st, F_OK) == 0, "%s.state was not written", out);
    SafetensorsFile sf;
    ck_assert_msg(safetensors_open(&sf, out) == 0, "%s", nx_error_msg());
    ck_assert_msg(safetensors_meta(&sf, "arch") != NULL, "the checkpoint was overwritten by the state");
    safetensors_close(&sf);
}
END_TEST

Suite *suite_badinput(void) {
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("badinput");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 1800); /* the sanitizer build on a loaded 2-core machine */
    tcase_add_test(tc, test_flags_out_of_range);
    tcase_add_test(tc, test_help_names_defaults_and_ranges);
    tcase_add_test(tc, test_idx_dims_that_wrap);
    tcase_add_test(tc, test_data_that_does_not_fit_the_model);
    tcase_add_test(tc, test_huge_image_headers);
    tcase_add_test(tc, test_fifo_and_folder_as_files);
    tcase_add_test(tc, test_checkpoint_metadata);
    tcase_add_test(tc, test_safetensors_headers_parse_fast);
    tcase_add_test(tc, test_nice_files);
    tcase_add_test(tc, test_explain_mixed_tile);
    tcase_add_test(tc, test_diverging_run_stops);
    tcase_add_test(tc, test_nice_training_stops_at_nan);
    tcase_add_test(tc, test_interrupted_run_resumes_byte_identical);
    tcase_add_test(tc, test_mismatched_state_refused);
    tcase_add_test(tc, test_long_out_path);
    suite_add_tcase(s, tc);
    return s;
}
