/* kernels.h: every raw kernel, CPU loop and CUDA twin (same signature).
 *
 * Kernels take raw pointers: outputs first, then inputs, then sizes, with a
 * shape comment on every pointer. They know nothing of tensors or the tape.
 * Names: <op>_<forward|backward>_<cpu|cuda>. A backward kernel ADDS into
 * the input gradients (+=). CUDA twins are declared NX_CUDA_TWIN (weak), so
 * a CUDA build links before every twin exists and the dispatch can name a
 * missing one.
 */
#ifndef NX_KERNELS_H
#define NX_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NX_CUDA_TWIN __attribute__((weak))

#include "kernels/gemm.h"
#include "kernels/conv.h"
#include "kernels/nn.h"
#include "kernels/resample.h"
#include "kernels/elementwise.h"
#include "kernels/softmax.h"
#include "kernels/optim_kernels.h"
#include "kernels/rng_kernels.h"
#include "kernels/nice_kernels.h"

#endif
