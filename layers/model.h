/* model.h: the classifiers (lenet5, vgg11, resnet18, resnet18-cifar).
 *
 * A Model owns a ParamStore whose keys are PyTorch's state_dict keys, so a
 * checkpoint saved from PyTorch as safetensors loads as is. After each
 * forward it exposes the feature maps the explanation methods need:
 *   features  the last conv block's output, (N, K, h, w): CAM's input
 *   stages[]  the outputs of each resolution stage, finest first: RTIS
 * and `fc`, the final linear layer (CAM's class weights).
 */
#ifndef NX_MODEL_H
#define NX_MODEL_H

#include "layers/layers.h"

#define NX_MAX_STAGES 5

typedef struct Model Model;
struct Model {
    char arch[32];
    int in_c, in_h, in_w;          /* expected input */
    int n_classes;
    ParamStore params;
    bool training;
    void *net;                     /* the architecture's layer struct */
    Tensor *(*forward)(Model *m, Tensor *x); /* x (N, in_c, in_h, in_w) -> logits (N, n_classes) */
    Linear *fc;                    /* final classifier layer */
    Tensor *features;              /* set by forward */
    Tensor *stages[NX_MAX_STAGES]; /* set by forward */
    int n_stages;
};

/* Architecture names, for --model and error messages. */
extern const char *const model_arch_names[];

/* Build arch for n_classes on device d and initialise it from the current
 * Philox stream (call rng_seed first). in_c/in_hw = 0 take the arch's
 * default (lenet5: 1x28x28, vgg11: 3x32x32, resnet18: 3x224x224,
 * resnet18-cifar: 3x32x32). Returns -1 with nx_error_set on an unknown name
 * or an impossible input size. */
int model_create(Model *m, const char *arch, int n_classes, int in_c, int in_hw, Device d);
void model_free(Model *m);
Tensor *model_forward(Model *m, Tensor *x);
void model_set_training(Model *m, bool training);
/* One line per layer (output shape, params, FLOPs) for one input image. */
void model_summary(Model *m, FILE *out);

/* The architectures (layers/lenet5.c, vgg11.c, resnet18.c). */
void lenet5_build(Model *m);
void vgg11_build(Model *m);
void resnet18_build(Model *m, bool cifar_stem);

#endif
