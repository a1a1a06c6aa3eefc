/* suite_rtis.c: the RTIS masking model against known answers.
 *   - area, smoothness and hinge terms on hand-computed masks and logits
 *     (values and gradients), the mix, the Gaussian blur's impulse response
 *   - the masking model's shapes for lenet5, vgg11, resnet18-cifar, resnet18
 *   - a different class selector gives a different mask
 *   - an RTIS training run (both phases) leaves the classifier's parameters
 *     and batchnorm statistics bit-identical, and moves the masking model
 *   - saving names the classifier; a mismatched classifier is refused
 *   - a 1-epoch RTIS on a folder of JPEGs the test writes, ResNet18 at 224,
 *     then explanation
 *   - the CLI with the shipped models: nicex explain --method rtis, nicex
 *     rtis explain / eval; bad input exits 1 or 2; a resumed training run
 *     writes the same file as an uninterrupted one
 *   - the known-region task (tests/known_region.h): the four-stage
 *     classifier gives the one-stage one's logits; RTIS on it puts >= 70%
 *     of its mass inside R; on the one-stage classifier R and its
 *     look-alike distractor get equal mass (<= 50% inside R; see the tests)
 * RTIS adds no op (the selector is a linear layer on a one-hot), so there is
 * no new gradient-check or golden case in tests/grad or tests/golden.
 */
#include "tests/testlib.h"
#include "baselines/rtis.h"
#include "data/dataset.h"
#include "eval/maps.h"
#include "tensor/progress.h"
#include "tensor/rng.h"
#include "tests/known_region.h"

#include <jpeglib.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NX_MODELS_DIR
#define NX_MODELS_DIR "models"
#endif
#define SHIPPED_LENET NX_MODELS_DIR "/lenet5-fashion-mnist.safetensors"
#define SHIPPED_RTIS NX_MODELS_DIR "/rtis-lenet5-fashion-mnist.safetensors"

static Tensor *host4(int n, int c, int h, int w, const float *v) {
    Tensor *t = tensor_newv(NX_CPU, NX_F32, 4, n, c, h, w);
    memcpy(t->data, v, tensor_bytes(t));
    return t;
}

START_TEST(test_area_by_hand) {
    nx_step_reset();
    float v[4] = {0, 0.5f, 1, 0.25f};
    Tensor *m = host4(1, 1, 2, 2, v);
    double want = 0;
    for (int i = 0; i < 4; i++) want += pow(v[i] + 0.0005, 0.3) / 4;
    ck_assert_msg(fabs(rtis_area_loss(m, 0.3f)->data[0] - want) < 1e-6, "area %g, want %g",
                  rtis_area_loss(m, 0.3f)->data[0], want);
    ck_assert(fabs(rtis_area_loss(m, 1)->data[0] - 1.75 / 4) < 1e-7);
    /* d/dm_i = 0.3 (m_i + 0.0005)^-0.7 / 4 */
    m->requires_grad = true;
    tape_backward(rtis_area_loss(m, 0.3f));
    for (int i = 0; i < 4; i++) {
        double g = 0.3 * pow(v[i] + 0.0005, -0.7) / 4;
        ck_assert_msg(fabs(m->grad[i] - g) < 1e-4 * g, "grad %d: %g, want %g", i, m->grad[i], g);
    }
    nx_step_reset();
}
END_TEST

static Tensor *smooth_fn(Tensor **in, void *arg) {
    (void)arg;
    return rtis_smooth_loss(in[0], 0.3f);
}

START_TEST(test_smoothness_by_hand) {
    nx_step_reset();
    /* 2x2, m = [[1, 0], [0, 0]]: horizontal (1-0)^2 = 1, vertical 1; the
     * corner pixel is on the top row and the left column: 0.3 * 2.
     * (1 + 1 + 0.6) / (2 * 1) = 1.3 */
    float a[4] = {1, 0, 0, 0};
    ck_assert(fabs(rtis_smooth_loss(host4(1, 1, 2, 2, a), 0.3f)->data[0] - 1.3) < 1e-6);
    /* two 3x3 images: zeros, and a single 1 at the centre (4 differences of 1,
     * no border): (0 + 4) / (2 * 2) = 1 */
    float b[18] = {0};
    b[9 + 4] = 1;
    ck_assert(fabs(rtis_smooth_loss(host4(2, 1, 3, 3, b), 0.3f)->data[0] - 1.0) < 1e-6);
    /* all ones 3x3: no differences; border: each of the 4 sides has 3 pixels
     * of 1: 0.3 * 12 / 2 = 1.8 */
    float c[9];
    for (int i = 0; i < 9; i++) c[i] = 1;
    ck_assert(fabs(rtis_smooth_loss(host4(1, 1, 3, 3, c), 0.3f)->data[0] - 1.8) < 1e-6);
    ck_assert(fabs(rtis_smooth_loss(host4(1, 1, 3, 3, c), 0.0f)->data[0]) < 1e-6);
    /* 1x2x3 ramp [[0, .5, 1], [1, 1, 1]]: horizontal .25 + .25, vertical
     * 1 + .25 + 0, border: top 0 + .25 + 1, bottom 3, left 0 + 1, right 1 + 1
     * -> 0.3 * 7.25 = 2.175; total (0.5 + 1.25 + 2.175) / 2 = 1.9625 */
    float d[6] = {0, 0.5f, 1, 1, 1, 1};
    Tensor *t = host4(1, 1, 2, 3, d);
    ck_assert_msg(fabs(rtis_smooth_loss(t, 0.3f)->data[0] - 1.9625) < 1e-6, "ramp: %g",
                  rtis_smooth_loss(t, 0.3f)->data[0]);
    /* its gradient, by finite differences */
    test_seed(5);
    Tensor *r = test_uniform4(2, 1, 4, 5, 0, 1);
    r->requires_grad = true;
    ck_assert_int_eq(gradcheck("rtis_smooth_loss", smooth_fn, &r, 1, NULL, 1e-3, 2e-3), 0);
    nx_step_reset();
}
END_TEST

START_TEST(test_hinge_by_hand) {
    nx_step_reset();
    float z[6] = {2, 1, 0.5f, 0, 3, 1};
    Tensor *l = tensor_newv(NX_CPU, NX_F32, 2, 2, 3);
    memcpy(l->data, z, sizeof z);
    int32_t y[2] = {0, 0};
    /* row 0 targeted: relu(1 - 2 + 1) = 0; row 1 untargeted: relu(0 - 3 + 5) = 2 */
    bool mixed[2] = {true, false}, both[2] = {true, true}, none[2] = {false, false};
    ck_assert(fabs(rtis_hinge_loss(l, y, mixed, 1, 5)->data[0] - 1.0) < 1e-6);
    /* both targeted: 0 and relu(3 - 0 + 1) = 4 -> 2 */
    ck_assert(fabs(rtis_hinge_loss(l, y, both, 1, 5)->data[0] - 2.0) < 1e-6);
    /* both untargeted, margin 2: relu(2 - 1 + 2) = 3, relu(0 - 3 + 2) = 0 -> 1.5 */
    ck_assert(fabs(rtis_hinge_loss(l, y, none, 1, 2)->data[0] - 1.5) < 1e-6);
    /* gradient of the "both targeted" case: only row 1 is active,
     * d/dz_{1,1} = +1/2 (the best other), d/dz_{1,0} = -1/2 */
    l->requires_grad = true;
    tape_backward(rtis_hinge_loss(l, y, both, 1, 5));
    float want[6] = {0, 0, 0, -0.5f, 0.5f, 0};
    for (int i = 0; i < 6; i++) ck_assert_msg(fabs(l->grad[i] - want[i]) < 1e-7, "grad %d: %g", i, l->grad[i]);
    nx_step_reset();
}
END_TEST

START_TEST(test_mix_and_blur) {
    nx_step_reset();
    float x[2] = {1, 1}, a[2] = {0, 4}, k[2] = {0.25f, 1};
    Tensor *mix = rtis_mix(host4(1, 1, 1, 2, x), host4(1, 1, 1, 2, k), host4(1, 1, 1, 2, a));
    ck_assert(fabs(mix->data[0] - 0.25) < 1e-7 && fabs(mix->data[1] - 1) < 1e-7);
    /* an impulse at the centre of 11x11: the normalised Gaussian g(dy) g(dx) */
    float *im = nx_calloc(121, sizeof(float));
    im[60] = 1;
    Tensor *b = rtis_blur(host4(1, 1, 11, 11, im), 1.5f, 7);
    double s = 0;
    for (int i = -3; i <= 3; i++) s += exp(-i * i / (2 * 1.5 * 1.5));
    for (int dy = -5; dy <= 5; dy++)
        for (int dx = -5; dx <= 5; dx++) {
            double want = abs(dy) <= 3 && abs(dx) <= 3 ? exp(-(dy * dy + dx * dx) / (2 * 1.5 * 1.5)) / (s * s) : 0;
            ck_assert_msg(fabs(b->data[(5 + dy) * 11 + 5 + dx] - want) < 1e-6, "blur at %d,%d", dy, dx);
        }
    free(im);
    /* the alternative: blur only is deterministic; noise lies around grey */
    RtisConfig c = rtis_config_default(28, 10);
    ck_assert_float_eq(c.blur_sigma, 1.375f);
    ck_assert_int_eq(c.blur_kernel, 7);
    ck_assert(fabs(c.destroyer_margin - 2) < 1e-6);
    RtisConfig big = rtis_config_default(224, 1000);
    ck_assert_int_eq(big.blur_kernel, 55);
    ck_assert(fabs(big.blur_sigma - 11) < 1e-6 && fabs(big.destroyer_margin - 5) < 1e-5);
    rng_seed(1);
    Tensor *xx = test_uniform4(4, 3, 16, 16, 0, 1);
    Tensor *n = rtis_alternative(xx, &c, RTIS_ALT_NOISE);
    double mean = 0;
    for (int64_t i = 0; i < n->numel; i++) mean += n->data[i] / n->numel;
    ck_assert_msg(fabs(mean - 0.5) < 0.15, "noise alternative mean %g", mean);
    nx_step_reset();
}
END_TEST

/* A random-init classifier and its masking model; checks the shapes. */
static void check_family(const char *arch, int hw, int in_c, int classes, int want_up, int want_low) {
    nx_step_reset();
    rng_seed(11);
    Model m;
    ck_assert_int_eq(model_create(&m, arch, classes, in_c, hw, NX_CPU), 0);
    RtisModel r;
    ck_assert_msg(rtis_create(&r, &m, 8) == 0, "%s: %s", arch, nx_error_msg());
    ck_assert_msg(r.n_up == want_up, "%s: %d upsampler blocks, want %d", arch, r.n_up, want_up);
    int n = 2;
    Tensor *x = test_uniform4(n, in_c, hw, hw, 0, 1);
    int32_t cls[2] = {0, classes - 1};
    Tensor *low, *exists;
    Tensor *mask = rtis_forward(&r, &m, x, cls, &low, &exists);
    ck_assert_msg(mask->ndim == 4 && mask->shape[0] == n && mask->shape[1] == 1 && mask->shape[2] == hw &&
                      mask->shape[3] == hw,
                  "%s: mask %s", arch, tensor_shape_str(mask));
    ck_assert_msg(low->shape[2] == want_low && low->shape[3] == want_low, "%s: low-res mask %s, want side %d", arch,
                  tensor_shape_str(low), want_low);
    ck_assert(exists->ndim == 2 && exists->shape[0] == n && exists->shape[1] == 2);
    for (int64_t i = 0; i < mask->numel; i++) ck_assert(mask->data[i] >= 0 && mask->data[i] <= 1);
    rtis_free(&r);
    model_free(&m);
    nx_step_reset();
}

START_TEST(test_shapes_lenet5) { check_family("lenet5", 28, 1, 10, 1, 8); }
END_TEST
START_TEST(test_shapes_vgg11) { check_family("vgg11", 32, 3, 10, 2, 8); }
END_TEST
START_TEST(test_shapes_resnet18_cifar) { check_family("resnet18-cifar", 32, 3, 10, 1, 8); }
END_TEST
START_TEST(test_shapes_resnet18) { check_family("resnet18", 224, 3, 5, 3, 56); }
END_TEST

START_TEST(test_selector_changes_mask) {
    nx_step_reset();
    rng_seed(2);
    Model m;
    ck_assert_int_eq(model_create(&m, "lenet5", 10, 1, 28, NX_CPU), 0);
    RtisModel r;
    ck_assert_int_eq(rtis_create(&r, &m, 8), 0);
    float *x = nx_malloc(sizeof(float) * 2 * 784);
    for (int i = 0; i < 2 * 784; i++) x[i] = (float)((i * 37) % 101) / 100.0f;
    memcpy(x + 784, x, sizeof(float) * 784); /* the same image twice */
    float *maps = nx_malloc(sizeof(float) * 2 * 784);
    int32_t cls[2] = {3, 7};
    ck_assert_int_eq(rtis_explain(maps, NULL, NULL, &r, &m, x, 2, cls), 0);
    double diff = 0;
    for (int i = 0; i < 784; i++) diff = fmax(diff, fabs(maps[i] - maps[784 + i]));
    ck_assert_msg(diff > 1e-4, "classes 3 and 7 give the same mask (max diff %g)", diff);
    int32_t same[2] = {3, 3};
    ck_assert_int_eq(rtis_explain(maps, NULL, NULL, &r, &m, x, 2, same), 0);
    for (int i = 0; i < 784; i++) ck_assert(maps[i] == maps[784 + i]);
    free(x), free(maps);
    rtis_free(&r);
    model_free(&m);
    nx_step_reset();
}
END_TEST

/* An in-memory dataset of n random images. */
static Dataset fake_dataset(int n, int c, int hw, int classes) {
    Dataset d;
    memset(&d, 0, sizeof d);
    snprintf(d.kind, sizeof d.kind, "folder");
    d.n = n, d.c = c, d.h = d.w = hw, d.n_classes = classes;
    d.pixels = nx_malloc((size_t)n * c * hw * hw);
    d.labels = nx_malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < (int64_t)n * c * hw * hw; i++) d.pixels[i] = (uint8_t)((i * 2654435761u) >> 24);
    for (int i = 0; i < n; i++) d.labels[i] = i % classes;
    return d;
}

static unsigned char *store_bytes(ParamStore *s, size_t *bytes) {
    *bytes = s->total * sizeof(float);
    unsigned char *h = nx_malloc(*bytes);
    device_memcpy(NX_CPU, h, s->device, s->params, *bytes);
    return h;
}

START_TEST(test_training_leaves_classifier_untouched) {
    nx_step_reset();
    rng_seed(4);
    Model m;
    ck_assert_int_eq(model_create(&m, "resnet18-cifar", 4, 3, 32, NX_CPU), 0);
    /* non-trivial batchnorm statistics, as a trained model has */
    for (int i = 0; i < m.params.n; i++)
        if (strstr(m.params.t[i]->name, "running_mean")) tensor_fill(m.params.t[i], 0.05f);
    RtisModel r;
    ck_assert_int_eq(rtis_create(&r, &m, 8), 0);
    size_t nb, rb;
    unsigned char *before = store_bytes(&m.params, &nb), *rbefore = store_bytes(&r.params, &rb);
    Dataset d = fake_dataset(8, 3, 32, 4);
    RtisConfig c = rtis_config_default(32, 4);
    c.selector_epochs = 1, c.epochs = 1, c.batch = 4, c.selector_batch = 4, c.quiet = true;
    RtisStats s;
    ck_assert_int_eq(rtis_train(&r, &m, &d, NULL, &c, NULL, NULL, NULL, &s), 0);
    unsigned char *after = store_bytes(&m.params, &nb), *rafter = store_bytes(&r.params, &rb);
    ck_assert_msg(memcmp(before, after, nb) == 0, "the classifier's parameters or statistics changed");
    ck_assert_msg(memcmp(rbefore, rafter, rb) != 0, "the masking model did not move");
    /* both the selector (phase 1) and the head (phase 2) moved */
    Tensor *sel = params_find(&r.params, "selector.weight"), *head = params_find(&r.params, "head.weight");
    size_t so = 0, ho = 0;
    for (int i = 0; i < r.params.n; i++) {
        if (r.params.t[i] == sel) so = r.params.offset[i];
        if (r.params.t[i] == head) ho = r.params.offset[i];
    }
    ck_assert(memcmp(rbefore + so * 4, rafter + so * 4, tensor_bytes(sel)) != 0);
    ck_assert(memcmp(rbefore + ho * 4, rafter + ho * 4, tensor_bytes(head)) != 0);
    free(before), free(after), free(rbefore), free(rafter);
    free(d.pixels), free(d.labels);
    rtis_free(&r);
    model_free(&m);
    nx_step_reset();
}
END_TEST

START_TEST(test_save_names_classifier_and_refuses_mismatch) {
    nx_step_reset();
    rng_seed(6);
    char dir[] = "/tmp/nx_rtis_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/r.safetensors", dir);
    Model m, other, wider;
    ck_assert_int_eq(model_create(&m, "lenet5", 10, 1, 28, NX_CPU), 0);
    ck_assert_int_eq(model_create(&other, "vgg11", 10, 3, 32, NX_CPU), 0);
    ck_assert_int_eq(model_create(&wider, "lenet5", 7, 1, 28, NX_CPU), 0);
    RtisModel r, back;
    ck_assert_int_eq(rtis_create(&r, &m, 8), 0);
    RtisConfig c = rtis_config_default(28, 10);
    ck_assert_int_eq(rtis_save(path, &r, &m, &c, "models/x.safetensors", "fashion-mnist"), 0);
    char file[256];
    ck_assert_int_eq(rtis_classifier_file(path, file, sizeof file), 0);
    ck_assert_str_eq(file, "models/x.safetensors");
    ck_assert_int_eq(rtis_load(path, &back, &other, NULL, NULL), -1);
    ck_assert_msg(strstr(nx_error_msg(), "explains lenet5 with 10 classes") && strstr(nx_error_msg(), "vgg11"), "%s",
                  nx_error_msg());
    ck_assert_int_eq(rtis_load(path, &back, &wider, NULL, NULL), -1);
    ck_assert_msg(strstr(nx_error_msg(), "with 7 classes"), "%s", nx_error_msg());
    bool differ = true;
    RtisConfig lc;
    ck_assert_int_eq(rtis_load(path, &back, &m, &lc, &differ), 0);
    ck_assert(!differ);
    ck_assert_int_eq(back.n_up, r.n_up);
    ck_assert(fabs(lc.destroyer_margin - c.destroyer_margin) < 1e-6);
    size_t a, b;
    unsigned char *pa = store_bytes(&r.params, &a), *pb = store_bytes(&back.params, &b);
    ck_assert(a == b && memcmp(pa, pb, a) == 0);
    free(pa), free(pb);
    rtis_free(&back);
    /* other weights of the same architecture: loads, flagged */
    Model m2;
    rng_seed(99);
    ck_assert_int_eq(model_create(&m2, "lenet5", 10, 1, 28, NX_CPU), 0);
    ck_assert_int_eq(rtis_load(path, &back, &m2, NULL, &differ), 0);
    ck_assert(differ);
    rtis_free(&back);
    unlink(path);
    rmdir(dir);
    rtis_free(&r);
    model_free(&m), model_free(&m2), model_free(&other), model_free(&wider);
    nx_step_reset();
}
END_TEST

static void write_jpeg(const char *path, int h, int w, unsigned seed) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w, ci.image_height = (JDIMENSION)h, ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    unsigned char *row = nx_malloc((size_t)w * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++) row[x * 3 + k] = (unsigned char)((x * (k + 1) + y * seed + seed * 40) & 255);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&ci, &rp, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
    free(row);
}

START_TEST(test_resnet18_224_folder_one_epoch_then_explain) {
    nx_step_reset();
    char dir[] = "/tmp/nx_rtis_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *sub[6] = {"train", "train/cat", "train/dog", "val", "val/cat", "val/dog"};
    char p[512];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
    }
    const char *files[6] = {"train/cat/a.jpg", "train/cat/b.jpg", "train/dog/a.jpg", "train/dog/b.jpg",
                            "val/cat/c.jpg", "val/dog/c.jpg"};
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        write_jpeg(p, 40, 48, 3 + (unsigned)i);
    }
    char spec[300];
    snprintf(spec, sizeof spec, "folder:%s", dir);
    Dataset train, test;
    ck_assert_msg(dataset_open(&train, spec, DATA_TRAIN, 224, 0) == 0, "%s", nx_error_msg());
    ck_assert_msg(dataset_open(&test, spec, DATA_TEST, 224, 0) == 0, "%s", nx_error_msg());
    ck_assert(train.n == 4 && test.n == 2 && train.h == 224 && train.n_classes == 2);
    rng_seed(8);
    Model m;
    ck_assert_int_eq(model_create(&m, "resnet18", 2, 3, 224, NX_CPU), 0);
    RtisModel r;
    ck_assert_int_eq(rtis_create(&r, &m, 8), 0);
    RtisConfig c = rtis_config_default(224, 2);
    c.selector_epochs = 0, c.epochs = 1, c.batch = 2, c.quiet = true;
    RtisStats s;
    ck_assert_int_eq(rtis_train(&r, &m, &train, &test, &c, NULL, NULL, NULL, &s), 0);
    ck_assert_int_eq((int)s.n, 2);
    ck_assert(s.area > 0 && s.area < 1 && isfinite(s.loss.total));
    snprintf(p, sizeof p, "%s/rtis.safetensors", dir);
    ck_assert_int_eq(rtis_save(p, &r, &m, &c, "none", spec), 0);
    RtisModel back;
    ck_assert_int_eq(rtis_load(p, &back, &m, NULL, NULL), 0);
    float *x = nx_malloc(sizeof(float) * 2 * 3 * 224 * 224), *maps = nx_malloc(sizeof(float) * 2 * 224 * 224);
    for (int i = 0; i < 2; i++) dataset_get_float(&test, i, x + (size_t)i * 3 * 224 * 224, NULL, NULL);
    int32_t pred[2];
    ck_assert_int_eq(rtis_explain(maps, NULL, pred, &back, &m, x, 2, NULL), 0);
    double mean = 0;
    for (int i = 0; i < 2 * 224 * 224; i++) {
        ck_assert(maps[i] >= 0 && maps[i] <= 1);
        mean += maps[i];
    }
    ck_assert(pred[0] >= 0 && pred[0] < 2);
    ck_assert(mean > 0);
    free(x), free(maps);
    rtis_free(&back);
    rtis_free(&r);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    unlink(p);
    for (int i = 0; i < 6; i++) snprintf(p, sizeof p, "%s/%s", dir, files[i]), unlink(p);
    for (int i = 5; i >= 0; i--) snprintf(p, sizeof p, "%s/%s", dir, sub[i]), rmdir(p);
    rmdir(dir);
    nx_step_reset();
}
END_TEST

static const char *nicex_bin(void) { return test_nicex_bin(); }

/* The CLI tests need the CLI, the shipped models and Fashion-MNIST: registered only then (suite_rtis). */
static bool have_cli_and_data(bool rtis) {
    return access(nicex_bin(), X_OK) == 0 && access(SHIPPED_LENET, R_OK) == 0 &&
           (!rtis || access(SHIPPED_RTIS, R_OK) == 0) && test_have_fashion_mnist();
}

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

START_TEST(test_cli_shipped_explain_and_eval) {
    char dir[] = "/tmp/nx_rtis_cli_XXXXXX", cmd[2048], path[600];
    const char *data = test_fashion_mnist_spec();
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* nicex explain --method rtis, the default RTIS file */
    snprintf(cmd, sizeof cmd,
             "%s explain --method rtis --classifier %s --data %s --n 3 --first 5 --out %s/ex > /dev/null 2>&1",
             nicex_bin(), SHIPPED_LENET, data, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/ex/maps.safetensors", dir);
    MapsFile mf;
    ck_assert_msg(maps_load(&mf, path) == 0, "%s", nx_error_msg());
    ck_assert(mf.n == 3 && mf.h == 28 && mf.w == 28 && mf.nh == 8 && mf.nw == 8 && mf.index[0] == 5);
    ck_assert_str_eq(maps_meta(&mf, "method"), "rtis");
    for (int i = 0; i < 3 * 28 * 28; i++) ck_assert(mf.maps[i] >= 0 && mf.maps[i] <= 1);
    maps_free(&mf);
    /* nicex rtis explain and eval */
    snprintf(cmd, sizeof cmd, "%s rtis explain --data %s --n 4 --no-png --out %s/ex2 > /dev/null 2>&1", nicex_bin(),
             data, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s rtis eval --data %s --n 200 --json > %s/eval.json 2>&1", nicex_bin(), data, dir);
    ck_assert_int_eq(sh(cmd), 0);
    /* a classifier checkpoint is not an RTIS file: exit 1 (a bad file), and
     * explain refuses it as an option value: exit 2 */
    snprintf(cmd, sizeof cmd, "%s rtis eval --rtis %s > /dev/null 2>&1", nicex_bin(), SHIPPED_LENET);
    ck_assert_int_eq(sh(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s explain --method rtis --rtis %s --classifier %s --out %s/bad > /dev/null 2>&1",
             nicex_bin(), SHIPPED_LENET, SHIPPED_LENET, dir);
    ck_assert_int_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s rtis train > /dev/null 2>&1", nicex_bin());
    ck_assert_int_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
}
END_TEST

static bool same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = false;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

START_TEST(test_cli_train_resume_repeats_exactly) {
    char dir[] = "/tmp/nx_rtis_resume_XXXXXX", cmd[2048], a[600], b[600], common[800];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(common, sizeof common,
             "--data %s --limit 128 --eval-limit 64 --selector-epochs 1 --batch 32 --selector-batch 64 --seed 5 --json",
             test_fashion_mnist_spec());
    /* 1 + 2 epochs in one go; 1 + 1, then resumed for the last */
    snprintf(cmd, sizeof cmd, "%s rtis train --classifier %s %s --epochs 2 --out %s/full.safetensors > /dev/null 2>&1",
             nicex_bin(), SHIPPED_LENET, common, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s rtis train --classifier %s %s --epochs 1 --out %s/half.safetensors > /dev/null 2>&1",
             nicex_bin(), SHIPPED_LENET, common, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "%s rtis train --classifier %s %s --epochs 2 --resume %s/half.safetensors --out %s/resumed.safetensors > "
             "/dev/null 2>&1",
             nicex_bin(), SHIPPED_LENET, common, dir, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(a, sizeof a, "%s/full.safetensors", dir);
    snprintf(b, sizeof b, "%s/resumed.safetensors", dir);
    ck_assert_msg(same_file(a, b), "a resumed run differs from the uninterrupted one");
    snprintf(a, sizeof a, "%s/half.safetensors", dir);
    ck_assert(!same_file(a, b));
    /* resuming against another classifier is refused */
    snprintf(cmd, sizeof cmd, "%s rtis train --classifier %s/half.safetensors --resume %s/half.safetensors --out %s/x > /dev/null 2>&1",
             nicex_bin(), dir, dir, dir);
    ck_assert_int_ne(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
}
END_TEST

/* ---- the known-region task (tests/known_region.h) ------------------------- */

/* n images of the task's kind: amplitude in [0.08, 0.2], random parity,
 * texture in R with probability 0.75 (label 1, as the classifier says) and
 * in the distractor D with probability 0.5; 8-bit pixels. */
static Dataset kr_dataset(int n, uint64_t seed) {
    Dataset d;
    memset(&d, 0, sizeof d);
    snprintf(d.kind, sizeof d.kind, "folder");
    d.n = n, d.c = 1, d.h = d.w = KR_H, d.n_classes = 2;
    d.pixels = nx_malloc((size_t)n * KR_H * KR_H);
    d.labels = nx_malloc(sizeof(int32_t) * (size_t)n);
    float img[KR_H * KR_H];
    uint64_t s = seed;
#define KR_U() ((s = s * 6364136223846793005ull + 1442695040888963407ull), (double)(s >> 11) / 9007199254740992.0)
    for (int i = 0; i < n; i++) {
        bool r = KR_U() < 0.75, dd = KR_U() < 0.5;
        float amp = (float)(0.08 + 0.12 * KR_U());
        int phase = KR_U() < 0.5;
        kr_image(img, amp, phase, r, dd);
        for (int p = 0; p < KR_H * KR_H; p++) d.pixels[(size_t)i * KR_H * KR_H + p] = (uint8_t)lroundf(img[p] * 255);
        d.labels[i] = r;
    }
#undef KR_U
    return d;
}

/* The known-region task's tensors are tiny (one channel, 32x32, batches of
 * 64): on two threads the OpenMP regions cost more than the work (the
 * four-stage training took 40 s of CPU instead of 10 s), so its trainings
 * run on one thread; the caller restores the count. */
static int kr_single_thread(void) {
    int t = omp_get_max_threads();
    omp_set_num_threads(1);
    return t;
}

/* The four-stage known-region classifier computes the one-stage one's
 * logits (to float rounding: 64 a * sum of cell means = a * sum of pixels),
 * and its stages are 32, 16, 8, 4 pixels wide. */
START_TEST(test_known_region_staged_logits) {
    nx_step_reset();
    Model one, four;
    kr_model(&one);
    kr_model_staged(&four);
    enum { N = 32 };
    Dataset d = kr_dataset(N - 3, 7);
    float *x = nx_malloc(sizeof(float) * N * KR_H * KR_H);
    float *t = kr_images(3);
    memcpy(x, t, sizeof(float) * 3 * KR_H * KR_H);
    free(t);
    for (size_t p = 0; p < (size_t)(N - 3) * KR_H * KR_H; p++) x[3 * KR_H * KR_H + p] = d.pixels[p] / 255.0f;
    Tensor *xt = host4(N, 1, KR_H, KR_H, x);
    bool prev = nx_no_grad();
    float *z1 = tensor_to_host(model_forward(&one, xt)), *z4 = tensor_to_host(model_forward(&four, xt));
    nx_set_grad(prev);
    ck_assert_int_eq(four.n_stages, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(four.stages[i]->shape[1], 1);
        ck_assert_int_eq(four.stages[i]->shape[2], KR_H >> i);
        ck_assert_int_eq(four.stages[i]->shape[3], KR_H >> i);
    }
    double worst = 0;
    for (int i = 0; i < 2 * N; i++) worst = fmax(worst, fabs(z1[i] - z4[i]) / fmax(1, fabs(z1[i])));
    printf("  known-region classifier, four stages vs one: max |dz| / max(1, |z|) = %.1e over %d images\n", worst, N);
    fflush(stdout);
    ck_assert_msg(worst < 1e-5, "the staged logits differ by %g", worst);
    /* the task still decides: class 1 on the task's images, as in suite_baselines */
    for (int i = 0; i < 3; i++) ck_assert_msg(z4[2 * i] == 0 && z4[2 * i + 1] > 2, "image %d: z %g %g", i, z4[2 * i], z4[2 * i + 1]);
    free(z1), free(z4), free(x), free(d.pixels), free(d.labels);
    model_free(&one);
    model_free(&four);
    nx_step_reset();
}
END_TEST

/* Masks of a trained RTIS for class 1 on 19 held-out images with both
 * textures (the task's own 3 and 16 new ones): mean share of the mass
 * inside R (and its minimum over the images), mean share on R and D
 * together, and the largest |mass(R) - mass(D)| / mass. */
typedef struct {
    double share, min_share, textured, worst_sym;
} KrMass;

static KrMass kr_rtis_mass(RtisModel *r, Model *m) {
    enum { N = 19 };
    float *x = nx_malloc(sizeof(float) * N * KR_H * KR_H), *maps = nx_malloc(sizeof(float) * N * KR_H * KR_H);
    float *t = kr_images(3);
    memcpy(x, t, sizeof(float) * 3 * KR_H * KR_H);
    free(t);
    for (int i = 3; i < N; i++) kr_image(x + (size_t)i * KR_H * KR_H, 0.09f + 0.006f * (float)i, i % 2, true, true);
    int32_t cls[N], pred[N];
    for (int i = 0; i < N; i++) cls[i] = 1;
    ck_assert_int_eq(rtis_explain(maps, NULL, pred, r, m, x, N, cls), 0);
    KrMass k = {.min_share = 1};
    for (int i = 0; i < N; i++) {
        ck_assert_msg(pred[i] == 1, "image %d: the classifier says %d", i, pred[i]);
        const float *mp = maps + (size_t)i * KR_H * KR_H;
        double in_r = 0, in_d = 0, all = 0;
        for (int y = 0; y < KR_H; y++)
            for (int xx = 0; xx < KR_H; xx++) {
                double v = mp[y * KR_H + xx];
                all += v;
                in_r += kr_in_region(y, xx) ? v : 0;
                in_d += kr_in_region(KR_H - 1 - y, KR_H - 1 - xx) ? v : 0;
            }
        ck_assert(all > 0);
        double sh = kr_mass_inside(mp);
        k.share += sh / N;
        k.min_share = fmin(k.min_share, sh);
        k.textured += (in_r + in_d) / all / N;
        k.worst_sym = fmax(k.worst_sym, fabs(in_r - in_d) / all);
    }
    free(x), free(maps);
    return k;
}

/* RTIS against the four-stage known-region classifier (kr_model_staged):
 * the masking model reads the stages as a real encoder, from the deepest
 * (4x4) up: one U-Net block to 8x8 (input/4, the reference's mask side)
 * with the 8x8 stage as its skip, so its 3x3 convolutions with zero
 * padding see where a cell lies and can tell R from its look-alike D.
 * Training: the reference objective, weights, lr (1e-3) and batches (128
 * in phase 1, 64 in phase 2), the default 2 selector epochs; only the
 * length is ours: 16 phase-2 epochs of 512 images (128 steps; the
 * reference runs 3000 on ImageNet): 10 s of CPU on one thread.
 * Known answer: >= 70% of the mask's mass inside R (the issue's bar; seeds
 * 11-16 give 73-89%, this seed 89.0%), and >= 85% on R and D together. */
START_TEST(test_known_region_mass) {
    nx_step_reset();
    rng_seed(11);
    Model m;
    kr_model_staged(&m);
    RtisModel r;
    ck_assert_int_eq(rtis_create(&r, &m, 64), 0);
    /* deepest stage 1@4, one block (skip: stage 2, 1@8), mask at 8x8 */
    ck_assert_int_eq(r.deep_stage, 3);
    ck_assert_int_eq(r.deep_hw, 4);
    ck_assert_int_eq(r.n_up, 1);
    ck_assert_int_eq(r.up[0].skip_stage, 2);
    ck_assert(!r.up[0].resize);
    ck_assert_int_eq(r.mask_hw, KR_H / 4);
    Dataset d = kr_dataset(512, 5), held = kr_dataset(128, 9);
    RtisConfig c = rtis_config_default(KR_H, 2);
    c.epochs = 16, c.quiet = true;
    double t0 = now_seconds();
    int threads = kr_single_thread();
    ck_assert_int_eq(rtis_train(&r, &m, &d, NULL, &c, NULL, NULL, NULL, NULL), 0);
    omp_set_num_threads(threads);
    double t_train = now_seconds() - t0;
    RtisStats st = rtis_evaluate(&r, &m, &held, &c, 64, 0);
    KrMass k = kr_rtis_mass(&r, &m);
    printf("  rtis on the known-region task, four-stage classifier (%d+%d epochs of 512, trained in %.1f s): "
           "%.1f%% of the mask's mass inside the deciding region (min %.1f%%; chance 25%%), %.1f%% on R and D "
           "together; held out: preserved %.1f%% destroyed %.1f%% area %.3f\n",
           c.selector_epochs, c.epochs, t_train, 100 * k.share, 100 * k.min_share, 100 * k.textured,
           100 * st.preservation, 100 * st.destruction, st.area);
    fflush(stdout); /* a failing check ends the forked test without flushing */
    ck_assert_msg(k.share >= 0.70, "only %.1f%% of the mass inside R", 100 * k.share);
    ck_assert_msg(k.textured >= 0.85, "only %.1f%% of the mass on the textures R and D", 100 * k.textured);
    free(d.pixels), free(d.labels), free(held.pixels), free(held.labels);
    rtis_free(&r);
    model_free(&m);
    nx_step_reset();
}
END_TEST

/* The one-stage classifier (kr_model) shows why the stages matter: its only
 * stage, f = |Laplacian(x)| at full resolution, is the masking model's
 * whole input (no upsampler block: the mask is a per-pixel function of the
 * gated f), and every test image is invariant under a 180-degree turn,
 * which maps R onto D and leaves f unchanged. So R and D get the same mass
 * and the share inside R is at most 50%. Known answers: equal mass on R
 * and D (to float rounding), >= 85% on the two. Training: the reference
 * objective and weights; lr 1e-2 instead of 1e-3 and 1 + 8 short epochs of
 * 512 images, batch 32, so the 1x1 head converges in 128 mask steps (at lr
 * 1e-3 and 64 steps it has not: 14% inside R, most of the mask on the flat
 * background); ~2 s of CPU. */
START_TEST(test_known_region_one_stage_bound) {
    nx_step_reset();
    rng_seed(11);
    Model m;
    kr_model(&m);
    RtisModel r;
    ck_assert_int_eq(rtis_create(&r, &m, 8), 0);
    ck_assert_int_eq(r.n_up, 0);
    ck_assert_int_eq(r.mask_hw, KR_H);
    Dataset d = kr_dataset(512, 5), held = kr_dataset(128, 9);
    RtisConfig c = rtis_config_default(KR_H, 2);
    c.selector_epochs = 1, c.epochs = 8, c.batch = c.selector_batch = 32, c.lr = 1e-2f, c.quiet = true;
    int threads = kr_single_thread();
    ck_assert_int_eq(rtis_train(&r, &m, &d, NULL, &c, NULL, NULL, NULL, NULL), 0);
    omp_set_num_threads(threads);
    RtisStats st = rtis_evaluate(&r, &m, &held, &c, 64, 0);
    KrMass k = kr_rtis_mass(&r, &m);
    printf("  rtis on the known-region task, one-stage classifier: %.1f%% of the mask's mass inside the deciding "
           "region (at most 50%% here: R and D look alike), %.1f%% on R and D together, max |R - D| / total %.1e; "
           "held out: preserved %.1f%% destroyed %.1f%% area %.3f\n",
           100 * k.share, 100 * k.textured, k.worst_sym, 100 * st.preservation, 100 * st.destruction, st.area);
    fflush(stdout);
    ck_assert_msg(k.worst_sym < 1e-5, "R and D hold different mass (%g of the total)", k.worst_sym);
    ck_assert_msg(k.textured >= 0.85, "only %.1f%% of the mass on the textures R and D", 100 * k.textured);
    free(d.pixels), free(d.labels), free(held.pixels), free(held.labels);
    rtis_free(&r);
    model_free(&m);
    nx_step_reset();
}
END_TEST

Suite *suite_rtis(void) {
    Suite *s = suite_create("rtis");
    TCase *tc = tcase_create("rtis");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_area_by_hand);
    tcase_add_test(tc, test_smoothness_by_hand);
    tcase_add_test(tc, test_hinge_by_hand);
    tcase_add_test(tc, test_mix_and_blur);
    tcase_add_test(tc, test_shapes_lenet5);
    tcase_add_test(tc, test_shapes_vgg11);
    tcase_add_test(tc, test_shapes_resnet18_cifar);
    tcase_add_test(tc, test_shapes_resnet18);
    tcase_add_test(tc, test_selector_changes_mask);
    tcase_add_test(tc, test_training_leaves_classifier_untouched);
    tcase_add_test(tc, test_save_names_classifier_and_refuses_mismatch);
    tcase_add_test(tc, test_resnet18_224_folder_one_epoch_then_explain);
    TCASE_ADD_TEST_IF(tc, test_cli_shipped_explain_and_eval, have_cli_and_data(true), "needs %s, %s, %s and Fashion-MNIST in %s",
                      nicex_bin(), SHIPPED_LENET, SHIPPED_RTIS, test_fashion_mnist_dir());
    TCASE_ADD_TEST_IF(tc, test_cli_train_resume_repeats_exactly, have_cli_and_data(false),
                      "needs %s, %s and Fashion-MNIST in %s", nicex_bin(), SHIPPED_LENET, test_fashion_mnist_dir());
    suite_add_tcase(s, tc);
    TCase *kr = tcase_create("known_region");
    tcase_set_timeout(kr, 120);
    tcase_add_test(kr, test_known_region_staged_logits);
    tcase_add_test(kr, test_known_region_mass);
    tcase_add_test(kr, test_known_region_one_stage_bound);
    suite_add_tcase(s, kr);
    return s;
}
