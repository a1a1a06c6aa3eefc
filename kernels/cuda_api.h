/* cuda_api.h: the small C interface to the CUDA runtime used by tensor/.
 *
 * Implemented in kernels/cuda_runtime.cu; only compiled when NX_WITH_CUDA is
 * defined (make with nvcc on PATH and CUDA != 0). Every call is checked:
 * failures are fatal and name the call, except nx_cuda_select which
 * reports a bad device index to the user.
 */
#ifndef NX_CUDA_API_H
#define NX_CUDA_API_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int nx_cuda_device_count(void);     /* 0 when no driver or no GPU */
int nx_cuda_select(int index);      /* -1 on a bad index */
const char *nx_cuda_last_error(void);
void *nx_cuda_malloc(size_t bytes);
void nx_cuda_free(void *p);
void nx_cuda_memset0(void *p, size_t bytes);
void nx_cuda_memcpy(void *dst, bool dst_on_gpu, const void *src, bool src_on_gpu, size_t bytes);
void nx_cuda_sync(void);
/* Called after every kernel launch by the op dispatch: checks the last
 * error, and with DEBUG_SYNC=1 synchronises and names the failing op. */
void nx_cuda_after_launch(const char *op);
/* Per-kernel profile for benchmarks: between begin and end, every
 * dispatched kernel is synchronised and the wall time since the previous one
 * is charged to its name. get(i, ...) fills entry i (if it exists) and
 * returns the number of entries. */
void nx_cuda_profile_begin(void);
void nx_cuda_profile_end(void);
int nx_cuda_profile_get(int i, const char **name, double *ms, long *calls);
/* Allow TF32 tensor cores in sgemm_cuda (off by default; NX_CUDA_TF32=1 also turns it on): for benches. */
void sgemm_cuda_allow_tf32(bool on);

#ifdef __cplusplus
}
#endif

#endif
