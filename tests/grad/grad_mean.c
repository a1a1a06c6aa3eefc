/* grad_mean.c: gradient-check case of mean over the same dim sets as sum
 * (the shared checks live in grad_sum.c). */
#include "tests/testlib.h"

int ew_reduce_gradcheck(const char *name, Tensor *(*op)(Tensor *, unsigned, bool));

int gradcase_mean(void) { return ew_reduce_gradcheck("mean", nx_mean); }
