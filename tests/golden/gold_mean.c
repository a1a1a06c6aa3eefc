/* gold_mean.c: mean against PyTorch over the same cases as sum (the
 * comparison lives in gold_sum.c). */
#include "tests/testlib.h"

int ew_reduce_golden(const char *name, Tensor *(*op)(Tensor *, unsigned, bool), int n_patterns);

int goldcase_mean(void) { return ew_reduce_golden("mean", nx_mean, 16); }
