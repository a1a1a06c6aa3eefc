/* grad_mul.c: gradient-check case of mul: every broadcast pattern on both
 * sides, one-sided gradients, mul(x, x) and the shape error (the shared
 * checks live in grad_add.c). */
#include "tests/testlib.h"

int ew_binary_gradcheck(const char *name, Tensor *(*op)(Tensor *, Tensor *), float b_lo, float b_hi);

int gradcase_mul(void) { return ew_binary_gradcheck("mul", nx_mul, -1, 1); }
