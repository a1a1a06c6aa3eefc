/* randomise.c: accuracy after replacing the top, bottom or random K% of pixels (see randomise.h). */
#include "eval/randomise.h"

#include "data/dataset.h"
#include "eval/perturb.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *rand_mode_name(RandMode m) { return m == RAND_TOP ? "top" : m == RAND_BOTTOM ? "bottom" : "random"; }

void randomise_accuracy(double *acc, Model *m, const float *images, const int32_t *labels, const float *maps, int n,
                        int C, int H, int W, const double *ks, int n_k, RandMode mode, uint64_t seed, int batch) {
    const int P = H * W;
    const size_t img = (size_t)C * P;
    int32_t *order = nx_malloc(sizeof(int32_t) * (size_t)n * P); /* (n, P): pixels in replacement order */
    int64_t *perm = nx_malloc(sizeof(int64_t) * P);
    for (int i = 0; i < n; i++) {
        int32_t *o = order + (size_t)i * P;
        if (mode == RAND_RANDOM) {
            data_permutation(perm, P, data_stream(seed, EVAL_TAG_PICK, (uint64_t)i));
            for (int p = 0; p < P; p++) o[p] = (int32_t)perm[p];
        } else {
            rank_desc(o, maps + (size_t)i * P, P, data_stream(seed, EVAL_TAG_TIES, (uint64_t)i));
            if (mode == RAND_BOTTOM) /* reverse: smallest first (ties reversed too, still a permutation) */
                for (int a = 0, b = P - 1; a < b; a++, b--) {
                    int32_t t = o[a];
                    o[a] = o[b], o[b] = t;
                }
        }
    }
    float *x = nx_malloc(sizeof(float) * img * (size_t)n);
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)n);
    for (int j = 0; j < n_k; j++) {
        int cnt = (int)lround(ks[j] * P);
        if (cnt < 0) cnt = 0;
        if (cnt > P) cnt = P;
        memcpy(x, images, sizeof(float) * img * (size_t)n);
        for (int i = 0; i < n; i++) {
            uint64_t s = data_stream(seed, EVAL_TAG_NOISE, (uint64_t)i);
            float *xi = x + img * i;
            const int32_t *o = order + (size_t)i * P;
            for (int q = 0; q < cnt; q++)
                for (int c = 0; c < C; c++) {
                    int p = o[q];
                    /* the value of pixel p, channel c does not depend on K: curves are nested */
                    xi[(size_t)c * P + p] = 1.0f - philox_uniform(s, (uint64_t)c * P + p);
                }
        }
        class_probs(NULL, pred, m, x, n, C, H, W, NULL, batch);
        int correct = 0;
        for (int i = 0; i < n; i++) correct += pred[i] == labels[i];
        acc[j] = (double)correct / n;
    }
    free(order), free(perm), free(x), free(pred);
}
