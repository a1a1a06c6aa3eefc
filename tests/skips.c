/* skips.c: the run's list of tests that could not run here.
 *
 * Check has no "skipped" state: a test that returns early passes, so a run
 * without the data would report it as passed. Instead a suite registers such
 * a test only when what it needs is present, and otherwise records it here
 * with the reason; run_tests (tests/main.c) prints the list after Check's
 * summary as "skipped: N tests (name: reason; ...)".
 *
 * The suites are built in the parent process before Check forks, so the
 * list is complete when it is printed.
 */
#include "tests/testlib.h"
#include "data/dataset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SKIPS 64

static struct {
    char name[96], reason[320];
} skips[MAX_SKIPS];
static int n_skips;

void test_skip(const char *name, const char *fmt, ...) {
    if (n_skips == MAX_SKIPS) {
        fprintf(stderr, "tests/skips.c: more than %d skipped tests\n", MAX_SKIPS);
        exit(EXIT_FAILURE);
    }
    snprintf(skips[n_skips].name, sizeof skips[n_skips].name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skips[n_skips].reason, sizeof skips[n_skips].reason, fmt, ap);
    va_end(ap);
    n_skips++;
}

int test_skip_count(void) { return n_skips; }

void test_print_skips(FILE *f) {
    if (!n_skips) {
        fprintf(f, "skipped: 0 tests\n");
        return;
    }
    fprintf(f, "skipped: %d test%s (", n_skips, n_skips == 1 ? "" : "s");
    for (int i = 0; i < n_skips; i++) fprintf(f, "%s%s: %s", i ? "; " : "", skips[i].name, skips[i].reason);
    fprintf(f, ")\n");
}

const char *test_fashion_mnist_dir(void) {
    const char *d = getenv("NX_FASHION_MNIST");
    return d && *d ? d : DATASET_FASHION_MNIST_DIR;
}

const char *test_fashion_mnist_spec(void) {
    static char spec[600];
    const char *d = getenv("NX_FASHION_MNIST");
    if (!d || !*d) return "fashion-mnist"; /* the default folder: what the CLI reads without --data */
    snprintf(spec, sizeof spec, "fashion-mnist:%s", d);
    return spec;
}

bool test_have_fashion_mnist(void) {
    static const char *files[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    char path[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", test_fashion_mnist_dir(), files[i]);
        if (access(path, R_OK) != 0) return false;
    }
    return true;
}

const char *test_shared_data_dir(void) {
    const char *d = getenv("NX_SHARED_DATA");
    return d && *d ? d : "../shared/data";
}

const char *test_nicex_bin(void) {
    const char *b = getenv("NX_BIN");
    return b && *b ? b : "bin/nicex";
}
