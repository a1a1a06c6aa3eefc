/* suite_eval.c: the evaluation metrics against known answers.
 *   - the trapezoid AUC of known curves; blur and resampling by hand
 *   - deletion / insertion on a synthetic model whose score depends only on
 *     a known square of pixels: the perfect map beats a random one under
 *     both protocols, and a constant map scores like a random one
 *   - randomisation at K = 0 is the clean accuracy; at K = 100% every mode agrees
 *   - compression with an all-open mask is the original; localisation of
 *     the ground truth itself is perfect
 *   - the cluttered generator's masks cover exactly the pasted item's pixels
 *   - timing statistics
 */
#include "tests/testlib.h"

#include "data/cluttered.h"
#include "eval/compress.h"
#include "eval/deletion.h"
#include "eval/localise.h"
#include "eval/perturb.h"
#include "eval/randomise.h"
#include "eval/timing.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_auc_known_curves) {
    double x[4] = {0, 0.4, 0.8, 1.0}, one[4] = {1, 1, 1, 1}, lin[4], sq[4];
    for (int i = 0; i < 4; i++) lin[i] = 1 - x[i], sq[i] = x[i] * x[i];
    ck_assert(fabs(auc_trapezoid(x, one, 4) - 1.0) < 1e-12);
    ck_assert(fabs(auc_trapezoid(x, lin, 4) - 0.5) < 1e-12); /* exact for straight lines */
    /* x^2 by trapezoids: 0.4*(0+.16)/2 + 0.4*(.16+.64)/2 + 0.2*(.64+1)/2 = 0.032 + 0.16 + 0.164 */
    ck_assert(fabs(auc_trapezoid(x, sq, 4) - 0.356) < 1e-12);
}
END_TEST

START_TEST(test_blur_and_resampling) {
    /* a constant image stays constant under reflect-101 blur, even with a kernel wider than the image */
    float c[2 * 5 * 6], o[2 * 5 * 6];
    for (int i = 0; i < 60; i++) c[i] = 0.3f;
    gaussian_blur(o, c, 2, 5, 6, 51, 50);
    for (int i = 0; i < 60; i++) ck_assert(fabs(o[i] - 0.3f) < 1e-6);
    /* a 3-tap blur of an impulse in a 1x5 row: weights w(-1), w(0), w(1) */
    float row[5] = {0, 0, 1, 0, 0}, br[5];
    gaussian_blur(br, row, 1, 1, 5, 3, 1.0f);
    double e = exp(-0.5), s = 1 + 2 * e;
    ck_assert(fabs(br[2] - 1 / s) < 1e-6 && fabs(br[1] - e / s) < 1e-6 && fabs(br[0]) < 1e-7);
    /* bilinear, align_corners: 2x2 -> 3x3, corners kept, centre the mean */
    float in[4] = {0, 1, 2, 3}, up[9];
    upsample_bilinear_ac(up, in, 2, 2, 3, 3);
    ck_assert(up[0] == 0 && up[2] == 1 && up[6] == 2 && up[8] == 3 && fabs(up[4] - 1.5f) < 1e-6);
    float pooled[1];
    avgpool_map(pooled, in, 2, 2, 2);
    ck_assert(fabs(pooled[0] - 1.5f) < 1e-6);
    /* ranking: ties broken by the seeded permutation, reproducibly, values first */
    float v[6] = {1, 5, 1, 1, 5, 0};
    int32_t a[6], b[6];
    rank_desc(a, v, 6, 11);
    rank_desc(b, v, 6, 11);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert((a[0] == 1 || a[0] == 4) && (a[1] == 1 || a[1] == 4) && a[5] == 5);
}
END_TEST

/* ---- a synthetic classifier: logit_0 = sum of the pixels of a known square - T, logit_1 = 0 ---- */

/* the square sits late in raster order, so a constant map ranked without the seeded tie-break
 * (pixel order) would delete it late and score unlike a random map */
enum { SH = 16, SQ0 = 11, SQ = 4, THRESH = 10 };

typedef struct {
    Linear fc;
} Synth;

static Tensor *synth_forward(Model *m, Tensor *x) { return linear_forward(&((Synth *)m->net)->fc, nx_flatten(x)); }

static bool in_square(int p) {
    int y = p / SH, x = p % SH;
    return y >= SQ0 && y < SQ0 + SQ && x >= SQ0 && x < SQ0 + SQ;
}

static void synth_create(Model *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "synthetic");
    m->in_c = 1, m->in_h = m->in_w = SH, m->n_classes = 2;
    params_init(&m->params, NX_CPU);
    Synth *s = nx_calloc(1, sizeof *s);
    linear_init(&s->fc, &m->params, "fc", SH * SH, 2, true);
    params_finalize(&m->params);
    for (int p = 0; p < SH * SH; p++) s->fc.weight->data[p] = in_square(p) ? 1.0f : 0.0f;
    s->fc.bias->data[0] = -(float)THRESH;
    m->net = s;
    m->forward = synth_forward;
}

/* n images: background uniform in [0, 0.5), the square at 1 (class 0 with p ~ 0.998). */
static float *synth_images(int n) {
    float *x = nx_malloc(sizeof(float) * (size_t)n * SH * SH);
    test_seed(3);
    for (int i = 0; i < n; i++) {
        Tensor *t = test_uniform4(1, 1, SH, SH, 0.0f, 0.5f);
        for (int p = 0; p < SH * SH; p++) x[(size_t)i * SH * SH + p] = in_square(p) ? 1.0f : t->data[p];
    }
    nx_step_reset();
    return x;
}

enum { NS = 60 };

static double auc_of(Model *m, const float *x, const float *maps, CurveKind k, DelProtocol p, uint64_t seed,
                     double *sem) {
    DelConfig cfg = del_config(p);
    cfg.seed = seed;
    CurveResult r;
    ck_assert_int_eq(deletion_curves(&r, k, m, x, maps, NS, 1, SH, SH, SH, SH, &cfg), 0);
    double a = r.auc_mean;
    if (sem) *sem = r.auc_sem;
    ck_assert_int_eq(r.n_points, SH + 1); /* one row (16 pixels) per step */
    ck_assert(r.x[0] == 0 && r.x[r.n_points - 1] == 1);
    curve_result_free(&r);
    return a;
}

START_TEST(test_deletion_insertion_order_methods) {
    Model m;
    synth_create(&m);
    float *x = synth_images(NS);
    const int P = SH * SH;
    float *perfect = nx_malloc(sizeof(float) * NS * P), *rnd = nx_malloc(sizeof(float) * NS * P),
          *flat = nx_malloc(sizeof(float) * NS * P);
    for (int i = 0; i < NS; i++)
        for (int p = 0; p < P; p++) {
            perfect[i * P + p] = in_square(p) ? 1.0f : 0.0f;
            rnd[i * P + p] = philox_uniform(99, (uint64_t)i * P + p);
            flat[i * P + p] = 0.5f;
        }
    DelProtocol protos[2] = {PROTO_RISE, PROTO_IGOS};
    for (int q = 0; q < 2; q++) {
        double dp = auc_of(&m, x, perfect, CURVE_DELETION, protos[q], 0, NULL);
        double sr, sc;
        double dr = auc_of(&m, x, rnd, CURVE_DELETION, protos[q], 0, &sr);
        double dc = auc_of(&m, x, flat, CURVE_DELETION, protos[q], 1, &sc);
        ck_assert_msg(dp < 0.1 && dp < dr - 0.2, "%s deletion: perfect %.4f, random %.4f", del_protocol_name(protos[q]), dp, dr);
        ck_assert_msg(fabs(dc - dr) < 3 * sqrt(sr * sr + sc * sc) + 0.02, "%s deletion: constant %.4f vs random %.4f (sem %.4f)",
                      del_protocol_name(protos[q]), dc, dr, sr);
    }
    /* insertion: under igos the start is the 51/50 blur (square sum ~ 5 < T: p ~ 0.005); rise's 3-tap blur at
     * 16 px keeps the square bright, so insertion starts high there (the note in deletion.h) */
    double ip = auc_of(&m, x, perfect, CURVE_INSERTION, PROTO_IGOS, 0, NULL);
    double sr, sc;
    double ir = auc_of(&m, x, rnd, CURVE_INSERTION, PROTO_IGOS, 0, &sr);
    double ic = auc_of(&m, x, flat, CURVE_INSERTION, PROTO_IGOS, 1, &sc);
    ck_assert_msg(ip > 0.9 && ip > ir + 0.2, "igos insertion: perfect %.4f, random %.4f", ip, ir);
    ck_assert_msg(fabs(ic - ir) < 3 * sqrt(sr * sr + sc * sc) + 0.02, "igos insertion: constant %.4f vs random %.4f", ic, ir);
    /* the curve's ends: the clean image's probability and the zero image's */
    DelConfig cfg = del_config(PROTO_RISE);
    CurveResult r;
    ck_assert_int_eq(deletion_curves(&r, CURVE_DELETION, &m, x, perfect, 1, 1, SH, SH, SH, SH, &cfg), 0);
    double s0 = 0;
    for (int p = 0; p < P; p++) s0 += in_square(p) ? x[p] : 0;
    double p0 = 1 / (1 + exp(-(s0 - THRESH))), pz = 1 / (1 + exp(THRESH));
    ck_assert_msg(fabs(r.mean[0] - p0) < 1e-5 && fabs(r.mean[1] - pz) < 1e-5 && fabs(r.mean[SH] - pz) < 1e-5,
                  "curve %.6f %.6f, want %.6f %.6f", r.mean[0], r.mean[1], p0, pz);
    curve_result_free(&r);
    /* a coarse igos grid (4x4 cells, bilinear) still ranks the square's cell first */
    float coarse[NS * 16];
    for (int i = 0; i < NS; i++)
        for (int c = 0; c < 16; c++) coarse[i * 16 + c] = (c == 10 || c == 11 || c == 14 || c == 15) ? 1.0f : 0.0f; /* rows, cols 10..15 */
    cfg = del_config(PROTO_IGOS);
    ck_assert_int_eq(deletion_curves(&r, CURVE_DELETION, &m, x, coarse, NS, 1, SH, SH, 4, 4, &cfg), 0);
    ck_assert_int_eq(r.n_points, 5);
    ck_assert_msg(r.mean[1] < r.mean[0] - 0.3, "coarse: %.4f -> %.4f", r.mean[0], r.mean[1]);
    curve_result_free(&r);
    /* rise refuses a grid that does not divide the image */
    cfg = del_config(PROTO_RISE);
    ck_assert_int_eq(deletion_curves(&r, CURVE_DELETION, &m, x, coarse, NS, 1, SH, SH, 3, 3, &cfg), -1);
    free(perfect), free(rnd), free(flat), free(x);
    model_free(&m);
}
END_TEST

START_TEST(test_randomise_k0_is_clean_accuracy) {
    Model m;
    synth_create(&m);
    float *x = synth_images(NS);
    const int P = SH * SH;
    int32_t labels[NS], pred[NS];
    for (int i = 0; i < NS; i++) labels[i] = i % 3 == 0; /* a third labelled 1: clean accuracy 2/3 */
    class_probs(NULL, pred, &m, x, NS, 1, SH, SH, NULL, 64);
    int correct = 0;
    for (int i = 0; i < NS; i++) correct += pred[i] == labels[i];
    float *maps = nx_malloc(sizeof(float) * NS * P);
    for (int i = 0; i < NS * P; i++) maps[i] = in_square(i % P) ? 1.0f : 0.0f;
    double ks[3] = {0, 16.0 / P, 1}, acc[3][3];
    RandMode modes[3] = {RAND_TOP, RAND_BOTTOM, RAND_RANDOM};
    for (int t = 0; t < 3; t++) {
        randomise_accuracy(acc[t], &m, x, labels, maps, NS, 1, SH, SH, ks, 3, modes[t], 5, 64);
        ck_assert_msg(fabs(acc[t][0] - (double)correct / NS) < 1e-12, "%s K=0: %.4f, clean %.4f", rand_mode_name(modes[t]),
                      acc[t][0], (double)correct / NS);
    }
    ck_assert(fabs(acc[0][2] - acc[1][2]) < 1e-12 && fabs(acc[0][2] - acc[2][2]) < 1e-12); /* K = 100%: same images */
    /* top 16 pixels = the square: noise there (mean 8 < T) flips most class-0 images; bottom leaves them */
    ck_assert_msg(acc[0][1] < acc[1][1] - 0.3, "top %.3f, bottom %.3f", acc[0][1], acc[1][1]);
    ck_assert(fabs(acc[1][1] - acc[1][0]) < 1e-12);
    free(maps), free(x);
    model_free(&m);
}
END_TEST

START_TEST(test_compress_open_mask_is_original) {
    Model m;
    synth_create(&m);
    float *x = synth_images(NS);
    const int P = SH * SH;
    int32_t labels[NS];
    for (int i = 0; i < NS; i++) labels[i] = 0;
    float *ones = nx_malloc(sizeof(float) * NS * P), *zeros = nx_calloc(NS * P, sizeof(float));
    for (int i = 0; i < NS * P; i++) ones[i] = 1;
    CompressPoint orig, mixed, down1, d4, flat;
    ck_assert_int_eq(compress_downsample(&orig, &m, x, labels, NS, 1, SH, SH, 1, 64), 0);
    ck_assert_int_eq(compress_mixed(&mixed, &m, x, labels, ones, NS, 1, SH, SH, 8, NICE_BG_BLOCKS, 64), 0);
    ck_assert_int_eq(compress_mixed(&down1, &m, x, labels, zeros, NS, 1, SH, SH, 1, NICE_BG_BLOCKS, 64), 0);
    ck_assert_msg(mixed.mean_bytes == orig.mean_bytes && mixed.accuracy == orig.accuracy && orig.accuracy == 1.0,
                  "open mask %.1f B %.3f, original %.1f B %.3f", mixed.mean_bytes, mixed.accuracy, orig.mean_bytes, orig.accuracy);
    ck_assert(down1.mean_bytes == orig.mean_bytes); /* b = 1: x_b = x whatever the mask */
    /* a closed mask at b = side: one mean value per image, a much smaller PNG */
    ck_assert_int_eq(compress_mixed(&flat, &m, x, labels, zeros, NS, 1, SH, SH, SH, NICE_BG_BLOCKS, 64), 0);
    ck_assert_int_eq(compress_downsample(&d4, &m, x, labels, NS, 1, SH, SH, 4, 64), 0);
    ck_assert(flat.mean_bytes < orig.mean_bytes / 2 && d4.mean_bytes < orig.mean_bytes);
    ck_assert_int_eq(compress_mixed(&flat, &m, x, labels, zeros, NS, 1, SH, SH, 3, NICE_BG_BLOCKS, 64), -1);
    /* mask_top_fraction keeps exactly round(d P) pixels */
    float z[P];
    mask_top_fraction(z, x, P, 0.25, 1);
    double open = 0;
    for (int p = 0; p < P; p++) open += z[p];
    ck_assert(open == P / 4);
    free(ones), free(zeros), free(x);
    model_free(&m);
}
END_TEST

/* A small source dataset: 12 items of 28x28, each a lit rectangle of its own size and brightness. */
static void fake_source(Dataset *d) {
    memset(d, 0, sizeof *d);
    d->n = 12, d->c = 1, d->h = d->w = 28;
    d->pixels = nx_calloc(12 * 784, 1);
    d->labels = nx_malloc(12 * sizeof(int32_t));
    for (int i = 0; i < 12; i++) {
        d->labels[i] = i % 4;
        for (int y = 2 + i % 5; y < 20 + i % 7; y++)
            for (int x = 3 + i % 3; x < 24; x++) d->pixels[i * 784 + y * 28 + x] = (uint8_t)(60 + 15 * i + (x + y) % 7);
    }
}

START_TEST(test_cluttered_masks_are_the_item) {
    Dataset src;
    fake_source(&src);
    ClutterConfig c = clutter_default();
    c.size = 48, c.seed = 4;
    enum { N = 40 };
    const int S = c.size;
    uint8_t *img = nx_malloc(N * 48 * 48), *msk = nx_malloc(N * 48 * 48);
    int32_t lab[N], where[3 * N];
    ck_assert_int_eq(clutter_generate(img, msk, lab, where, &src, N, &c), 0);
    int frag_pixels = 0;
    for (int i = 0; i < N; i++) {
        const uint8_t *item = src.pixels + (size_t)where[3 * i] * 784;
        int r0 = where[3 * i + 1], c0 = where[3 * i + 2];
        ck_assert_int_eq(lab[i], src.labels[where[3 * i]]);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int iy = y - r0, ix = x - c0;
                bool inside = iy >= 0 && iy < 28 && ix >= 0 && ix < 28 && item[iy * 28 + ix] > 0;
                uint8_t mv = msk[(size_t)i * S * S + y * S + x], pv = img[(size_t)i * S * S + y * S + x];
                ck_assert_msg(mv == (inside ? 255 : 0), "sample %d (%d,%d): mask %d, inside %d", i, y, x, mv, inside);
                if (inside) ck_assert_int_eq(pv, item[iy * 28 + ix]);
                else frag_pixels += pv > 0;
            }
    }
    ck_assert_msg(frag_pixels > N * 50, "only %d fragment pixels in %d canvases", frag_pixels, N);
    /* no fragments: the lit pixels are the mask; and each sample regenerates alone */
    c.fragments = 0;
    ck_assert_int_eq(clutter_generate(img, msk, lab, where, &src, N, &c), 0);
    for (int p = 0; p < N * S * S; p++) ck_assert((img[p] > 0) == (msk[p] == 255));
    /* bad configurations are errors, not crashes */
    c.size = 20;
    ck_assert_int_eq(clutter_generate(img, msk, lab, where, &src, N, &c), -1);
    free(img), free(msk);
    free(src.pixels), free(src.labels);
}
END_TEST

START_TEST(test_localise_ground_truth) {
    enum { N = 5, H = 10, W = 12 };
    uint8_t gt[N * H * W] = {0};
    float perfect[N * H * W], inverted[N * H * W], flat[N * H * W];
    for (int i = 0; i < N; i++)
        for (int p = 0; p < H * W; p++) {
            bool in = (p / W) >= i && (p / W) < i + 3 && (p % W) < 4; /* 12 of 120 pixels */
            gt[i * H * W + p] = in ? 1 : 0;
            perfect[i * H * W + p] = in;
            inverted[i * H * W + p] = !in;
            flat[i * H * W + p] = 2.0f;
        }
    LocaliseResult r;
    localise_score(&r, perfect, gt, N, H, W, 0);
    ck_assert(r.hit_rate == 1 && fabs(r.mass_inside - 1) < 1e-12 && fabs(r.area - 0.1) < 1e-12);
    localise_score(&r, inverted, gt, N, H, W, 0);
    ck_assert(r.hit_rate == 0 && r.mass_inside == 0);
    localise_score(&r, flat, gt, N, H, W, 0);
    ck_assert(fabs(r.mass_inside - 0.1) < 1e-12);
}
END_TEST

START_TEST(test_timing_stats) {
    double s[4] = {1, 2, 3, 4};
    TimingStats t;
    timing_stats(&t, s, 4);
    ck_assert(t.mean == 2.5 && t.min == 1 && fabs(t.std - sqrt(5.0 / 3)) < 1e-12);
    char *ok[] = {"true", NULL}, *bad[] = {"false", NULL};
    ck_assert_int_eq(timing_command(&t, ok, 1, 3, true), 0);
    ck_assert(t.repeats == 3 && t.mean > 0 && t.mean < 5);
    ck_assert_int_eq(timing_command(&t, bad, 0, 1, true), -1);
}
END_TEST

Suite *suite_eval(void) {
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_auc_known_curves);
    tcase_add_test(tc, test_blur_and_resampling);
    tcase_add_test(tc, test_deletion_insertion_order_methods);
    tcase_add_test(tc, test_randomise_k0_is_clean_accuracy);
    tcase_add_test(tc, test_compress_open_mask_is_original);
    tcase_add_test(tc, test_cluttered_masks_are_the_item);
    tcase_add_test(tc, test_localise_ground_truth);
    tcase_add_test(tc, test_timing_stats);
    suite_add_tcase(s, tc);
    return s;
}
