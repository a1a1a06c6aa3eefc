/* op_mean.c: mean over a set of dims.
 *
 * forward:  y = (sum over the dims in `dims` of x) / count,
 *           count = product of the reduced dims' sizes.
 *           `dims` is a bit mask (bit i = dim i, NX_DIM(i)); NX_ALL (0) means
 *           every dim. keepdim keeps each reduced dim with size 1, else it is
 *           dropped: reducing all dims without keepdim gives a 0-dim tensor.
 *           Accumulated in double, then rounded once to float.
 *           The mean of nothing (count 0) is NaN, as torch.
 * backward: every x element enters exactly one y element with weight 1 / count:
 *           dL/dx[i] += dL/dy[j(i)] / count   (dy broadcast back, divided)
 * shapes:   x (d0, .., dk) -> y: the dims not in `dims` (reduced dims as 1
 *           with keepdim)
 * PyTorch:  torch.mean(x) (NX_ALL, no keepdim: 0-dim) or
 *           torch.mean(x, dim=<the dims in the mask>, keepdim=keepdim).
 *           The kernels: sum_forward/sum_backward with div = count.
 * kernels:  kernels/elementwise.{h,c,cu}
 */
#include "autograd/op.h"
#include "kernels/elementwise.h"

/* The reduction itself, its checks and its backward: op_reduce in op_sum.c. */
Tensor *nx_mean(Tensor *x, unsigned dims, bool keepdim) { return op_reduce(OP_mean, x, dims, keepdim, true); }
