/* pool.h: max, average and global average pooling kernels (math in
 * autograd/op_maxpool2d.c, op_avgpool2d.c, op_global_avgpool.c; CPU loops
 * kernels/pool.c, CUDA twins kernels/pool.cu, scalar math shared by both
 * kernels/pool_math.h).
 *
 * Images are NCHW; the kernels see their input as P = N*C independent
 * planes of H*W. Sizes of a pooled output are in floor mode:
 * OH = (H + 2*pad - k) / stride + 1, and the same for OW.
 */
#ifndef NX_KERNELS_POOL_H
#define NX_KERNELS_POOL_H

#include "kernels/hd.h"

/* ---- maxpool2d -------------------------------------------------------- */
/* y[p, oh, ow] = max over the k x k window at (oh*stride - pad, ow*stride - pad),
 * padding excluded (-inf); idx (may be NULL) gets the argmax as ih*W + iw,
 * the first maximum in row-major window order (a NaN wins: the last NaN,
 * exactly as PyTorch's CPU loop). */
void maxpool2d_forward_cpu(float *y /* (P, OH, OW) */, int32_t *idx /* (P, OH, OW) or NULL */,
                           const float *x /* (P, H, W) */, int P, int H, int W, int OH, int OW, int k, int stride,
                           int pad);
void maxpool2d_forward_cuda(float *y, int32_t *idx, const float *x, int P, int H, int W, int OH,
                                         int OW, int k, int stride, int pad);
/* dx[p, idx[p, o]] += dy[p, o]; with accumulate false, dx is zeroed first (its contents are not read) */
void maxpool2d_backward_cpu(float *dx /* (P, H*W) */, const float *dy /* (P, OH*OW) */,
                            const int32_t *idx /* (P, OH*OW) */, int P, int HW, int OHW, bool accumulate);
void maxpool2d_backward_cuda(float *dx, const float *dy, const int32_t *idx, int P, int HW, int OHW,
                             bool accumulate);

/* ---- avgpool2d -------------------------------------------------------- */
/* y[p, oh, ow] = sum of the window's in-image values / (window size with the
 * padding counted, clipped at H + pad and W + pad): count_include_pad=True */
void avgpool2d_forward_cpu(float *y /* (P, OH, OW) */, const float *x /* (P, H, W) */, int P, int H, int W, int OH,
                           int OW, int k, int stride, int pad);
void avgpool2d_forward_cuda(float *y, const float *x, int P, int H, int W, int OH, int OW, int k,
                                         int stride, int pad);
/* dx[p, window] += dy[p, oh, ow] / (same divisor) */
void avgpool2d_backward_cpu(float *dx /* (P, H, W) */, const float *dy /* (P, OH, OW) */, int P, int H, int W,
                            int OH, int OW, int k, int stride, int pad);
void avgpool2d_backward_cuda(float *dx, const float *dy, int P, int H, int W, int OH, int OW, int k,
                                          int stride, int pad);

/* ---- global_avgpool --------------------------------------------------- */
/* y[p] = sum(x[p, :]) / HW */
void global_avgpool_forward_cpu(float *y /* (P) */, const float *x /* (P, HW) */, int64_t P, int64_t HW);
void global_avgpool_forward_cuda(float *y, const float *x, int64_t P, int64_t HW);
/* dx[p, :] += dy[p] / HW */
void global_avgpool_backward_cpu(float *dx /* (P, HW) */, const float *dy /* (P) */, int64_t P, int64_t HW);
void global_avgpool_backward_cuda(float *dx, const float *dy, int64_t P, int64_t HW);

#endif
