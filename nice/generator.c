/* generator.c: the NICE mask generators of Table 1.
 *
 * C(in, out, k, stride, pad) conv, R ReLU, M(2) max-pool 2, Up(f) nearest.
 *   mnist   (28 x 28)  C(in,1,3,1,1)                          -> log_alpha 28 x 28
 *   cifar   (32 x 32)  C(in,1,5,1,2) + M(2) + Up(2)           -> 32 x 32
 *           (the paper prints C(1,1,5,1,0), which cannot take RGB nor
 *            give 32 x 32; pad 2 and `in` input channels is the smallest fix)
 *   caltech (256 x 256, any multiple of 8)
 *           C(in,1,3,1,1) + R + M(2), C(1,1,3,1,1) + R + M(2),
 *           C(1,1,3,1,1) + M(2), Up(8)                        -> log_alpha at H/8, upsampled
 * Parameter names: conv1, conv2, conv3 (.weight, .bias); PyTorch's default init.
 */
#include "nice/nice.h"

#include <stdio.h>
#include <string.h>

int generator_create(Generator *g, const char *arch, int in_c, int hw, Device d) {
    memset(g, 0, sizeof *g);
    if (strcmp(arch, "auto") == 0) arch = hw == 28 ? "mnist" : hw == 32 ? "cifar" : "caltech";
    bool ok = true;
    if (strcmp(arch, "mnist") == 0) ok = hw >= 3;
    else if (strcmp(arch, "cifar") == 0) ok = hw % 2 == 0;
    else if (strcmp(arch, "caltech") == 0) ok = hw % 8 == 0;
    else {
        nx_error_set("unknown generator '%s' (known: auto, mnist, cifar, caltech)", arch);
        return -1;
    }
    if (!ok) {
        nx_error_set("generator %s: input side %d does not fit its pooling (Table 1)", arch, hw);
        return -1;
    }
    snprintf(g->arch, sizeof g->arch, "%s", arch);
    g->in_c = in_c;
    g->hw = hw;
    params_init(&g->params, d);
    if (strcmp(arch, "mnist") == 0) {
        conv2d_init(&g->conv[0], &g->params, "conv1", in_c, 1, 3, 1, 1, true);
        g->n_conv = 1;
    } else if (strcmp(arch, "cifar") == 0) {
        conv2d_init(&g->conv[0], &g->params, "conv1", in_c, 1, 5, 1, 2, true);
        g->n_conv = 1;
    } else {
        conv2d_init(&g->conv[0], &g->params, "conv1", in_c, 1, 3, 1, 1, true);
        conv2d_init(&g->conv[1], &g->params, "conv2", 1, 1, 3, 1, 1, true);
        conv2d_init(&g->conv[2], &g->params, "conv3", 1, 1, 3, 1, 1, true);
        g->n_conv = 3;
    }
    params_finalize(&g->params);
    for (int i = 0; i < g->n_conv; i++) conv2d_reset(&g->conv[i]);
    return 0;
}

void generator_free(Generator *g) {
    params_free(&g->params);
    memset(g, 0, sizeof *g);
}

Tensor *generator_forward(Generator *g, Tensor *x) {
    NX_CHECK(x->ndim == 4 && x->shape[1] == g->in_c && x->shape[2] == g->hw && x->shape[3] == g->hw,
             "generator %s: input %s, expected (N, %d, %d, %d)", g->arch, tensor_shape_str(x), g->in_c, g->hw,
             g->hw);
    if (strcmp(g->arch, "mnist") == 0) return conv2d_forward(&g->conv[0], x);
    if (strcmp(g->arch, "cifar") == 0)
        return nx_upsample_nearest(nx_maxpool2d(conv2d_forward(&g->conv[0], x), 2, 2, 0), 2);
    Tensor *h = nx_maxpool2d(nx_relu(conv2d_forward(&g->conv[0], x)), 2, 2, 0);
    h = nx_maxpool2d(nx_relu(conv2d_forward(&g->conv[1], h)), 2, 2, 0);
    h = nx_maxpool2d(conv2d_forward(&g->conv[2], h), 2, 2, 0);
    return nx_upsample_nearest(h, 8);
}
