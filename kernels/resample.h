/* resample.h: (to be written) */
#ifndef NX_KERNELS_RESAMPLE_H
#define NX_KERNELS_RESAMPLE_H

#include "kernels/kernels.h"

#endif
