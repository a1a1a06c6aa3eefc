/* resnet18.c: torchvision's ResNet18, with its state_dict names, any number
 * of classes, and a CIFAR stem variant.
 *
 *   conv1   Conv2d(3, 64, 7, stride 2, pad 3, no bias), bn1, ReLU
 *   maxpool MaxPool2d(3, stride 2, pad 1)
 *           (cifar stem: Conv2d(3, 64, 3, stride 1, pad 1), no max-pool)
 *   layer1  2 x BasicBlock(64)            56 x 56 at 224 input
 *   layer2  2 x BasicBlock(128, stride 2) 28 x 28
 *   layer3  2 x BasicBlock(256, stride 2) 14 x 14
 *   layer4  2 x BasicBlock(512, stride 2)  7 x 7
 *   avgpool global, flatten, fc Linear(512, classes)
 *
 *   BasicBlock: out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
 *   convs 3x3 pad 1 without bias; shortcut = downsample.0 (1x1 conv, stride s,
 *   no bias) + downsample.1 (bn) when the shape changes, else identity.
 *
 * Init as torchvision: convs kaiming_normal_(mode="fan_out", relu), i.e.
 * N(0, sqrt(2 / (out * k * k))); batchnorm weight 1, bias 0; fc PyTorch's
 * Linear default.
 */
#include "layers/model.h"

#include <math.h>
#include <stdio.h>

typedef struct {
    Conv2d conv1, conv2, down;
    BatchNorm2d bn1, bn2, down_bn;
    bool has_down;
} BasicBlock;

typedef struct {
    Conv2d conv1;
    BatchNorm2d bn1;
    BasicBlock block[4][2];
    Linear fc;
    bool cifar_stem;
} ResNet18;

static Tensor *block_forward(BasicBlock *b, Tensor *x, bool training) {
    Tensor *y = relu_forward("relu", batchnorm2d_forward(&b->bn1, conv2d_forward(&b->conv1, x), training));
    y = batchnorm2d_forward(&b->bn2, conv2d_forward(&b->conv2, y), training);
    Tensor *shortcut = b->has_down ? batchnorm2d_forward(&b->down_bn, conv2d_forward(&b->down, x), training) : x;
    return relu_forward("relu", nx_add(y, shortcut));
}

static Tensor *resnet18_forward(Model *m, Tensor *x) {
    ResNet18 *n = m->net;
    x = relu_forward("relu", batchnorm2d_forward(&n->bn1, conv2d_forward(&n->conv1, x), m->training));
    if (!n->cifar_stem) x = maxpool2d_forward("maxpool", x, 3, 2, 1);
    m->n_stages = 0;
    for (int l = 0; l < 4; l++) {
        for (int k = 0; k < 2; k++) x = block_forward(&n->block[l][k], x, m->training);
        m->stages[m->n_stages++] = x;
    }
    m->features = x; /* layer4 output: CAM's feature maps */
    x = nx_flatten(global_avgpool_forward("avgpool", x));
    return linear_forward(&n->fc, x);
}

static void conv_init_fan_out(Conv2d *c) {
    init_normal(c->weight, sqrtf(2.0f / (float)(c->out * c->k * c->k)));
}

void resnet18_build(Model *m, bool cifar_stem) {
    ResNet18 *n = nx_calloc(1, sizeof *n);
    ParamStore *s = &m->params;
    n->cifar_stem = cifar_stem;
    if (cifar_stem) conv2d_init(&n->conv1, s, "conv1", m->in_c, 64, 3, 1, 1, false);
    else conv2d_init(&n->conv1, s, "conv1", m->in_c, 64, 7, 2, 3, false);
    batchnorm2d_init(&n->bn1, s, "bn1", 64);
    int c = 64;
    char p[96];
    for (int l = 0; l < 4; l++) {
        int width = 64 << l;
        for (int k = 0; k < 2; k++) {
            BasicBlock *b = &n->block[l][k];
            int stride = (k == 0 && l > 0) ? 2 : 1;
            snprintf(p, sizeof p, "layer%d.%d.conv1", l + 1, k);
            conv2d_init(&b->conv1, s, p, c, width, 3, stride, 1, false);
            snprintf(p, sizeof p, "layer%d.%d.bn1", l + 1, k);
            batchnorm2d_init(&b->bn1, s, p, width);
            snprintf(p, sizeof p, "layer%d.%d.conv2", l + 1, k);
            conv2d_init(&b->conv2, s, p, width, width, 3, 1, 1, false);
            snprintf(p, sizeof p, "layer%d.%d.bn2", l + 1, k);
            batchnorm2d_init(&b->bn2, s, p, width);
            b->has_down = stride != 1 || c != width;
            if (b->has_down) {
                snprintf(p, sizeof p, "layer%d.%d.downsample.0", l + 1, k);
                conv2d_init(&b->down, s, p, c, width, 1, stride, 0, false);
                snprintf(p, sizeof p, "layer%d.%d.downsample.1", l + 1, k);
                batchnorm2d_init(&b->down_bn, s, p, width);
            }
            c = width;
        }
    }
    linear_init(&n->fc, s, "fc", 512, m->n_classes, true);
    params_finalize(s);

    conv_init_fan_out(&n->conv1);
    batchnorm2d_reset(&n->bn1);
    for (int l = 0; l < 4; l++)
        for (int k = 0; k < 2; k++) {
            BasicBlock *b = &n->block[l][k];
            conv_init_fan_out(&b->conv1);
            batchnorm2d_reset(&b->bn1);
            conv_init_fan_out(&b->conv2);
            batchnorm2d_reset(&b->bn2);
            if (b->has_down) {
                conv_init_fan_out(&b->down);
                batchnorm2d_reset(&b->down_bn);
            }
        }
    linear_reset(&n->fc);
    m->net = n;
    m->fc = &n->fc;
    m->forward = resnet18_forward;
}
