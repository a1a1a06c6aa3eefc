/* rng_kernels.h: (to be written) */
#ifndef NX_KERNELS_RNG_KERNELS_H
#define NX_KERNELS_RNG_KERNELS_H

#include "kernels/kernels.h"

#endif
