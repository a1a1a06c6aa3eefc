/* gold_mul.c: mul against PyTorch for every broadcast pattern, outputs and
 * both gradients (the comparison lives in gold_add.c). */
#include "tests/testlib.h"

int ew_binary_golden(const char *name, Tensor *(*op)(Tensor *, Tensor *), int n_patterns);

int goldcase_mul(void) { return ew_binary_golden("mul", nx_mul, 15); }
