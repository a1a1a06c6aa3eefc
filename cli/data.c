/* data.c: `nicex data cluttered`, generated datasets. */
#include "cli/args.h"
#include "cli/cli.h"
#include "data/cluttered.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int data_cluttered_cmd(int argc, char **argv) {
    ClutterConfig c = clutter_default();
    const char *out = NULL, *src = "fashion-mnist";
    int n_train = 60000, n_test = 10000;
    bool json = false;
    const Opt opts[] = {
        {"out", OPT_STR, &out, "output folder (required)"},
        {"source", OPT_STR, &src, "28x28 dataset spec the items come from (default fashion-mnist)"},
        {"size", OPT_INT, &c.size, "canvas side S > 28 (default 48)"},
        {"fragments", OPT_INT, &c.fragments, "fragments of other items per canvas (default 6)"},
        {"min-frag", OPT_INT, &c.min_frag, "smallest fragment side (default 7)"},
        {"max-frag", OPT_INT, &c.max_frag, "largest fragment side (default 14)"},
        {"n", OPT_INT, &n_train, "training samples (default 60000), drawn from the source's train split"},
        {"n-test", OPT_INT, &n_test, "test samples (default 10000), drawn from the source's test split"},
        {"seed", OPT_U64, &c.seed, "seed (default 0); the test split uses seed + 1"},
        {"json", OPT_FLAG, &json, "print a JSON summary"},
    };
    int rc = args_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                        "usage: nicex data cluttered --out DIR [--size S] [--fragments F] [--n N] [--seed S]");
    if (rc) return rc > 0 ? 0 : 2;
    if (!out) {
        fprintf(stderr, "nicex: data cluttered needs --out DIR\n");
        return 2;
    }
    if (n_train < 0 || n_test < 0) {
        fprintf(stderr, "nicex: --n and --n-test must be >= 0\n");
        return 2;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "nicex: cannot create folder %s: %s\n", out, strerror(errno));
        return 1;
    }
    const char *prefix[2] = {"train", "t10k"};
    int64_t counts[2] = {n_train, n_test};
    for (int s = 0; s < 2; s++) {
        Dataset d;
        if (dataset_open(&d, src, s == 0 ? DATA_TRAIN : DATA_TEST, 0, 0) != 0) {
            fprintf(stderr, "nicex: --source: %s\n", nx_error_msg());
            return 1;
        }
        int64_t n = counts[s];
        size_t px = (size_t)(n ? n : 1) * c.size * c.size;
        uint8_t *img = nx_malloc(px), *msk = nx_malloc(px);
        int32_t *lab = nx_malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
        ClutterConfig cs = c;
        cs.seed = c.seed + (uint64_t)s;
        if (clutter_generate(img, msk, lab, NULL, &d, n, &cs) != 0) {
            fprintf(stderr, "nicex: %s\n", nx_error_msg());
            return 2;
        }
        if (clutter_write_split(out, prefix[s], img, msk, lab, n, c.size) != 0) {
            fprintf(stderr, "nicex: %s\n", nx_error_msg());
            return 1;
        }
        double area = 0;
        for (size_t p = 0; p < (size_t)n * c.size * c.size; p++) area += msk[p] != 0;
        if (!json)
            printf("%s: %lld canvases %dx%d, %d fragments each, item covers %.1f%% of the canvas -> %s/%s-*-idx*-ubyte\n",
                   s == 0 ? "train" : "test", (long long)n, c.size, c.size, c.fragments,
                   n ? 100 * area / ((double)n * c.size * c.size) : 0.0, out, prefix[s]);
        else
            printf("{\"split\": \"%s\", \"n\": %lld, \"size\": %d, \"fragments\": %d, \"item_area\": %.6f, \"out\": \"%s\"}\n",
                   s == 0 ? "train" : "test", (long long)n, c.size, c.fragments,
                   n ? area / ((double)n * c.size * c.size) : 0.0, out);
        free(img), free(msk), free(lab);
        dataset_free(&d);
    }
    return 0;
}

int cmd_data(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "cluttered") == 0) return data_cluttered_cmd(argc - 1, argv + 1);
    fprintf(stderr, "usage: nicex data cluttered --out DIR [options] (takes --help)\n");
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) ? 0 : 2;
}
