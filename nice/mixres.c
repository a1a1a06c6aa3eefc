/* mixres.c: the mixed-resolution image of NICE (eq. 13).
 *
 *   x_b = upsample_nearest(avgpool(x, b, stride b), b)   block means, replicated
 *   x~  = x * z + x_b * (1 - z) = x_b + z * (x - x_b)
 *
 * z (N, 1, H, W) broadcasts over the channels. Where the gate is open the
 * pixel keeps full resolution; where it is closed only the b x b block mean
 * survives, which is what makes the PNG smaller. The authors' MNIST code
 * uses a black background instead (x * z): NICE_BG_ZERO.
 */
#include "nice/nice.h"

Tensor *nice_block_average(Tensor *x, int b) {
    NX_CHECK(b >= 1 && x->shape[2] % b == 0 && x->shape[3] % b == 0,
             "nice_block_average: image %dx%d is not a multiple of block %d", x->shape[2], x->shape[3], b);
    if (b == 1) return x;
    return nx_upsample_nearest(nx_avgpool2d(x, b, b, 0), b);
}

Tensor *nice_mix(Tensor *x, Tensor *z, int b, NiceBackground bg) {
    if (bg == NICE_BG_ZERO) return nx_mul(x, z);
    Tensor *xb = nice_block_average(x, b);
    return nx_add(xb, nx_mul(z, nx_sub(x, xb)));
}
