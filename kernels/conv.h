/* conv.h: (to be written) */
#ifndef NX_KERNELS_CONV_H
#define NX_KERNELS_CONV_H

#include "kernels/kernels.h"

#endif
