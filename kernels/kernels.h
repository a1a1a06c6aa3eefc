/* kernels.h: every kernel family, for programs that want them all (tests,
 * benches, kernels/cuda_common.cuh). An op file includes only its own
 * family's header.
 *
 * One stem per family: kernels/<family>.h declares the CPU loops and their
 * CUDA twins (same signature), kernels/<family>.c holds the CPU loops,
 * kernels/<family>.cu the CUDA twins, kernels/<family>_math.h (where there
 * is one) the scalar math both share; kernels/ref/ the plain reference
 * loops the fast kernels are tested against.
 *
 * Kernels take raw pointers: outputs first, then inputs, then sizes, with a
 * shape comment on every pointer, then the scratch memory `ws` where a
 * kernel needs some (its size from the kernel's <op>_ws_<cpu|cuda> query;
 * the caller allocates it). They know nothing of tensors or the tape, and
 * include nothing from tensor/ but the error header tensor/common.h.
 * Names: <op>_<forward|backward>_<cpu|cuda>. A backward kernel ADDS into
 * the input gradients (+=). Every CUDA twin is a plain declaration: a CUDA
 * build that lacks one fails to link; a CPU-only build (CUDA=0) never
 * references a twin (autograd/op.h's DISPATCH has no CUDA branch there).
 */
#ifndef NX_KERNELS_H
#define NX_KERNELS_H

#include "kernels/hd.h"

#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/linear.h"
#include "kernels/conv.h"
#include "kernels/pool.h"
#include "kernels/batchnorm.h"
#include "kernels/dropout.h"
#include "kernels/resample.h"
#include "kernels/concat.h"
#include "kernels/softmax.h"
#include "kernels/optim.h"
#include "kernels/nice.h"

#endif
