/* nn.h: (to be written) */
#ifndef NX_KERNELS_NN_H
#define NX_KERNELS_NN_H

#include "kernels/kernels.h"

#endif
