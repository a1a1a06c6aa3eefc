/* gold_softmax.c: softmax against PyTorch (tests/golden/gen_softmax.py): every
 * case of the file (dims 1, -1 and 0 of a 4-d input, logits around +-1000 and +-50, a
 * 1-d and a 3-d input), output and input gradient (accumulated onto 1s). */
#include "tests/testlib.h"

#include <stdio.h>

int goldcase_softmax(void) {
    Golden *g = golden_load("softmax");
    Tensor *dims = golden_get(g, "dims");
    int bad = 0;
    for (int i = 0; i < dims->numel; i++) {
        char kx[32], ky[32], kdy[32], kdx[32];
        snprintf(kx, sizeof kx, "x%d", i), snprintf(ky, sizeof ky, "y%d", i);
        snprintf(kdy, sizeof kdy, "dy%d", i), snprintf(kdx, sizeof kdx, "dx%d", i);
        Tensor *x = golden_get(g, kx);
        x->requires_grad = true;
        Tensor *y = nx_softmax(x, dims->idata[i]);
        float *g0 = tensor_grad(x); /* starts at 1: backward must ADD into it */
        for (int64_t j = 0; j < x->numel; j++) g0[j] = 1.0f;
        tape_backward_from(y, golden_get(g, kdy)->data);
        tape_clear();
        for (int64_t j = 0; j < x->numel; j++) g0[j] -= 1.0f;
        int b = golden_compare(g, ky, y, 1e-6, 1e-5) + golden_compare_grad(g, kdx, x, 1e-6, 1e-5);
        if (b) fprintf(stderr, "gold softmax: case %d (x %s, dim %d) fails\n", i, tensor_shape_str(x), dims->idata[i]);
        bad += b;
    }
    golden_free(g);
    return bad;
}
