/* localise.c: pointing-game hit rate and mass inside the object (see localise.h). */
#include "eval/localise.h"

#include "data/dataset.h"
#include "eval/perturb.h"

#include <stdlib.h>

void localise_score(LocaliseResult *r, const float *maps, const uint8_t *masks, int n, int H, int W, uint64_t seed) {
    const int P = H * W;
    int32_t *order = nx_malloc(sizeof(int32_t) * P);
    double hits = 0, mass = 0, area = 0;
    for (int i = 0; i < n; i++) {
        const float *m = maps + (size_t)i * P;
        const uint8_t *g = masks + (size_t)i * P;
        rank_desc(order, m, P, data_stream(seed, EVAL_TAG_TIES, (uint64_t)i));
        hits += g[order[0]] != 0;
        float lo = m[0];
        for (int p = 1; p < P; p++) lo = m[p] < lo ? m[p] : lo;
        double in = 0, all = 0;
        int a = 0;
        for (int p = 0; p < P; p++) {
            double v = (double)m[p] - lo;
            all += v;
            if (g[p]) in += v, a++;
        }
        mass += all > 0 ? in / all : (double)a / P;
        area += (double)a / P;
    }
    free(order);
    r->n = n;
    r->hit_rate = n ? hits / n : 0;
    r->mass_inside = n ? mass / n : 0;
    r->area = n ? area / n : 0;
}
