/* gold_sub.c: sub against PyTorch for every broadcast pattern, outputs and
 * both gradients (the comparison lives in gold_add.c). */
#include "tests/testlib.h"

int ew_binary_golden(const char *name, Tensor *(*op)(Tensor *, Tensor *), int n_patterns);

int goldcase_sub(void) { return ew_binary_golden("sub", nx_sub, 15); }
