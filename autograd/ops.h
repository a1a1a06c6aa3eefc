/* ops.h: the differentiable ops, one file each (autograd/op_<name>.c).
 *
 * Every op allocates its output in the step arena of its inputs' device,
 * computes it on that device (explicit dispatch, never an implicit copy),
 * and records a tape entry when an input requires a gradient. Semantics are
 * PyTorch's; each op file's header comment gives the exact equivalent.
 */
#ifndef NX_OPS_H
#define NX_OPS_H

#include "autograd/tape.h"

enum {
#define X(name) OP_##name,
#include "autograd/ops.def"
#undef X
    OP_COUNT
};

/* ---- layers ----------------------------------------------------------- */
/* x (N, C, H, W), w (O, C/groups, KH, KW), b (O) or NULL -> (N, O, OH, OW).
 * groups == C == O gives a depthwise convolution (Gaussian blurs). */
Tensor *nx_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int groups);
/* x (N, IN), w (OUT, IN), b (OUT) or NULL -> (N, OUT) */
Tensor *nx_linear(Tensor *x, Tensor *w, Tensor *b);
/* x (N, C, H, W); weight, bias, running_mean, running_var (C). training:
 * batch statistics, running stats updated with momentum (unbiased var);
 * eval: running statistics. weight/bias may be NULL (affine=False). */
Tensor *nx_batchnorm2d(Tensor *x, Tensor *weight, Tensor *bias, Tensor *running_mean, Tensor *running_var,
                       bool training, float momentum, float eps);
/* x (N, C, H, W) -> (N, C, OH, OW); floor mode; padding is -inf (max) or
 * zero counted in the divisor (avg, count_include_pad=True). */
Tensor *nx_maxpool2d(Tensor *x, int kernel, int stride, int pad);
Tensor *nx_avgpool2d(Tensor *x, int kernel, int stride, int pad);
/* x (N, C, H, W) -> (N, C, 1, 1) */
Tensor *nx_global_avgpool(Tensor *x);
/* x (N, C, H, W) -> (N, C, H*f, W*f) */
Tensor *nx_upsample_nearest(Tensor *x, int factor);
/* x (N, C, H, W) -> (N, C, OH, OW) */
Tensor *nx_upsample_bilinear(Tensor *x, int out_h, int out_w, bool align_corners);
/* x (N, C*r*r, H, W) -> (N, C, H*r, W*r) */
Tensor *nx_pixel_shuffle(Tensor *x, int r);

/* ---- elementwise ------------------------------------------------------ */
Tensor *nx_relu(Tensor *x);
Tensor *nx_sigmoid(Tensor *x);
Tensor *nx_tanh(Tensor *x);
Tensor *nx_abs(Tensor *x);
Tensor *nx_pow(Tensor *x, float p);
Tensor *nx_log(Tensor *x);
Tensor *nx_exp(Tensor *x);
Tensor *nx_clamp(Tensor *x, float lo, float hi);
Tensor *nx_scale(Tensor *x, float a, float b); /* a * x + b */
/* Broadcasting binary ops: shapes are right-aligned (numpy rules); each
 * dim is equal or 1 on one side. Covers (N,1,H,W) with (N,C,H,W),
 * per-channel (1,C,1,1), and scalars (one element). */
Tensor *nx_add(Tensor *a, Tensor *b);
Tensor *nx_sub(Tensor *a, Tensor *b);
Tensor *nx_mul(Tensor *a, Tensor *b);
Tensor *nx_div(Tensor *a, Tensor *b);

/* ---- reductions and shape --------------------------------------------- */
/* dims: bit mask of the dims to reduce (bit i = dim i); NX_ALL reduces all
 * to a 0-dim tensor. keepdim keeps reduced dims as size 1. */
#define NX_ALL 0u
#define NX_DIM(i) (1u << (i))
Tensor *nx_sum(Tensor *x, unsigned dims, bool keepdim);
Tensor *nx_mean(Tensor *x, unsigned dims, bool keepdim);
/* Same data, new shape (one dim may be -1). Shares x's memory. */
Tensor *nx_reshape(Tensor *x, int ndim, const int *shape);
Tensor *nx_flatten(Tensor *x); /* (N, ...) -> (N, rest), via nx_reshape */
/* Concatenate along dim 1 (channels); all other dims equal. */
Tensor *nx_concat(Tensor *const *xs, int n);
/* Training: zero with probability p, survivors scaled by 1/(1-p), mask from
 * the global Philox stream. Eval or p == 0: identity. */
Tensor *nx_dropout(Tensor *x, float p, bool training);

/* ---- softmax and losses ----------------------------------------------- */
/* Along dim `dim` of any shape. */
Tensor *nx_softmax(Tensor *x, int dim);
Tensor *nx_log_softmax(Tensor *x, int dim);
/* logits (N, C), targets int32 (N) -> mean loss, 0-dim. */
Tensor *nx_cross_entropy(Tensor *logits, Tensor *targets);
/* logp (N, C) log-probabilities, targets int32 (N) -> mean of -logp[n, t_n]. */
Tensor *nx_nll(Tensor *logp, Tensor *targets);

/* ---- NICE ------------------------------------------------------------ */
/* x (N, C, H, W) -> (N): per-image sum of |x - neighbour| over the up, left,
 * up-left and up-right neighbours (NICE eq. 9). */
Tensor *nx_neighbor_l1(Tensor *x);

#endif
