/* vgg11.c: VGG11 with batchnorm for 32 x 32 inputs (the NICE CIFAR-10
 * classifier), in the common CIFAR layout (features Sequential, then a
 * single Linear(512, classes) named "classifier").
 *
 *   cfg  64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M
 *   each number: Conv2d(c_in, n, 3, pad 1) + BatchNorm2d(n) + ReLU
 *                (state_dict indices features.<i>, features.<i+1>)
 *   M:           MaxPool2d(2)
 *   32 x 32 -> 512 x 1 x 1 -> flatten -> classifier Linear(512, classes)
 */
#include "layers/model.h"

#include <stdio.h>

static const int vgg11_cfg[] = {64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'};
#define VGG11_N (int)(sizeof vgg11_cfg / sizeof vgg11_cfg[0])
#define VGG11_CONVS 8

typedef struct {
    Conv2d conv[VGG11_CONVS];
    BatchNorm2d bn[VGG11_CONVS];
    Linear classifier;
} Vgg11;

static Tensor *vgg11_forward(Model *m, Tensor *x) {
    Vgg11 *n = m->net;
    int k = 0;
    m->n_stages = 0;
    for (int i = 0; i < VGG11_N; i++) {
        if (vgg11_cfg[i] == 'M') {
            m->features = x; /* the last conv block's output, before its pool */
            if (m->n_stages < NX_MAX_STAGES) m->stages[m->n_stages++] = x;
            x = maxpool2d_forward("pool", x, 2, 2, 0);
            continue;
        }
        x = conv2d_forward(&n->conv[k], x);
        x = batchnorm2d_forward(&n->bn[k], x, m->training);
        x = relu_forward("relu", x);
        k++;
    }
    x = nx_flatten(x);
    return linear_forward(&n->classifier, x);
}

void vgg11_build(Model *m) {
    Vgg11 *n = nx_calloc(1, sizeof *n);
    ParamStore *s = &m->params;
    int c = m->in_c, k = 0, index = 0, side = m->in_h;
    char name[64];
    for (int i = 0; i < VGG11_N; i++) {
        if (vgg11_cfg[i] == 'M') {
            index += 1;
            side /= 2;
            continue;
        }
        snprintf(name, sizeof name, "features.%d", index);
        conv2d_init(&n->conv[k], s, name, c, vgg11_cfg[i], 3, 1, 1, true);
        snprintf(name, sizeof name, "features.%d", index + 1);
        batchnorm2d_init(&n->bn[k], s, name, vgg11_cfg[i]);
        c = vgg11_cfg[i];
        index += 3; /* conv, bn, relu */
        k++;
    }
    linear_init(&n->classifier, s, "classifier", c * side * side, m->n_classes, true);
    params_finalize(s);
    for (k = 0; k < VGG11_CONVS; k++) {
        conv2d_reset(&n->conv[k]);
        batchnorm2d_reset(&n->bn[k]);
    }
    linear_reset(&n->classifier);
    m->net = n;
    m->fc = &n->classifier;
    m->forward = vgg11_forward;
}
