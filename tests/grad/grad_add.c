/* grad_add.c: gradient-check case of add, and the broadcast checks shared by
 * the four binary ops (grad_sub.c, grad_mul.c and grad_div.c call
 * ew_binary_gradcheck and ew_expect_fatal, defined here).
 *
 * Every broadcast pattern on both sides: equal shapes, (N,1,H,W) with
 * (N,C,H,W), (1,C,1,1), (C,1,1), 0-dim and one-element scalars, both inputs
 * broadcast at once; then only one input requiring a gradient, the same
 * tensor on both sides, and the error for shapes that do not broadcast.
 */
#include "tests/testlib.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef Tensor *(*BinaryFn)(Tensor *, Tensor *);

int ew_binary_gradcheck(const char *name, BinaryFn op, float b_lo, float b_hi);
int ew_expect_fatal(const char *label, void (*fn)(void *), void *arg, const char *want);

/* arg points to the op (a BinaryFn). */
static Tensor *f_binary(Tensor **in, void *arg) { return (*(BinaryFn *)arg)(in[0], in[1]); }
static Tensor *f_self(Tensor **in, void *arg) { return (*(BinaryFn *)arg)(in[0], in[0]); }

static void f_mismatch(void *arg) {
    (*(BinaryFn *)arg)(tensor_newv(NX_CPU, NX_F32, 2, 2, 3), tensor_newv(NX_CPU, NX_F32, 1, 4));
}

typedef struct {
    int na, sa[4], nb, sb[4], ny, sy[4]; /* a, b and the broadcast output */
} Pattern;

#define NCHW 4, {2, 3, 3, 4}
static const Pattern patterns[] = {
    {NCHW, NCHW, NCHW},                     /* equal shapes */
    {4, {2, 1, 3, 4}, NCHW, NCHW},          /* (N,1,H,W) with (N,C,H,W) */
    {NCHW, 4, {2, 1, 3, 4}, NCHW},
    {4, {1, 3, 1, 1}, NCHW, NCHW},          /* per channel (1,C,1,1) */
    {NCHW, 4, {1, 3, 1, 1}, NCHW},
    {3, {3, 1, 1}, NCHW, NCHW},             /* per channel (C,1,1) */
    {NCHW, 3, {3, 1, 1}, NCHW},
    {0, {0}, NCHW, NCHW},                   /* 0-dim scalar */
    {NCHW, 0, {0}, NCHW},
    {1, {1}, NCHW, NCHW},                   /* one-element scalars */
    {NCHW, 4, {1, 1, 1, 1}, NCHW},
    {4, {2, 1, 3, 1}, 3, {3, 1, 4}, NCHW},  /* both sides broadcast */
    {2, {3, 1}, 1, {4}, 2, {3, 4}},         /* both sides, 2-d */
    {0, {0}, 0, {0}, 0, {0}},               /* 0-dim with 0-dim */
    {2, {3, 4}, 2, {3, 4}, 2, {3, 4}},
};

int ew_binary_gradcheck(const char *name, BinaryFn op, float b_lo, float b_hi) {
    int bad = 0;
    char label[96];
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        const Pattern *p = &patterns[i];
        Tensor *in[2] = {test_uniform(p->na, p->sa, -1, 1), test_uniform(p->nb, p->sb, b_lo, b_hi)};
        in[0]->requires_grad = in[1]->requires_grad = true;
        snprintf(label, sizeof label, "%s %s %s", name, tensor_shape_str(in[0]), tensor_shape_str(in[1]));
        bad += gradcheck(label, f_binary, in, 2, &op, 1e-3, 1e-3);
        /* The broadcast output's shape. */
        bool prev = nx_no_grad();
        Tensor *y = op(in[0], in[1]);
        nx_set_grad(prev);
        Tensor *want = tensor_new(NX_CPU, NX_F32, p->ny, p->sy);
        if (!tensor_same_shape(y, want)) {
            fprintf(stderr, "%s: output %s, expected %s\n", label, tensor_shape_str(y), tensor_shape_str(want));
            bad++;
        }
    }
    /* Only one side requires a gradient: the other gets none. */
    for (int side = 0; side < 2; side++) {
        Tensor *in[2] = {test_uniform4(2, 1, 3, 4, -1, 1), test_uniform4(1, 3, 1, 4, b_lo, b_hi)};
        in[side]->requires_grad = true;
        snprintf(label, sizeof label, "%s, only input %d requires grad", name, side);
        bad += gradcheck(label, f_binary, in, 2, &op, 1e-3, 1e-3);
        if (in[1 - side]->grad) {
            fprintf(stderr, "%s: the other input got a gradient\n", label);
            bad++;
        }
    }
    /* The same tensor on both sides: both gradients add into one buffer. */
    Tensor *x = test_uniform4(2, 3, 2, 2, b_lo, b_hi);
    x->requires_grad = true;
    snprintf(label, sizeof label, "%s(x, x)", name);
    bad += gradcheck(label, f_self, &x, 1, &op, 1e-3, 1e-3);

    /* Shapes that do not broadcast stop with the op's name and both shapes. */
    char want[128];
    snprintf(want, sizeof want, "op %s: shapes (2, 3) and (4) do not broadcast", name);
    bad += ew_expect_fatal(name, f_mismatch, &op, want);
    return bad;
}

/* Runs fn(arg) in a child process and expects it to die (nx_fatal aborts)
 * with `want` in its stderr. Returns 0 or 1. */

int ew_expect_fatal(const char *label, void (*fn)(void *), void *arg, const char *want) {
    int fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        _exit(0); /* not reached when the op fails as it should */
    }
    close(fds[1]);
    char buf[2048];
    size_t len = 0;
    ssize_t k;
    while ((k = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)k;
    buf[len] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    bool died = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    if (!died || !strstr(buf, want)) {
        fprintf(stderr, "%s: expected a fatal error containing \"%s\"; child %s, stderr: %s\n", label, want,
                died ? "died" : "exited 0", buf);
        return 1;
    }
    return 0;
}

int gradcase_add(void) { return ew_binary_gradcheck("add", nx_add, -1, 1); }
