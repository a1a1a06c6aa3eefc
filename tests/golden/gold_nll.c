/* gold_nll.c: nll against PyTorch (tests/golden/gen_softmax.py): the
 * log-probabilities of ordinary logits, of logits around +-1000 and +-50 and
 * of a single class; loss and gradient (accumulated onto 1s) under a
 * non-unit upstream gradient. Then nll(log_softmax(x)) must equal
 * cross_entropy(x) (loss and gradient), and an out-of-range target (PyTorch's
 * ignore_index -100 included) must stop the program with a message naming
 * the op, the index and the value. */
#include "tests/testlib.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs nx_nll(logp, targets) in a child process; 0 when it dies of abort()
 * (nx_fatal) and its stderr contains each of want[0..n_want). */
static int expect_fatal(Tensor *logp, Tensor *targets, const char *const *want, int n_want) {
    int fd[2];
    ck_assert_msg(pipe(fd) == 0, "pipe failed");
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork failed");
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        nx_nll(logp, targets);
        _exit(0); /* survived: the parent reports it */
    }
    close(fd[1]);
    char msg[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof msg - 1 && (r = read(fd[0], msg + len, sizeof msg - 1 - len)) > 0) len += (size_t)r;
    msg[len] = 0;
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int bad = !(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    for (int i = 0; i < n_want; i++) bad += strstr(msg, want[i]) == NULL;
    if (bad) fprintf(stderr, "gold nll: bad target not reported as expected; stderr was: %s\n", msg);
    return bad;
}

/* nll(log_softmax(x, 1), t) against cross_entropy(x, t): loss and gradient. */
static int check_composition(void) {
    Tensor *x = test_uniform(2, (int[]){5, 6}, -4, 4);
    Tensor *t = tensor_newv(NX_CPU, NX_I32, 1, 5);
    const int32_t tv[5] = {5, 0, 3, 3, 1};
    memcpy(t->idata, tv, sizeof tv);
    x->requires_grad = true;
    Tensor *l1 = nx_nll(nx_log_softmax(x, 1), t);
    tape_backward(l1);
    tape_clear();
    float *g1 = nx_malloc(tensor_bytes(x));
    memcpy(g1, x->grad, tensor_bytes(x));
    x->grad = NULL;
    Tensor *l2 = nx_cross_entropy(x, t);
    tape_backward(l2);
    tape_clear();
    int bad = fabsf(l1->data[0] - l2->data[0]) > 1e-6f * fmaxf(1.0f, fabsf(l2->data[0]));
    for (int64_t i = 0; i < x->numel; i++) bad += fabsf(g1[i] - x->grad[i]) > 1e-6f;
    if (bad) fprintf(stderr, "gold nll: nll(log_softmax) %.8g differs from cross_entropy %.8g\n", l1->data[0],
                     l2->data[0]);
    free(g1);
    return bad;
}

int goldcase_nll(void) {
    Golden *g = golden_load("nll");
    int bad = 0;
    for (int i = 0; i < 3; i++) { /* the 3 cases of gen_softmax.py's LOSS_CASES */
        char kx[32], kt[32], kl[32], kdl[32], kdx[32];
        snprintf(kx, sizeof kx, "logp%d", i), snprintf(kt, sizeof kt, "targets%d", i);
        snprintf(kl, sizeof kl, "loss%d", i), snprintf(kdl, sizeof kdl, "dloss%d", i);
        snprintf(kdx, sizeof kdx, "dx%d", i);
        Tensor *logp = golden_get(g, kx);
        logp->requires_grad = true;
        Tensor *loss = nx_nll(logp, golden_get(g, kt));
        ck_assert_msg(loss->ndim == 0 && loss->numel == 1, "nll: loss is %s, not 0-dim", tensor_shape_str(loss));
        float *g0 = tensor_grad(logp); /* starts at 1: backward must ADD into it */
        for (int64_t j = 0; j < logp->numel; j++) g0[j] = 1.0f;
        tape_backward_from(loss, golden_get(g, kdl)->data);
        tape_clear();
        for (int64_t j = 0; j < logp->numel; j++) g0[j] -= 1.0f;
        int b = golden_compare(g, kl, loss, 1e-6, 1e-5) + golden_compare_grad(g, kdx, logp, 1e-6, 1e-5);
        if (b) fprintf(stderr, "gold nll: case %d (logp %s) fails\n", i, tensor_shape_str(logp));
        bad += b;
    }
    golden_free(g);
    bad += check_composition();

    /* targets[1] = -100 (PyTorch's ignore_index) is the first one out of range. */
    Tensor *logp = test_uniform(2, (int[]){3, 4}, -3, 0);
    Tensor *targets = tensor_newv(NX_CPU, NX_I32, 1, 3);
    const int32_t t[3] = {3, -100, 4};
    memcpy(targets->idata, t, sizeof t);
    bad += expect_fatal(logp, targets, (const char *const[]){"op nll", "targets[1] = -100"}, 2);
    return bad;
}
