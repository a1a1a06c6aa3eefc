/* gold_div.c: div against PyTorch for every broadcast pattern, outputs and
 * both gradients (the comparison lives in gold_add.c). */
#include "tests/testlib.h"

int ew_binary_golden(const char *name, Tensor *(*op)(Tensor *, Tensor *), int n_patterns);

int goldcase_div(void) { return ew_binary_golden("div", nx_div, 15); }
