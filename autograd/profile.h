/* profile.h: an opt-in wall-clock profile of the op dispatch and the tape,
 * for benchmarks (bench/bench_train.py). Off unless NX_PROFILE=1.
 *
 * When on, every kernel called through DISPATCH (autograd/op.h) is timed
 * (CLOCK_MONOTONIC; a CUDA kernel is synchronised first) and its time and
 * calls are summed per kernel name, apart for grad mode on (training) and off
 * (evaluation). The tape splits each step (nx_step_reset to the next) into
 *     forward   step start -> tape_backward: batch to device, forward, loss, zero grads
 *     backward  tape_backward (the reverse walk of the tape)
 *     after     tape_backward's end -> next step: optimizer, the next batch, bookkeeping
 *     no-grad   a step without tape_backward (evaluation)
 * and sums each phase's wall time and the kernel time inside it, so that
 * phase - kernels is the time outside kernels (the tape, op glue, arena,
 * gradient zeroing; in `after`, the data loader and the loop). At exit a
 * table of both goes to stderr, lines starting with "profile".
 *
 * Off, a dispatch costs one test of a global; floats are never touched.
 */
#ifndef NX_PROFILE_H
#define NX_PROFILE_H

#include <stdbool.h>

extern int nx_prof_state_; /* -1: NX_PROFILE not read yet, 0 off, 1 on */
bool nx_prof_init_(void);  /* reads NX_PROFILE once; true when on */

static inline bool nx_prof_on(void) { return nx_prof_state_ > 0 || (nx_prof_state_ < 0 && nx_prof_init_()); }
double nx_prof_now(void); /* seconds, CLOCK_MONOTONIC */
/* Charge now - t0 to kernel `name` (synchronising the GPU first when on_gpu). */
void nx_prof_kernel(const char *name, double t0, bool on_gpu);

typedef enum { NX_PROF_STEP, NX_PROF_BACKWARD_BEGIN, NX_PROF_BACKWARD_END } NxProfEvent;
/* From the tape: a step begins (nx_step_reset), a backward begins or ends. */
void nx_prof_event(NxProfEvent ev);

#endif
