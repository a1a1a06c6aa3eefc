/* layers.h: modules with PyTorch's parameter names and default init.
 *
 * A layer is a small struct of parameter tensors plus its hyper-parameters.
 * `<layer>_init(layer, store, prefix, ...)` declares the parameters in the
 * model's ParamStore under PyTorch's state_dict keys ("<prefix>.weight",
 * "<prefix>.bias", "<prefix>.running_mean", ...); `<layer>_reset(layer)`
 * draws PyTorch's default initial values from the seeded Philox stream once
 * the store is finalised; `<layer>_forward(layer, x)` applies it through the
 * autograd ops.
 *
 * Default init, as torch.nn (1.13):
 *   Conv2d, Linear: weight ~ U(-b, b), b = 1/sqrt(fan_in) (kaiming_uniform
 *   with a = sqrt(5)); bias ~ U(-b, b), b = 1/sqrt(fan_in).
 *   BatchNorm2d: weight 1, bias 0, running_mean 0, running_var 1.
 */
#ifndef NX_LAYERS_H
#define NX_LAYERS_H

#include <stdio.h>

#include "autograd/ops.h"

typedef struct {
    Tensor *weight; /* (out, in/groups, k, k) */
    Tensor *bias;   /* (out) or NULL */
    int in, out, k, stride, pad, groups;
} Conv2d;

typedef struct {
    Tensor *weight; /* (out, in) */
    Tensor *bias;   /* (out) or NULL */
    int in, out;
} Linear;

typedef struct {
    Tensor *weight, *bias;               /* (C) */
    Tensor *running_mean, *running_var;  /* (C), buffers */
    int c;
    float momentum, eps;                 /* 0.1, 1e-5 */
} BatchNorm2d;

void conv2d_init(Conv2d *l, ParamStore *s, const char *prefix, int in, int out, int k, int stride, int pad,
                 bool bias);
void conv2d_reset(Conv2d *l);
Tensor *conv2d_forward(Conv2d *l, Tensor *x);

void linear_init(Linear *l, ParamStore *s, const char *prefix, int in, int out, bool bias);
void linear_reset(Linear *l);
Tensor *linear_forward(Linear *l, Tensor *x);

void batchnorm2d_init(BatchNorm2d *l, ParamStore *s, const char *prefix, int c);
void batchnorm2d_reset(BatchNorm2d *l);
Tensor *batchnorm2d_forward(BatchNorm2d *l, Tensor *x, bool training);

/* Stateless layers: the op plus a summary row under `name`. */
Tensor *relu_forward(const char *name, Tensor *x);
Tensor *maxpool2d_forward(const char *name, Tensor *x, int kernel, int stride, int pad);
Tensor *avgpool2d_forward(const char *name, Tensor *x, int kernel, int stride, int pad);
Tensor *global_avgpool_forward(const char *name, Tensor *x);
Tensor *dropout_forward(const char *name, Tensor *x, float p, bool training);

/* Fill with U(-bound, bound) / N(0, std) from the global Philox stream. */
void init_uniform(Tensor *t, float bound);
void init_normal(Tensor *t, float std);
void init_const(Tensor *t, float v);

/* ---- the layer summary ----------------------------------------------- */
/* While a summary is being printed (summary_begin .. summary_end), every
 * layer forward reports one row: name, output shape, params, FLOPs
 * (multiply-adds counted as 2). Outside a summary the calls do nothing. */
void summary_begin(FILE *out);
void summary_row(const char *name, const Tensor *y, int64_t params, int64_t flops);
void summary_end(void);
bool summary_active(void);

#endif
