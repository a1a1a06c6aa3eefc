/* gold_cross_entropy.c: cross_entropy against PyTorch
 * (tests/golden/gen_softmax.py): an ordinary case, rows of logits around
 * +-1000 and +-50 (only a log-sum-exp implementation survives them) and a
 * single class; loss and logits gradient (accumulated onto 1s) under a
 * non-unit upstream gradient. Then an out-of-range target must stop the
 * program with a message naming the op, the index and the value. */
#include "tests/testlib.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs nx_cross_entropy(logits, targets) in a child process; 0 when it dies
 * of abort() (nx_fatal) and its stderr contains each of want[0..n_want). */
static int expect_fatal(Tensor *logits, Tensor *targets, const char *const *want, int n_want) {
    int fd[2];
    ck_assert_msg(pipe(fd) == 0, "pipe failed");
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork failed");
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        nx_cross_entropy(logits, targets);
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
    if (bad) fprintf(stderr, "gold cross_entropy: bad target not reported as expected; stderr was: %s\n", msg);
    return bad;
}

int goldcase_cross_entropy(void) {
    Golden *g = golden_load("cross_entropy");
    int bad = 0;
    for (int i = 0; i < 3; i++) { /* the 3 cases of gen_softmax.py's LOSS_CASES */
        char kx[32], kt[32], kl[32], kdl[32], kdx[32];
        snprintf(kx, sizeof kx, "logits%d", i), snprintf(kt, sizeof kt, "targets%d", i);
        snprintf(kl, sizeof kl, "loss%d", i), snprintf(kdl, sizeof kdl, "dloss%d", i);
        snprintf(kdx, sizeof kdx, "dx%d", i);
        Tensor *logits = golden_get(g, kx);
        logits->requires_grad = true;
        Tensor *loss = nx_cross_entropy(logits, golden_get(g, kt));
        ck_assert_msg(loss->ndim == 0 && loss->numel == 1, "cross_entropy: loss is %s, not 0-dim",
                      tensor_shape_str(loss));
        float *g0 = tensor_grad(logits); /* starts at 1: backward must ADD into it */
        for (int64_t j = 0; j < logits->numel; j++) g0[j] = 1.0f;
        tape_backward_from(loss, golden_get(g, kdl)->data);
        tape_clear();
        for (int64_t j = 0; j < logits->numel; j++) g0[j] -= 1.0f;
        int b = golden_compare(g, kl, loss, 1e-6, 1e-5) + golden_compare_grad(g, kdx, logits, 1e-6, 1e-5);
        if (b) fprintf(stderr, "gold cross_entropy: case %d (logits %s) fails\n", i, tensor_shape_str(logits));
        bad += b;
    }
    golden_free(g);

    /* targets[2] = 5 == C is the first one out of range (targets[3] is too). */
    Tensor *logits = test_uniform(2, (int[]){4, 5}, -1, 1);
    Tensor *targets = tensor_newv(NX_CPU, NX_I32, 1, 4);
    const int32_t t[4] = {0, 4, 5, -100};
    memcpy(targets->idata, t, sizeof t);
    bad += expect_fatal(logits, targets, (const char *const[]){"cross_entropy", "targets[2] = 5"}, 2);
    return bad;
}
