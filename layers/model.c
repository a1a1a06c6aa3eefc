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
