/* resample.h: kernels that move data between positions without arithmetic
 * beyond interpolation weights: nearest and bilinear upsampling and pixel
 * shuffle (CPU loops kernels/resample.c, CUDA twins kernels/resample.cu,
 * the bilinear source index shared by both in kernels/resample_math.h).
 * The math of each lives in its op file, autograd/op_<name>.c.
 *
 * "planes" is N * C: every (n, c) image is resampled independently.
 */
#ifndef NX_KERNELS_RESAMPLE_H
#define NX_KERNELS_RESAMPLE_H

#include "kernels/hd.h"

/* ---- nearest upsampling by an integer factor f ------------------------ */
/* y[p][h][w] = x[p][h / f][w / f] */
void upsample_nearest_forward_cpu(float *y /* (planes, H*f, W*f) */, const float *x /* (planes, H, W) */,
                                  int64_t planes, int h, int w, int f);
void upsample_nearest_forward_cuda(float *y, const float *x, int64_t planes, int h, int w, int f);
/* dx[p][h][w] += sum over the f x f block of dy starting at (h*f, w*f) */
void upsample_nearest_backward_cpu(float *dx /* (planes, H, W) */, const float *dy /* (planes, H*f, W*f) */,
                                   int64_t planes, int h, int w, int f);
void upsample_nearest_backward_cuda(float *dx, const float *dy, int64_t planes, int h, int w, int f);

/* ---- bilinear resampling to any size (PyTorch's index and weight rules) -- */
/* y[p][oh][ow] = sum of the 2 x 2 source pixels around the source point of
 * (oh, ow), weighted by (1 - lambda, lambda) along each axis. */
void upsample_bilinear_forward_cpu(float *y /* (planes, OH, OW) */, const float *x /* (planes, H, W) */,
                                   int64_t planes, int h, int w, int oh, int ow, bool align_corners);
void upsample_bilinear_forward_cuda(float *y, const float *x, int64_t planes, int h, int w, int oh,
                                                 int ow, bool align_corners);
/* dx += the transpose of the forward map applied to dy (same weights, scattered) */
void upsample_bilinear_backward_cpu(float *dx /* (planes, H, W) */, const float *dy /* (planes, OH, OW) */,
                                    int64_t planes, int h, int w, int oh, int ow, bool align_corners);
void upsample_bilinear_backward_cuda(float *dx, const float *dy, int64_t planes, int h, int w, int oh,
                                                  int ow, bool align_corners);

/* ---- pixel shuffle: depth to space ------------------------------------ */
/* y[n][c][h*r + i][w*r + j] = x[n][c*r*r + i*r + j][h][w]; c indexes the C outputs */
void pixel_shuffle_forward_cpu(float *y /* (N, C, H*r, W*r) */, const float *x /* (N, C*r*r, H, W) */, int n,
                               int c, int h, int w, int r);
void pixel_shuffle_forward_cuda(float *y, const float *x, int n, int c, int h, int w, int r);
/* dx[n][c*r*r + i*r + j][h][w] += dy[n][c][h*r + i][w*r + j] */
void pixel_shuffle_backward_cpu(float *dx /* (N, C*r*r, H, W) */, const float *dy /* (N, C, H*r, W*r) */, int n,
                                int c, int h, int w, int r);
void pixel_shuffle_backward_cuda(float *dx, const float *dy, int n, int c, int h, int w, int r);

#endif
