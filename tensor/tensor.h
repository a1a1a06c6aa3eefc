/* tensor.h: the Tensor, devices, arenas, the parameter store, the workspace.
 *
 * A Tensor is fp32 (or int32 for labels and indices), contiguous, row-major
 * NCHW, at most 4 dims, on one device. Conv weights are OIHW and linear
 * weights (out, in), exactly PyTorch's layout. There are no strides, no views
 * beyond reshape and no reference counts: a tensor lives as long as the arena
 * or parameter store that made it.
 *
 * Memory (DESIGN.md, "Memory"):
 *  - the step arena of each device holds activations, saved tensors and
 *    intermediate grads; arenas_reset() empties it after each step (the
 *    autograd layer's step reset calls it). It grows by chunks during the
 *    first step and is consolidated into one block at the first reset, so
 *    later steps never call malloc / cudaMalloc.
 *  - a ParamStore holds a model's params, grads and optimizer state, each one
 *    contiguous block.
 *  - one workspace per device holds the kernels' scratch (conv columns,
 *    GEMM packing buffers, partial sums): an op asks its kernel's size
 *    query, gets that much here and passes it to the kernel.
 */
#ifndef NX_TENSOR_H
#define NX_TENSOR_H

#include "tensor/common.h"

#define NX_MAX_DIMS 4

typedef enum { NX_CPU = 0, NX_CUDA = 1 } Device;
typedef enum { NX_F32 = 0, NX_I32 = 1 } DType;

typedef struct Tensor {
    union {
        float *data;     /* NX_F32, on `device` */
        int32_t *idata;  /* NX_I32, on `device` */
    };
    float *grad;         /* same shape as data; NULL until first accumulated */
    int ndim;
    int shape[NX_MAX_DIMS];
    int64_t numel;
    DType dtype;
    Device device;
    bool requires_grad;
    const char *name;    /* state_dict key for parameters, else NULL */
} Tensor;

/* ---- devices ---------------------------------------------------------- */
const char *device_name(Device d);
int device_parse(const char *s, Device *out); /* "cpu", "cuda", "cuda:N"; -1 + nx_error_set on bad input */
bool cuda_available(void);                    /* compiled with CUDA and a GPU present */
void *device_malloc(Device d, size_t bytes);  /* fatal when out of memory */
int64_t device_malloc_count(Device d);        /* device_malloc calls on d so far */
void device_free(Device d, void *p);
void device_memset0(Device d, void *p, size_t bytes);
/* The one way data crosses devices (or is copied on one): dst and src sizes in bytes. */
void device_memcpy(Device dst_dev, void *dst, Device src_dev, const void *src, size_t bytes);

/* ---- arenas ----------------------------------------------------------- */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
    Device device;
    ArenaChunk *chunks;  /* first chunk is the consolidated block */
    size_t used;         /* bytes handed out since the last reset */
    size_t high_water;   /* largest `used` ever seen */
    size_t capacity;     /* bytes held across all chunks */
    int n_mallocs;       /* device allocations made so far (stops growing after step 1) */
} Arena;

void arena_init(Arena *a, Device d, size_t initial_bytes);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t bytes); /* 64-byte aligned, never fails */
void arena_reset(Arena *a);                /* frees nothing; merges chunks into one */

/* The process-wide step arenas (data on each device) and the host arena
 * that holds Tensor structs, the autograd records and op arguments. */
Arena *step_arena(Device d);
Arena *host_arena(void);
void arenas_reset(void); /* resets the host and step arenas */

/* ---- workspace -------------------------------------------------------- */
/* Scratch memory on a device, valid until the next workspace_get on that
 * device. Grows (and so allocates) only when a larger size is asked for.
 * The kernels' scratch lives here: an op asks the kernel's size query
 * (<kernel>_ws_<cpu|cuda>) and passes the memory to the kernel. */
void *workspace_get(Device d, size_t bytes);
size_t workspace_bytes(Device d); /* its current size */
void workspace_free(Device d);    /* gives it back (the next workspace_get allocates again) */

/* ---- tensors ---------------------------------------------------------- */
/* New step tensors: struct in the host arena, data in the device's step arena. */
Tensor *tensor_new(Device d, DType t, int ndim, const int *shape);
Tensor *tensor_new4(Device d, int n, int c, int h, int w);       /* fp32 (n,c,h,w) */
Tensor *tensor_newv(Device d, DType t, int ndim, ...);           /* shape as varargs */
Tensor *tensor_like(const Tensor *x);                            /* same shape/dtype/device, uninitialised */
Tensor *tensor_zeros_like(const Tensor *x);
/* A tensor struct (host arena) over existing memory. */
Tensor *tensor_wrap(Device d, DType t, void *data, int ndim, const int *shape);

int64_t shape_numel(int ndim, const int *shape);
bool tensor_same_shape(const Tensor *a, const Tensor *b);
/* "(2, 3, 4)": for error messages; uses a rotating static buffer. */
const char *tensor_shape_str(const Tensor *t);
size_t tensor_bytes(const Tensor *t);

/* The gradient buffer of t, allocated zero in the step arena on first use. */
float *tensor_grad(Tensor *t);
/* The same buffer for a kernel that can either add into it or overwrite it:
 * on first use it is allocated but not zeroed and *accumulate is false (the
 * kernel must write every element, as if adding into zeros); later,
 * *accumulate is true. Saves the memset of large activation gradients. */
float *tensor_grad_for_write(Tensor *t, bool *accumulate);

void tensor_fill(Tensor *t, float v);
void tensor_zero(Tensor *t);
/* Copy data between tensors of the same numel (any devices). */
void tensor_copy(Tensor *dst, const Tensor *src);
/* A copy of x on device d, in the step arena. */
Tensor *tensor_to(const Tensor *x, Device d);
/* Host copy of the data (for tests and printing): caller frees. */
float *tensor_to_host(const Tensor *t);
void tensor_print(const Tensor *t, const char *label);

/* ---- parameter store -------------------------------------------------- */
/* All parameters (and buffers such as batchnorm running stats) of a model:
 * params, grads and up to two optimizer-state slots, each one contiguous
 * block on the device. Tensors point into the blocks. */
#define NX_MAX_PARAMS 512
typedef struct ParamStore {
    Device device;
    int n;                           /* number of tensors */
    Tensor *t[NX_MAX_PARAMS];        /* params and buffers, in registration order */
    bool is_buffer[NX_MAX_PARAMS];   /* buffers get no grad and no optimizer update */
    size_t offset[NX_MAX_PARAMS];    /* float offset of each tensor in the blocks */
    size_t total;                    /* floats per block */
    float *params;                   /* (total) */
    float *grads;                    /* (total) */
    float *state[2];                 /* (total) each, optimizer moments; NULL until asked */
    bool finalized;
} ParamStore;

void params_init(ParamStore *s, Device d);
/* Declare a tensor; storage appears at params_finalize. Returns the tensor
 * (valid for the store's lifetime). Name is copied. */
Tensor *params_add(ParamStore *s, const char *name, int ndim, const int *shape, bool is_buffer);
void params_finalize(ParamStore *s);  /* allocate the blocks, zero them */
void params_free(ParamStore *s);
Tensor *params_find(ParamStore *s, const char *name);
void params_zero_grad(ParamStore *s); /* one memset */
float *params_state(ParamStore *s, int slot); /* zeroed on first request */
/* requires_grad = !frozen on every parameter under a dotted prefix:
 * "layer3" matches "layer3.0.conv1.weight" but not "layer30.x";
 * prefix "" matches all. Returns how many were changed. */
int params_freeze(ParamStore *s, const char *prefix, bool frozen);
int64_t params_count(const ParamStore *s, bool trainable_only);
/* Name of the first tensor (param or buffer) holding a NaN or an infinity,
 * or NULL: the training loops' divergence check. Copies the block to the host. */
const char *params_first_nonfinite(const ParamStore *s);

#endif
