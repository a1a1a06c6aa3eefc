/* suite_natural.c: what natural images need (issue 14): half-precision
 * safetensors (F16 / BF16 read and written, checked bit for bit against
 * torch's conversions in tests/data/torch_half.safetensors), the
 * normalisation inside the model (forward, gradient, checkpoint metadata,
 * --normalize parsing) and the loader's random-resized crop.
 * Nothing here needs ../shared/data.
 */
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "data/loader.h"
#include "layers/checkpoint.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

static const char *fixture(const char *name) {
    static char buf[512];
    const char *d = getenv("NX_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", d ? d : "tests/data", name);
    return buf;
}

static char tmp_path[256];
static const char *tmp_file(const char *name) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/nx_natural_%d_%s", (int)getpid(), name);
    return tmp_path;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* The fixture's tensors: v (F32), f16 / bf16 (raw 16-bit words from torch),
 * f16_as_f32 / bf16_as_f32 (torch's widening). */
typedef struct {
    int64_t n;
    float *v, *f16_as_f32, *bf16_as_f32;
    uint16_t *f16, *bf16;
} HalfFixture;

static void *read_named(SafetensorsFile *sf, const char *name, const char *dtype, int64_t *n) {
    const StTensorInfo *ti = safetensors_find(sf, name);
    ck_assert_msg(ti != NULL, "fixture lacks '%s'", name);
    ck_assert_str_eq(ti->dtype, dtype);
    void *buf = nx_malloc((size_t)(ti->end - ti->begin) + 4);
    ck_assert_msg(safetensors_read_raw(sf, ti, buf) == 0, "%s", nx_error_msg());
    *n = ti->numel;
    return buf;
}

static void half_fixture(HalfFixture *h) {
    SafetensorsFile sf;
    ck_assert_msg(safetensors_open(&sf, fixture("torch_half.safetensors")) == 0, "%s", nx_error_msg());
    int64_t n[5];
    h->v = read_named(&sf, "v", "F32", &n[0]);
    h->f16 = read_named(&sf, "f16", "F16", &n[1]);
    h->bf16 = read_named(&sf, "bf16", "BF16", &n[2]);
    h->f16_as_f32 = read_named(&sf, "f16_as_f32", "F32", &n[3]);
    h->bf16_as_f32 = read_named(&sf, "bf16_as_f32", "F32", &n[4]);
    for (int k = 1; k < 5; k++) ck_assert_int_eq(n[k], n[0]);
    ck_assert_int_gt(n[0], 1000);
    h->n = n[0];
    safetensors_close(&sf);
}

static void half_fixture_free(HalfFixture *h) {
    free(h->v);
    free(h->f16);
    free(h->bf16);
    free(h->f16_as_f32);
    free(h->bf16_as_f32);
}

/* nicex's narrowing and widening give torch's bits for every fixture value. */
START_TEST(test_half_conversions_match_torch) {
    HalfFixture h;
    half_fixture(&h);
    int bad = 0, nans = 0;
    for (int64_t i = 0; i < h.n; i++) {
        uint16_t a = st_f32_to_f16(h.v[i]), b = st_f32_to_bf16(h.v[i]);
        if (isnan(h.v[i])) { /* any quiet NaN will do: torch's vector path gives bf16 0xffff, its scalar one 0x7fc0 */
            nans++;
            ck_assert((a & 0x7e00) == 0x7e00 && (h.f16[i] & 0x7e00) == 0x7e00);
            ck_assert((b & 0x7fc0) == 0x7fc0 && (h.bf16[i] & 0x7fc0) == 0x7fc0);
            ck_assert(isnan(st_f16_to_f32(h.f16[i])) && isnan(st_bf16_to_f32(h.bf16[i])));
            continue;
        }
        if (a != h.f16[i] && bad++ < 5)
            printf("  f16(%a) = 0x%04x, torch 0x%04x\n", (double)h.v[i], a, h.f16[i]);
        if (b != h.bf16[i] && bad++ < 5)
            printf("  bf16(%a) = 0x%04x, torch 0x%04x\n", (double)h.v[i], b, h.bf16[i]);
        if (f32_bits(st_f16_to_f32(h.f16[i])) != f32_bits(h.f16_as_f32[i]) && bad++ < 5)
            printf("  widen f16 0x%04x = %a, torch %a\n", h.f16[i], (double)st_f16_to_f32(h.f16[i]),
                   (double)h.f16_as_f32[i]);
        if (f32_bits(st_bf16_to_f32(h.bf16[i])) != f32_bits(h.bf16_as_f32[i]) && bad++ < 5)
            printf("  widen bf16 0x%04x = %a, torch %a\n", h.bf16[i], (double)st_bf16_to_f32(h.bf16[i]),
                   (double)h.bf16_as_f32[i]);
    }
    ck_assert_msg(bad == 0, "%d conversions differ from torch's", bad);
    ck_assert_int_eq(nans, 1);
    half_fixture_free(&h);
}
END_TEST

/* Every F16 word widens and narrows back to itself (NaNs to a NaN), and
 * widening is monotone on the positive words: no gaps, no overlaps. */
START_TEST(test_half_exhaustive_roundtrip) {
    for (uint32_t w = 0; w < 65536; w++) {
        float f = st_f16_to_f32((uint16_t)w);
        bool nan = (w & 0x7c00) == 0x7c00 && (w & 0x3ff);
        if (nan) {
            ck_assert_msg(isnan(f), "0x%04x widens to %g, not NaN", w, (double)f);
            ck_assert(isnan(st_f16_to_f32(st_f32_to_f16(f))));
            continue;
        }
        ck_assert_msg(st_f32_to_f16(f) == w, "0x%04x -> %a -> 0x%04x", w, (double)f, st_f32_to_f16(f));
        if (w > 0 && w < 0x7c00) ck_assert(f > st_f16_to_f32((uint16_t)(w - 1)));
        uint16_t b = (uint16_t)w; /* bf16: every word is an fp32 prefix */
        if (!((b & 0x7f80) == 0x7f80 && (b & 0x7f))) ck_assert_int_eq(st_f32_to_bf16(st_bf16_to_f32(b)), b);
    }
    ck_assert_float_eq(st_f16_to_f32(0x3c00), 1.0f);
    ck_assert_float_eq(st_f16_to_f32(0x7bff), 65504.0f);
    ck_assert_float_eq(st_f16_to_f32(0x0001), ldexpf(1.0f, -24));
    ck_assert_float_eq(st_bf16_to_f32(0x3f80), 1.0f);
}
END_TEST

/* torch's F16 and BF16 tensors load into fp32 parameters as torch widens them. */
START_TEST(test_half_load_from_torch) {
    HalfFixture h;
    half_fixture(&h);
    ParamStore s;
    params_init(&s, NX_CPU);
    Tensor *a = params_add(&s, "f16", 1, (int[]){(int)h.n}, false);
    Tensor *b = params_add(&s, "bf16", 1, (int[]){(int)h.n}, false);
    params_finalize(&s);
    ck_assert_msg(safetensors_load_params(fixture("torch_half.safetensors"), &s, true) == 0, "%s", nx_error_msg());
    for (int64_t i = 0; i < h.n; i++) {
        ck_assert_msg(f32_bits(a->data[i]) == f32_bits(h.f16_as_f32[i]), "f16 element %lld", (long long)i);
        ck_assert_msg(f32_bits(b->data[i]) == f32_bits(h.bf16_as_f32[i]), "bf16 element %lld", (long long)i);
    }
    params_free(&s);
    half_fixture_free(&h);
}
END_TEST

/* Saving as F16 / BF16 writes torch's words, half the bytes, keeps I32
 * tensors, and loads back to torch's widened values. */
START_TEST(test_half_save_roundtrip) {
    HalfFixture h;
    half_fixture(&h);
    const StSaveDtype as[2] = {ST_SAVE_F16, ST_SAVE_BF16};
    const char *names[2] = {"F16", "BF16"};
    for (int k = 0; k < 2; k++) {
        const char *path = tmp_file("half.safetensors");
        ParamStore s;
        params_init(&s, NX_CPU);
        Tensor *w = params_add(&s, "w", 1, (int[]){(int)h.n}, false);
        params_finalize(&s);
        memcpy(w->data, h.v, sizeof(float) * (size_t)h.n);
        const char *meta[] = {"arch", "test"};
        ck_assert_msg(safetensors_save_params_as(path, &s, 1, meta, as[k]) == 0, "%s", nx_error_msg());
        SafetensorsFile sf;
        ck_assert(safetensors_open(&sf, path) == 0);
        const StTensorInfo *ti = safetensors_find(&sf, "w");
        ck_assert(ti != NULL);
        ck_assert_str_eq(ti->dtype, names[k]);
        ck_assert_int_eq(ti->end - ti->begin, 2 * h.n);
        ck_assert_str_eq(safetensors_meta(&sf, "arch"), "test");
        uint16_t *raw = nx_malloc(2 * (size_t)h.n);
        ck_assert(safetensors_read_raw(&sf, ti, raw) == 0);
        const uint16_t *torch_words = k ? h.bf16 : h.f16;
        for (int64_t i = 0; i < h.n; i++)
            if (!isnan(h.v[i])) ck_assert_msg(raw[i] == torch_words[i], "element %lld", (long long)i);
        free(raw);
        safetensors_close(&sf);
        tensor_zero(w);
        ck_assert_msg(safetensors_load_params(path, &s, false) == 0, "%s", nx_error_msg());
        const float *want = k ? h.bf16_as_f32 : h.f16_as_f32;
        for (int64_t i = 0; i < h.n; i++)
            ck_assert(isnan(h.v[i]) ? isnan(w->data[i]) : f32_bits(w->data[i]) == f32_bits(want[i]));
        params_free(&s);
        /* an I32 tensor stays I32 */
        Tensor *ints = tensor_new(NX_CPU, NX_I32, 1, (int[]){3});
        int32_t *iv = (int32_t *)ints->data;
        iv[0] = -5, iv[1] = 70000, iv[2] = 1 << 30;
        const char *n1[] = {"i"};
        const Tensor *t1[] = {ints};
        ck_assert(safetensors_save_as(path, 1, n1, t1, 0, NULL, as[k]) == 0);
        ck_assert(safetensors_open(&sf, path) == 0);
        ck_assert_str_eq(sf.t[0].dtype, "I32");
        int32_t back[3];
        ck_assert(safetensors_read_raw(&sf, &sf.t[0], back) == 0);
        ck_assert_mem_eq(back, iv, sizeof back);
        safetensors_close(&sf);
        unlink(path);
        nx_step_reset();
    }
    half_fixture_free(&h);
}
END_TEST

/* A VGG11 checkpoint saved as F16 is about half the size, loads through
 * model_load, and gives nearly the fp32 model's logits. */
START_TEST(test_model_save_f16) {
    rng_seed(3);
    Model m;
    ck_assert(model_create(&m, "vgg11", 10, 3, 32, NX_CPU) == 0);
    const char *p32 = "/tmp/nx_natural_m32.safetensors", *p16 = "/tmp/nx_natural_m16.safetensors";
    ck_assert(model_save(&m, p32, 0, NULL) == 0);
    ck_assert(safetensors_save_params_as(p16, &m.params, 0, NULL, ST_SAVE_F16) == 0);
    FILE *f = fopen(p32, "rb");
    fseek(f, 0, SEEK_END);
    long b32 = ftell(f);
    fclose(f);
    f = fopen(p16, "rb");
    fseek(f, 0, SEEK_END);
    long b16 = ftell(f);
    fclose(f);
    ck_assert_msg(b16 < b32 / 2 + 8192, "F16 file %ld bytes, F32 %ld", b16, b32);
    Model h;
    rng_seed(99);
    ck_assert(model_create(&h, "vgg11", 10, 3, 32, NX_CPU) == 0);
    ck_assert_msg(safetensors_load_params(p16, &h.params, false) == 0, "%s", nx_error_msg());
    model_set_training(&m, false);
    model_set_training(&h, false);
    test_seed(5);
    Tensor *x = test_uniform4(2, 3, 32, 32, 0, 1);
    bool prev = nx_no_grad();
    float *a = tensor_to_host(model_forward(&m, x)), *b = tensor_to_host(model_forward(&h, x));
    nx_set_grad(prev);
    double maxd = 0, maxa = 0;
    for (int i = 0; i < 20; i++) maxd = fmax(maxd, fabs(a[i] - b[i])), maxa = fmax(maxa, fabs(a[i]));
    ck_assert_msg(maxd <= 1e-2 * fmax(maxa, 1), "F16 logits differ by %g (scale %g)", maxd, maxa);
    ck_assert_msg(maxd > 0, "F16 rounding changed nothing: the file is not F16");
    free(a);
    free(b);
    nx_step_reset();
    model_free(&m);
    model_free(&h);
    unlink(p32);
    unlink(p16);
}
END_TEST

/* ---- normalisation inside the model ------------------------------------ */

START_TEST(test_normalize_parse) {
    bool on;
    float m[3], s[3];
    ck_assert(model_normalize_parse("none", &on, m, s) == 0 && !on);
    ck_assert(model_normalize_parse("cifar10", &on, m, s) == 0 && on);
    ck_assert_float_eq(m[0], 0.4914f);
    ck_assert_float_eq(s[2], 0.2616f);
    ck_assert(model_normalize_parse("imagenet", &on, m, s) == 0 && on);
    ck_assert_float_eq(m[1], 0.456f);
    ck_assert_float_eq(s[0], 0.229f);
    ck_assert(model_normalize_parse("0.1,0.2,0.3/1,2,4", &on, m, s) == 0 && on);
    ck_assert(m[2] == 0.3f && s[1] == 2.0f && s[2] == 4.0f);
    ck_assert(model_normalize_parse("0.5/0.25", &on, m, s) == 0 && on);
    ck_assert(m[0] == 0.5f && m[2] == 0.5f && s[1] == 0.25f);
    const char *bad[] = {"", "cifar", "0.1,0.2/1,2", "0.1,0.2,0.3/1,2,0", "0.1,0.2,0.3", "0.1/x", "1,2,3/1,2,3,4",
                         "0.5/-1", "nan,0.5,0.5/1,1,1", "0.5/inf", "1e40/1", "0.5/1e-40", "-inf/1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(model_normalize_parse(bad[i], &on, m, s) == -1, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(nx_error_msg(), "expected none, cifar10"));
    }
}
END_TEST

typedef struct {
    Model *m;
} NormArg;

static Tensor *norm_fn(Tensor **in, void *arg) { return model_forward(((NormArg *)arg)->m, in[0]); }

/* forward(x) with normalisation == forward((x - mean) / std) without; the
 * gradient reaches the [0, 1] pixels (finite differences); the values
 * survive a checkpoint. */
START_TEST(test_normalize_in_model) {
    const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2470f, 0.2435f, 0.2616f};
    rng_seed(1);
    Model m;
    ck_assert(model_create(&m, "vgg11", 10, 3, 32, NX_CPU) == 0);
    model_set_training(&m, false);
    test_seed(2);
    Tensor *x = test_uniform4(2, 3, 32, 32, 0, 1), *xn = tensor_like(x);
    for (int64_t i = 0; i < x->numel; i++) {
        int c = (int)(i / (32 * 32)) % 3;
        xn->data[i] = (x->data[i] - mean[c]) / std[c];
    }
    bool prev = nx_no_grad();
    float *plain = tensor_to_host(model_forward(&m, xn));
    ck_assert(model_set_normalize(&m, mean, std) == 0 && m.normalize);
    float *inside = tensor_to_host(model_forward(&m, x));
    nx_set_grad(prev);
    for (int i = 0; i < 20; i++) ck_assert_float_eq_tol(inside[i], plain[i], 1e-4f * fmaxf(1.0f, fabsf(plain[i])));
    /* the checkpoint carries the normalisation */
    const char *path = tmp_file("norm.safetensors");
    ck_assert(model_save(&m, path, 0, NULL) == 0);
    Model back;
    ck_assert_msg(model_load(&back, path, NULL, 0, 0, 0, NX_CPU) == 0, "%s", nx_error_msg());
    ck_assert(back.normalize);
    for (int c = 0; c < 3; c++) ck_assert(back.norm_mean[c] == mean[c] && back.norm_std[c] == std[c]);
    model_set_training(&back, false);
    prev = nx_no_grad();
    float *again = tensor_to_host(model_forward(&back, x));
    nx_set_grad(prev);
    ck_assert_mem_eq(again, inside, 20 * sizeof(float));
    model_free(&back);
    /* a zero std is refused and leaves the model as it was */
    ck_assert(model_set_normalize(&m, mean, (float[]){1, 0, 1}) == -1 && !m.normalize);
    ck_assert(model_set_normalize(&m, mean, std) == 0);
    free(plain);
    free(inside);
    free(again);
    unlink(path);
    nx_step_reset();
    model_free(&m);
    /* gradient to the pixels through the normalisation: a small LeNet5 */
    rng_seed(4);
    Model l;
    ck_assert(model_create(&l, "lenet5", 3, 3, 16, NX_CPU) == 0);
    model_set_training(&l, false);
    ck_assert(model_set_normalize(&l, (float[]){0.2f, 0.5f, 0.7f}, (float[]){0.3f, 0.2f, 0.9f}) == 0);
    test_seed(6);
    Tensor *in = test_uniform4(1, 3, 16, 16, 0, 1);
    in->requires_grad = true;
    NormArg arg = {&l};
    ck_assert_int_eq(gradcheck("normalize+lenet5", norm_fn, &in, 1, &arg, 1e-3, 2e-2), 0);
    nx_step_reset();
    model_free(&l);
}
END_TEST

/* A checkpoint without the keys has no normalisation (existing files); a
 * broken value is refused with the file's name. */
START_TEST(test_normalize_metadata_errors) {
    rng_seed(1);
    Model m;
    ck_assert(model_create(&m, "lenet5", 10, 1, 28, NX_CPU) == 0);
    const char *path = tmp_file("meta.safetensors");
    ck_assert(model_save(&m, path, 0, NULL) == 0);
    Model back;
    ck_assert(model_load(&back, path, NULL, 0, 0, 0, NX_CPU) == 0);
    ck_assert(!back.normalize);
    model_free(&back);
    /* zero, negative, NaN, infinite or overflowing values: each one clear error naming the file */
    const char *bad[][2] = {{"0.5", "0"}, {"0.5", "-1"}, {"nan", "1"}, {"0.5", "nan"}, {"inf", "1"}, {"1e40", "1"},
                            {"0.5,0.5,0.5", "1,inf,1"}, {"0.5", ""}, {"0.5,0.5", "1,1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *meta[] = {"format", "nicex", "arch", "lenet5", "classes", "10", "in_channels", "1",
                              "in_size", "28", "normalize_mean", bad[i][0], "normalize_std", bad[i][1]};
        ck_assert(safetensors_save_params(path, &m.params, 7, meta) == 0);
        ck_assert_msg(model_load(&back, path, NULL, 0, 0, 0, NX_CPU) == -1, "%s/%s accepted", bad[i][0], bad[i][1]);
        ck_assert_ptr_nonnull(strstr(nx_error_msg(), "meta.safetensors"));
        ck_assert_ptr_nonnull(strstr(nx_error_msg(), "normalize_mean/normalize_std"));
    }
    model_free(&m);
    unlink(path);
}
END_TEST

/* ---- random-resized crop ------------------------------------------------ */

static void pattern_dataset(Dataset *d, int64_t n, int c, int h, int w) {
    memset(d, 0, sizeof *d);
    d->n = n, d->c = c, d->h = h, d->w = w;
    d->pixels = nx_malloc((size_t)n * c * h * w);
    d->labels = nx_calloc((size_t)n, sizeof(int32_t));
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < c * h * w; k++) d->pixels[i * c * h * w + k] = (uint8_t)((k * 37 + i * 11 + k / w * 5) & 255);
}

/* Boxes stay inside the image with torchvision's scale and ratio ranges;
 * the sample is the box resized by PIL bilinear, maybe flipped, then
 * normalised; draws repeat for a seed and differ between epochs. */
START_TEST(test_loader_rrc) {
    const int C = 3, H = 24, W = 20, N = 300;
    Dataset d;
    pattern_dataset(&d, N, C, H, W);
    float mean[3] = {0.5f, 0.4f, 0.3f}, std[3] = {0.25f, 0.5f, 2.0f};
    LoaderOptions o = loader_defaults(32, 11);
    o.rrc = true;
    o.hflip = true;
    o.mean = mean;
    o.std = std;
    Loader l;
    ck_assert_msg(loader_init(&l, &d, &o) == 0, "%s", nx_error_msg());
    float *got = nx_malloc(sizeof(float) * C * H * W);
    uint8_t *box = nx_malloc((size_t)H * W), *res = nx_malloc((size_t)C * H * W);
    double area_sum = 0;
    int flips = 0, full = 0, same_next_epoch = 0;
    for (int64_t i = 0; i < N; i++) {
        int top, left, h, w;
        loader_rrc_box(&l, 0, i, &top, &left, &h, &w);
        ck_assert(h > 0 && w > 0 && top >= 0 && left >= 0 && top + h <= H && left + w <= W);
        double frac = (double)h * w / (H * W), r = (double)w / h;
        /* rounding w and h moves the area and ratio a little off the drawn ones */
        ck_assert_msg(frac > 0.08 * 0.7 && r > 0.75 * 0.8 && r < 4.0 / 3 * 1.25, "box %dx%d", h, w);
        area_sum += frac;
        full += h == H && w == W;
        int t2, l2, h2, w2;
        loader_rrc_box(&l, 0, i, &t2, &l2, &h2, &w2);
        ck_assert(t2 == top && l2 == left && h2 == h && w2 == w);
        loader_rrc_box(&l, 1, i, &t2, &l2, &h2, &w2);
        same_next_epoch += t2 == top && l2 == left && h2 == h && w2 == w;
        /* expected pixels: crop, PIL bilinear to H x W */
        for (int c = 0; c < C; c++) {
            const uint8_t *plane = d.pixels + ((size_t)i * C + c) * H * W;
            for (int y = 0; y < h; y++) memcpy(box + (size_t)y * w, plane + (size_t)(top + y) * W + left, (size_t)w);
            image_resize_plane(res + (size_t)c * H * W, H, W, box, h, w);
        }
        loader_sample(&l, 0, i, got);
        int match = -1;
        for (int f = 0; f < 2 && match < 0; f++) {
            bool ok = true;
            for (int c = 0; c < C && ok; c++)
                for (int y = 0; y < H && ok; y++)
                    for (int x = 0; x < W && ok; x++) {
                        float p = res[((size_t)c * H + y) * W + (f ? W - 1 - x : x)] / 255.0f;
                        ok = fabsf(got[((size_t)c * H + y) * W + x] - (p - mean[c]) / std[c]) < 1e-5f;
                    }
            if (ok) match = f;
        }
        ck_assert_msg(match >= 0, "sample %lld is not its resized box (%d,%d %dx%d)", (long long)i, top, left, h, w);
        flips += match;
    }
    /* E[area] = (0.08 + 1) / 2 = 0.54 before the rejections of too-wide or too-tall boxes */
    double mean_area = area_sum / N;
    ck_assert_msg(mean_area > 0.40 && mean_area < 0.62, "mean area fraction %.3f", mean_area);
    ck_assert_msg(flips > N / 2 - 45 && flips < N / 2 + 45, "%d flips in %d", flips, N);
    ck_assert_msg(full < N / 10, "%d full-image boxes", full);
    ck_assert_msg(same_next_epoch < 5, "%d boxes repeat in the next epoch", same_next_epoch);
    loader_free(&l);
    /* scale (1, 1) on a square image: the whole image, unresized */
    Dataset sq;
    pattern_dataset(&sq, 4, 1, 16, 16);
    o = loader_defaults(4, 3);
    o.rrc = true;
    o.rrc_scale_min = 1.0f;
    ck_assert(loader_init(&l, &sq, &o) == 0);
    float g2[256];
    for (int64_t i = 0; i < 4; i++) {
        int top, left, h, w;
        loader_rrc_box(&l, 0, i, &top, &left, &h, &w);
        ck_assert(top == 0 && left == 0 && h == 16 && w == 16);
        loader_sample(&l, 0, i, g2);
        for (int k = 0; k < 256; k++) ck_assert_float_eq(g2[k], sq.pixels[i * 256 + k] * (1.0f / 255.0f));
    }
    loader_free(&l);
    /* option errors */
    o.crop_pad = 2;
    ck_assert(loader_init(&l, &sq, &o) == -1);
    ck_assert_ptr_nonnull(strstr(nx_error_msg(), "exclusive"));
    o.crop_pad = 0;
    o.rrc_scale_min = 1.5f;
    ck_assert(loader_init(&l, &sq, &o) == -1);
    ck_assert_ptr_nonnull(strstr(nx_error_msg(), "scale"));
    free(got);
    free(box);
    free(res);
    dataset_free(&d);
    dataset_free(&sq);
}
END_TEST

/* The batches with rrc are the samples, whatever the prefetch thread does. */
START_TEST(test_loader_rrc_batches) {
    Dataset d;
    pattern_dataset(&d, 50, 3, 12, 12);
    LoaderOptions o = loader_defaults(16, 5);
    o.rrc = true;
    o.hflip = true;
    o.shuffle = true;
    Loader l;
    ck_assert(loader_init(&l, &d, &o) == 0);
    float one[3 * 12 * 12];
    for (int e = 0; e < 2; e++) {
        loader_start_epoch(&l, e);
        Batch b;
        int seen = 0;
        while (loader_next(&l, &b)) {
            for (int j = 0; j < b.n; j++) {
                loader_sample(&l, e, b.index[j], one);
                ck_assert_mem_eq(b.x + (size_t)j * sizeof one / sizeof one[0], one, sizeof one);
            }
            seen += b.n;
        }
        ck_assert_int_eq(seen, 50);
    }
    loader_free(&l);
    dataset_free(&d);
}
END_TEST

Suite *suite_natural(void) {
    Suite *s = suite_create("natural");
    TCase *tc = tcase_create("natural");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_half_conversions_match_torch);
    tcase_add_test(tc, test_half_exhaustive_roundtrip);
    tcase_add_test(tc, test_half_load_from_torch);
    tcase_add_test(tc, test_half_save_roundtrip);
    tcase_add_test(tc, test_model_save_f16);
    tcase_add_test(tc, test_normalize_parse);
    tcase_add_test(tc, test_normalize_in_model);
    tcase_add_test(tc, test_normalize_metadata_errors);
    tcase_add_test(tc, test_loader_rrc);
    tcase_add_test(tc, test_loader_rrc_batches);
    suite_add_tcase(s, tc);
    return s;
}
