/* main.c: the test runner. One Check suite per area; the op suites loop over
 * the registry (autograd/ops.def), so a new op without a gradient-check or
 * golden case fails the build's tests, not silently passes.
 *
 * NX_SUITE=name runs one suite (NX_SUITE=a,b,c several). Check's environment variables apply
 * (CK_FORK=no for debugging and for the CUDA suites, CK_RUN_CASE, ...).
 */
#include "tests/testlib.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUITES(X) \
    X(core)       \
    X(rng)        \
    X(gemm)       \
    X(ops_grad)   \
    X(ops_golden) \
    X(optim)      \
    X(data)       \
    X(models)     \
    X(nice)       \
    X(badinput)   \
    X(natural)    \
    X(rtis)       \
    X(baselines)  \
    X(eval)       \
    X(library)    \
    X(cuda)

#define DECLARE(name) Suite *suite_##name(void) __attribute__((weak));
SUITES(DECLARE)

typedef struct {
    const char *name;
    Suite *(*make)(void);
} SuiteEntry;

/* NX_SUITE may list several suites: "core,rng,badinput". */
static bool name_listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, name, n) == 0) return true;
        p += k;
        if (*p == ',') p++;
    }
    return false;
}

int main(void) {
#define ENTRY(name) {#name, suite_##name},
    SuiteEntry all[] = {SUITES(ENTRY)};
    const char *only = getenv("NX_SUITE");
    SRunner *sr = NULL;
    int missing = 0, added = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (only && !name_listed(only, all[i].name)) continue;
        if (!all[i].make) {
            fprintf(stderr, "test suite '%s' is listed but not built\n", all[i].name);
            missing++;
            continue;
        }
        Suite *s = all[i].make();
        if (!sr) sr = srunner_create(s);
        else srunner_add_suite(sr, s);
        added++;
    }
    if (!sr) {
        fprintf(stderr, "no test suite matched NX_SUITE=%s\n", only ? only : "");
        return 1;
    }
    srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test; default normal */
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_print_skips(stdout); /* tests not registered for want of data, the CLI or a GPU (tests/skips.c) */
    printf("%d suites run%s\n", added, missing ? ", some listed suites are missing" : "");
    return failed == 0 && missing == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
