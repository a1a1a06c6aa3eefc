/* deletion.h: deletion and insertion curves and their AUC (RISE, I-GOS).
 *
 * For image x with map M, the class c is the one the classifier predicts
 * on the clean x, and the score is softmax(f(.))_c. The map is ranked on a
 * g_h x g_w grid (cells, largest first, ties by a seeded permutation), and
 * in steps of `step` cells:
 *   deletion   the first k cells are replaced by the substrate S:
 *                x_k = x * m_k + S * (1 - m_k), m_k = up(1 - open_k)
 *   insertion  the first k cells of x are put into the start image S:
 *                x_k = x * m_k + S * (1 - m_k), m_k = up(open_k)
 * where open_k is 1 on the first k cells and up() brings the grid to H x W.
 * The curve is score(x_k) against the fraction of cells k / G, for k = 0,
 * step, 2 step, ..., G; its area is the trapezoid rule on [0, 1]. Lower
 * deletion AUC and higher insertion AUC are better.
 *
 * Protocols (named in every output):
 *   rise   (Petsiuk et al.) deletion substrate: the zero image (black for
 *          models fed [0, 1] pixels); insertion start: x blurred with
 *          RISE's 11-tap sigma-5 Gaussian at 224 x 224, scaled to the
 *          image: k = the odd integer nearest 11 H / 224 (at least 3),
 *          sigma = 5 H / 224 (3 taps, sigma 0.625 at 28 x 28, which barely
 *          blurs: insertion then hardly separates methods; say so beside
 *          such a table). Grid: the input (or a given resolution, cells
 *          replicated, nearest). step default: one grid row (RISE's 224
 *          pixels at 224 x 224).
 *   igos   (Qi et al.) the 51-tap sigma-50 blur of x as both the deletion
 *          substrate and the insertion start; ranking at the map's native
 *          resolution (the maps file's `native`, or a given resolution by
 *          average pooling), replaced cells upsampled bilinearly with
 *          align_corners true. step default: one grid row.
 */
#ifndef NX_DELETION_H
#define NX_DELETION_H

#include "layers/model.h"

typedef enum { PROTO_RISE, PROTO_IGOS } DelProtocol;
typedef enum { CURVE_DELETION, CURVE_INSERTION } CurveKind;

typedef struct {
    DelProtocol protocol;
    int step;          /* cells per step; 0: one grid row */
    int blur_k;        /* 0: the protocol's */
    float blur_sigma;  /* 0: the protocol's */
    int batch;         /* images per forward (default 256) */
    uint64_t seed;     /* tie-breaking */
} DelConfig;

DelConfig del_config(DelProtocol p);
const char *del_protocol_name(DelProtocol p);
int del_protocol_parse(const char *s, DelProtocol *p); /* -1 + nx_error_set */
/* The blur the protocol uses for an H-sided image (after cfg overrides). */
void del_blur(const DelConfig *cfg, int H, int *k, float *sigma);

typedef struct {
    int n_points;    /* number of points of each curve */
    double *x;       /* (n_points) fraction of cells replaced */
    double *mean;    /* (n_points) mean score over the images */
    double *auc;     /* (n) each image's AUC */
    double auc_mean, auc_sem; /* mean and standard error of the mean */
    int grid_h, grid_w, step, blur_k;
    float blur_sigma;
} CurveResult;

/* Curves for n images (n, C, H, W) and their maps on the ranking grid
 * (n, gh, gw): igos upsamples bilinearly from any grid; rise needs H and W
 * to be multiples of gh and gw. Image i's ties follow the permutation of
 * data_stream(seed, EVAL_TAG_TIES, i). -1 + nx_error_set on bad sizes. */
int deletion_curves(CurveResult *r, CurveKind kind, Model *m, const float *images /* (n, C, H, W) */,
                    const float *maps /* (n, gh, gw) */, int n, int C, int H, int W, int gh, int gw,
                    const DelConfig *cfg);
void curve_result_free(CurveResult *r);

#endif
