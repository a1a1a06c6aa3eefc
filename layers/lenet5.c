/* lenet5.c: LeNet5-Caffe, the NICE authors' MNIST classifier.
 *
 *   input        1 x 28 x 28, pixels in [0, 1] (no mean/std: a masked-out
 *                pixel is black background)
 *   conv1        Conv2d(1, 20, k5)      -> 20 x 24 x 24, ReLU
 *   pool1        MaxPool2d(2)           -> 20 x 12 x 12
 *   conv2        Conv2d(20, 50, k5)     -> 50 x 8 x 8, ReLU
 *   pool2        MaxPool2d(2)           -> 50 x 4 x 4, flatten -> 800
 *   fc1          Linear(800, 500), ReLU
 *   fc2          Linear(500, classes)
 *   parameters   431,080 for 10 classes
 */
#include "layers/model.h"

typedef struct {
    Conv2d conv1, conv2;
    Linear fc1, fc2;
} LeNet5;

static Tensor *lenet5_forward(Model *m, Tensor *x) {
    LeNet5 *n = m->net;
    x = relu_forward("relu1", conv2d_forward(&n->conv1, x));
    x = maxpool2d_forward("pool1", x, 2, 2, 0);
    x = relu_forward("relu2", conv2d_forward(&n->conv2, x));
    m->features = x; /* (N, 50, 8, 8): the last conv block */
    m->stages[0] = x;
    x = maxpool2d_forward("pool2", x, 2, 2, 0);
    m->stages[1] = x; /* (N, 50, 4, 4): the deepest map (RTIS's encoder) */
    m->n_stages = 2;
    x = nx_flatten(x);
    x = relu_forward("relu3", linear_forward(&n->fc1, x));
    return linear_forward(&n->fc2, x);
}

void lenet5_build(Model *m) {
    LeNet5 *n = nx_calloc(1, sizeof *n);
    ParamStore *s = &m->params;
    int side = ((m->in_h - 4) / 2 - 4) / 2; /* 28 -> 4 */
    conv2d_init(&n->conv1, s, "conv1", m->in_c, 20, 5, 1, 0, true);
    conv2d_init(&n->conv2, s, "conv2", 20, 50, 5, 1, 0, true);
    linear_init(&n->fc1, s, "fc1", 50 * side * side, 500, true);
    linear_init(&n->fc2, s, "fc2", 500, m->n_classes, true);
    params_finalize(s);
    conv2d_reset(&n->conv1);
    conv2d_reset(&n->conv2);
    linear_reset(&n->fc1);
    linear_reset(&n->fc2);
    m->net = n;
    m->fc = &n->fc2;
    m->forward = lenet5_forward;
}
