/* softmax.h: (to be written) */
#ifndef NX_KERNELS_SOFTMAX_H
#define NX_KERNELS_SOFTMAX_H

#include "kernels/kernels.h"

#endif
