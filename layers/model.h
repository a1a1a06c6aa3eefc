/* model.h: the classifiers (lenet5, vgg11, resnet18, resnet18-cifar).
 *
 * A Model owns a ParamStore whose keys are PyTorch's state_dict keys, so a
 * checkpoint saved from PyTorch as safetensors loads as is. After each
 * forward it exposes the feature maps the explanation methods need:
 *   features  the last conv block's output, (N, K, h, w): CAM's input
 *   stages[]  the outputs of each resolution stage, finest first: RTIS
 * and `fc`, the final linear layer (CAM's class weights).
 *
 * Input normalisation: when m->normalize is set, model_forward first maps
 * the [0, 1] pixels to x' = (x - mean[c]) / std[c] per channel (torchvision's
 * Normalize, but inside the model), so every caller -- training, eval,
 * NICE's masks, compression -- hands the model [0, 1] images and the
 * gradient flows back to those pixels. The values travel in the checkpoint's
 * metadata ("normalize_mean", "normalize_std": three comma-separated
 * floats each, see layers/checkpoint.c). Off by default: LeNet5 on
 * Fashion-MNIST and every existing checkpoint are unchanged.
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
    bool normalize;                /* apply (x - mean) / std first */
    float norm_mean[3], norm_std[3]; /* (in_c) per-channel values */
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
/* Turn on input normalisation with mean[0..in_c) and std[0..in_c) (each
 * std > 0), or off with mean == NULL. -1 + nx_error_set on a bad std. */
int model_set_normalize(Model *m, const float *mean, const float *std);
/* Parse a --normalize value into mean/std (3 values each; entries past the
 * channels given repeat the first):
 *   none                 *on = false
 *   cifar10              (0.4914, 0.4822, 0.4465) / (0.2470, 0.2435, 0.2616),
 *                        the CIFAR-10 training set's statistics
 *   imagenet             (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225)
 *   M1,M2,M3/S1,S2,S3    explicit (one value each for gray: M/S)
 * "data" (statistics of the training set) is handled by the caller.
 * -1 + nx_error_set on anything else. */
int model_normalize_parse(const char *s, bool *on, float mean[3], float std[3]);
/* One line per layer (output shape, params, FLOPs) for one input image. */
void model_summary(Model *m, FILE *out);

/* The architectures (layers/lenet5.c, vgg11.c, resnet18.c). */
void lenet5_build(Model *m);
void vgg11_build(Model *m);
void resnet18_build(Model *m, bool cifar_stem);

#endif
