/* grad_div.c: gradient-check case of div: every broadcast pattern on both
 * sides, one-sided gradients, div(x, x) and the shape error (the shared
 * checks live in grad_add.c). The divisor stays in [0.5, 2], away from 0. */
#include "tests/testlib.h"

int ew_binary_gradcheck(const char *name, Tensor *(*op)(Tensor *, Tensor *), float b_lo, float b_hi);

int gradcase_div(void) { return ew_binary_gradcheck("div", nx_div, 0.5f, 2.0f); }
