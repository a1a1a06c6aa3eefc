/* tape.c: the tape and the op registry's names. */
#include "autograd/tape.h"
#include "autograd/ops.h"
#include "autograd/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static TapeEntry *g_tape;
static int g_len, g_cap;
static bool g_grad_enabled = true;

static const char *g_op_names[] = {
#define X(name) #name,
#include "autograd/ops.def"
#undef X
};

const char *op_name(int op) { return op >= 0 && op < OP_COUNT ? g_op_names[op] : "?"; }
int op_count(void) { return OP_COUNT; }

bool nx_no_grad(void) {
    bool prev = g_grad_enabled;
    g_grad_enabled = false;
    return prev;
}
void nx_set_grad(bool enabled) { g_grad_enabled = enabled; }
bool nx_grad_enabled(void) { return g_grad_enabled; }

bool tape_wants(Tensor *const *in, int n_in) {
    if (!g_grad_enabled) return false;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->requires_grad) return true;
    return false;
}

void tape_record(int op, Tensor *out, Tensor *const *in, int n_in, void *ctx, BackwardFn backward) {
    NX_CHECK(n_in <= NX_TAPE_MAX_IN, "op %s: %d inputs (at most %d)", op_name(op), n_in, NX_TAPE_MAX_IN);
    if (g_len == g_cap) {
        g_cap = g_cap ? 2 * g_cap : 256;
        g_tape = nx_realloc(g_tape, (size_t)g_cap * sizeof *g_tape);
    }
    TapeEntry *e = &g_tape[g_len++];
    e->op = op;
    e->out = out;
    e->n_in = n_in;
    for (int i = 0; i < n_in; i++) e->in[i] = in[i];
    e->ctx = ctx;
    e->backward = backward;
    out->requires_grad = true;
}

static void run_backward(void) {
    for (int i = g_len - 1; i >= 0; i--) {
        TapeEntry *e = &g_tape[i];
        if (!e->out->grad) continue; /* nothing flowed into this output */
        e->backward(e);
    }
}

void tape_backward(Tensor *loss) {
    NX_CHECK(loss->numel == 1, "tape_backward: loss has shape %s, expected one element", tensor_shape_str(loss));
    NX_CHECK(loss->requires_grad, "tape_backward: loss does not depend on anything that requires grad");
    nx_prof_event(NX_PROF_BACKWARD_BEGIN);
    float one = 1.0f;
    device_memcpy(loss->device, tensor_grad(loss), NX_CPU, &one, sizeof one);
    run_backward();
    nx_prof_event(NX_PROF_BACKWARD_END);
}

void tape_backward_from(Tensor *out, const float *grad_out_host) {
    NX_CHECK(out->requires_grad, "tape_backward_from: output does not require grad");
    nx_prof_event(NX_PROF_BACKWARD_BEGIN);
    device_memcpy(out->device, tensor_grad(out), NX_CPU, grad_out_host, tensor_bytes(out));
    run_backward();
    nx_prof_event(NX_PROF_BACKWARD_END);
}

void tape_clear(void) { g_len = 0; }

void nx_step_reset(void) {
    nx_prof_event(NX_PROF_STEP);
    tape_clear();
    arenas_reset();
}
int tape_length(void) { return g_len; }

void tape_print(void) {
    printf("tape: %d entries\n", g_len);
    for (int i = 0; i < g_len; i++) {
        TapeEntry *e = &g_tape[i];
        printf("  %3d %-18s -> %-18s <-", i, op_name(e->op), tensor_shape_str(e->out));
        for (int k = 0; k < e->n_in; k++)
            if (e->in[k])
                printf(" %s%s%s", tensor_shape_str(e->in[k]), e->in[k]->name ? ":" : "", e->in[k]->name ? e->in[k]->name : "");
        printf("\n");
    }
}
