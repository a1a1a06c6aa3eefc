/* model.c: building models by name, forward, train/eval, the summary. */
#include "layers/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "autograd/ops.h"

const char *const model_arch_names[] = {"lenet5", "vgg11", "resnet18", "resnet18-cifar", NULL};

int model_create(Model *m, const char *arch, int n_classes, int in_c, int in_hw, Device d) {
    memset(m, 0, sizeof *m);
    int def_c, def_hw;
    if (strcmp(arch, "lenet5") == 0) def_c = 1, def_hw = 28;
    else if (strcmp(arch, "vgg11") == 0) def_c = 3, def_hw = 32;
    else if (strcmp(arch, "resnet18") == 0) def_c = 3, def_hw = 224;
    else if (strcmp(arch, "resnet18-cifar") == 0) def_c = 3, def_hw = 32;
    else {
        nx_error_set("unknown model '%s' (known: lenet5, vgg11, resnet18, resnet18-cifar)", arch);
        return -1;
    }
    if (n_classes < 1) {
        nx_error_set("model %s: %d classes", arch, n_classes);
        return -1;
    }
    m->in_c = in_c ? in_c : def_c;
    m->in_h = m->in_w = in_hw ? in_hw : def_hw;
    m->n_classes = n_classes;
    if (strcmp(arch, "lenet5") == 0 && m->in_h < 16) {
        nx_error_set("model lenet5: input %dx%d is too small (needs at least 16x16)", m->in_h, m->in_w);
        return -1;
    }
    if (strcmp(arch, "vgg11") == 0 && m->in_h % 32 != 0) {
        nx_error_set("model vgg11: input side %d is not a multiple of 32", m->in_h);
        return -1;
    }
    if (m->in_c < 1 || m->in_c > 64 || m->in_h > 4096) {
        nx_error_set("model %s: input %dx%dx%d: expected 1 to 64 channels and sides up to 4096", arch, m->in_c, m->in_h,
                     m->in_w);
        return -1;
    }
    /* the largest weight, in 64 bits, before anything is allocated */
    int64_t side = strcmp(arch, "lenet5") == 0 ? ((m->in_h - 4) / 2 - 4) / 2 : m->in_h / 32, biggest;
    if (strcmp(arch, "lenet5") == 0) biggest = 50 * side * side * 500 > 500 * (int64_t)n_classes ? 50 * side * side * 500 : 500 * (int64_t)n_classes;
    else if (strcmp(arch, "vgg11") == 0) biggest = 512 * side * side * (int64_t)n_classes;
    else biggest = 512 * (int64_t)n_classes;
    if (biggest > ((int64_t)1 << 30)) {
        nx_error_set("model %s: input %dx%d in %d classes needs a layer of %lld weights (limit %lld)", arch, m->in_h,
                     m->in_w, n_classes, (long long)biggest, (long long)1 << 30);
        return -1;
    }
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    params_init(&m->params, d);
    m->training = true;
    if (strcmp(arch, "lenet5") == 0) lenet5_build(m);
    else if (strcmp(arch, "vgg11") == 0) vgg11_build(m);
    else resnet18_build(m, strcmp(arch, "resnet18-cifar") == 0);
    return 0;
}

void model_free(Model *m) {
    params_free(&m->params);
    free(m->net);
    memset(m, 0, sizeof *m);
}

Tensor *model_forward(Model *m, Tensor *x) {
    NX_CHECK(x->ndim == 4 && x->shape[1] == m->in_c, "model %s: input %s, expected (N, %d, H, W)", m->arch,
             tensor_shape_str(x), m->in_c);
    if (m->normalize) { /* x' = (x - mean) / std with (1, C, 1, 1) constants */
        int C = m->in_c;
        Device d = x->device;
        Tensor *mean = tensor_newv(d, NX_F32, 4, 1, C, 1, 1), *std = tensor_newv(d, NX_F32, 4, 1, C, 1, 1);
        device_memcpy(d, mean->data, NX_CPU, m->norm_mean, sizeof(float) * (size_t)C);
        device_memcpy(d, std->data, NX_CPU, m->norm_std, sizeof(float) * (size_t)C);
        x = nx_div(nx_sub(x, mean), std);
    }
    return m->forward(m, x);
}

int model_set_normalize(Model *m, const float *mean, const float *std) {
    m->normalize = mean != NULL;
    if (!mean) return 0;
    for (int c = 0; c < m->in_c && c < 3; c++) {
        if (!(std[c] > 0)) {
            nx_error_set("model %s: normalisation std[%d] = %g, expected > 0", m->arch, c, (double)std[c]);
            m->normalize = false;
            return -1;
        }
        m->norm_mean[c] = mean[c];
        m->norm_std[c] = std[c];
    }
    return 0;
}

/* Up to 3 comma-separated floats; *n gets how many; false on junk. */
static bool parse_floats(const char *s, const char *end, float v[3], int *n) {
    *n = 0;
    while (s < end && *n < 3) {
        char *e;
        v[(*n)++] = strtof(s, &e);
        if (e == s) return false;
        s = e;
        if (s < end && *s == ',') s++;
        else break;
    }
    return s == end && *n > 0;
}

int model_normalize_parse(const char *s, bool *on, float mean[3], float std[3]) {
    static const float c10m[3] = {0.4914f, 0.4822f, 0.4465f}, c10s[3] = {0.2470f, 0.2435f, 0.2616f};
    static const float inm[3] = {0.485f, 0.456f, 0.406f}, ins[3] = {0.229f, 0.224f, 0.225f};
    *on = true;
    if (strcmp(s, "none") == 0) {
        *on = false;
        return 0;
    }
    if (strcmp(s, "cifar10") == 0 || strcmp(s, "imagenet") == 0) {
        bool c10 = s[0] == 'c';
        memcpy(mean, c10 ? c10m : inm, sizeof c10m);
        memcpy(std, c10 ? c10s : ins, sizeof c10s);
        return 0;
    }
    const char *slash = strchr(s, '/');
    int nm = 0, ns = 0;
    if (slash && parse_floats(s, slash, mean, &nm) && parse_floats(slash + 1, slash + strlen(slash), std, &ns) &&
        nm == ns && (nm == 1 || nm == 3)) {
        for (int c = nm; c < 3; c++) mean[c] = mean[0], std[c] = std[0];
        bool ok = true;
        for (int c = 0; c < 3; c++) ok &= isfinite(mean[c]) && isnormal(std[c]) && std[c] > 0; /* normal: 1/std finite */
        if (ok) return 0;
    }
    nx_error_set("'%s': expected none, cifar10, imagenet, data, or M1,M2,M3/S1,S2,S3 (or M/S) with every M finite and every S positive, finite and at least 1.2e-38", s);
    return -1;
}

void model_set_training(Model *m, bool training) { m->training = training; }

void model_summary(Model *m, FILE *out) {
    fprintf(out, "%s: input (1, %d, %d, %d), %d classes, %lld parameters\n", m->arch, m->in_c, m->in_h, m->in_w,
            m->n_classes, (long long)params_count(&m->params, false));
    bool prev = nx_no_grad(), was_training = m->training;
    m->training = false;
    Tensor *x = tensor_new4(m->params.device, 1, m->in_c, m->in_h, m->in_w);
    tensor_zero(x);
    summary_begin(out);
    m->forward(m, x);
    summary_end();
    m->training = was_training;
    nx_set_grad(prev);
    nx_step_reset();
}
