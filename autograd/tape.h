/* tape.h: reverse-mode autodiff as a tape (DESIGN.md, "Autograd: a tape").
 *
 * Execution order is already a topological order. Each differentiable op
 * that has an input with requires_grad appends one entry
 *     {op, inputs, output, ctx (args and saved tensors), backward}
 * and tape_backward(loss) walks the tape in reverse. Entries whose output has
 * no gradient are skipped. Every backward ADDS into its inputs' grads (+=),
 * which makes residual connections and reused tensors correct.
 *
 * Gradients of step tensors live in the step arena; parameter gradients live
 * in their ParamStore. A frozen parameter (requires_grad false) costs no
 * parameter-gradient work.
 */
#ifndef NX_TAPE_H
#define NX_TAPE_H

#include "tensor/tensor.h"

#define NX_TAPE_MAX_IN 8

typedef struct TapeEntry TapeEntry;
typedef void (*BackwardFn)(TapeEntry *e);

struct TapeEntry {
    int op;                        /* OP_<name>, from ops.def */
    Tensor *out;
    Tensor *in[NX_TAPE_MAX_IN];
    int n_in;
    void *ctx;                     /* op arguments and saved tensors, host arena */
    BackwardFn backward;
};

/* True when grad mode is on and any input requires a gradient. */
bool tape_wants(Tensor *const *in, int n_in);
/* Append an entry; marks out->requires_grad. ctx must live in the host arena. */
void tape_record(int op, Tensor *out, Tensor *const *in, int n_in, void *ctx, BackwardFn backward);
/* loss must have one element; its grad is seeded with 1. */
void tape_backward(Tensor *loss);
/* Same, with an explicit gradient for `out` (same shape). */
void tape_backward_from(Tensor *out, const float *grad_out_host);
void tape_clear(void);
/* After each step: clears the tape and resets the host and step arenas
 * (tensor/arena.c's arenas_reset). */
void nx_step_reset(void);
int tape_length(void);
/* Print the ops and their output shapes: a teaching aid. */
void tape_print(void);

/* Grad mode: nx_no_grad() returns the previous mode; nx_set_grad(prev) restores. */
bool nx_no_grad(void);
void nx_set_grad(bool enabled);
bool nx_grad_enabled(void);

/* Name of op id (from ops.def), and the number of registered ops. */
const char *op_name(int op);
int op_count(void);

#endif
