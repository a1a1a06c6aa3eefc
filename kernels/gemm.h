/* gemm.h: (to be written) */
#ifndef NX_KERNELS_GEMM_H
#define NX_KERNELS_GEMM_H

#include "kernels/kernels.h"

#endif
