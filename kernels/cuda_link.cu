/* cuda_link.cu: makes the linker keep the CUDA twins.
 *
 * The twins are declared weak (NX_CUDA_TWIN) so that a build links before
 * every twin exists. But a weak *reference* does not make the linker pull a
 * member out of a static archive: linking libnicex.a, an op's call to
 * relu_forward_cuda alone would leave it NULL (and the dispatch would stop
 * with "no CUDA twin yet") although kernels/elementwise.cu defines it.
 * So every CUDA file of twins in kernels/ defines one strong, empty function
 * nx_cuda_link_<file>, and nx_cuda_kernels_link() below calls them all: one
 * strong reference to nx_cuda_kernels_link pulls in this file and, through
 * it, every file of twins. tests/suite_cuda.c makes that reference; the
 * runtime (kernels/cuda_runtime.cu) should make it too, so that every
 * program linked with libnicex.a gets the twins.
 *
 * Adding a file of twins: define nx_cuda_link_<file> at its end and list it here.
 */
#include "kernels/cuda_common.cuh"

#define NX_CUDA_TWIN_FILES(X)                                                                                          \
    X(elementwise)                                                                                                     \
    X(nn)                                                                                                              \
    X(resample)                                                                                                        \
    X(softmax)                                                                                                         \
    X(nice)                                                                                                            \
    X(gemm)                                                                                                            \
    X(conv)                                                                                                            \
    X(optim)

#define DECLARE(name) extern "C" void nx_cuda_link_##name(void);
NX_CUDA_TWIN_FILES(DECLARE)
#undef DECLARE

/* Returns the number of files of twins linked. */
extern "C" int nx_cuda_kernels_link(void) {
    int n = 0;
#define CALL(name) (nx_cuda_link_##name(), n++);
    NX_CUDA_TWIN_FILES(CALL)
#undef CALL
    return n;
}
