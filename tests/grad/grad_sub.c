/* grad_sub.c: gradient-check case of sub: every broadcast pattern on both
 * sides, one-sided gradients, sub(x, x) and the shape error (the shared
 * checks live in grad_add.c). */
#include "tests/testlib.h"

int ew_binary_gradcheck(const char *name, Tensor *(*op)(Tensor *, Tensor *), float b_lo, float b_hi);

int gradcase_sub(void) { return ew_binary_gradcheck("sub", nx_sub, -1, 1); }
