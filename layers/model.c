/* model.c: building models by name, forward, train/eval, the summary. */
#include "layers/model.h"

#include <stdlib.h>
#include <string.h>

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
    return m->forward(m, x);
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
