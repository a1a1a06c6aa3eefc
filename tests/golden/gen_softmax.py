"""Golden data for softmax, log_softmax, cross_entropy and nll.

Every file holds several cases, numbered: inputs x<i> (or logits<i>, logp<i>,
targets<i>), the output y<i> (or loss<i>), the upstream gradient dy<i> (or
dloss<i>) and the input gradient dx<i>. One case per op has rows of logits
around +1000, -1000, +50 and -50 (spread 3 within a row): exp(1000) overflows
even double and exp(-1000) underflows it, so only a max-subtracting
(log-sum-exp) implementation gets those right.
"""
import torch
import torch.nn.functional as F

from goldenio import begin, rand, subcase, write

LARGE = "large"  # scale marker: rows offset by +-1000 and +-50


def make_input(shape, scale):
    if scale == LARGE:  # (4, C): row n is offset by OFFSETS[n]
        offsets = torch.tensor([1000.0, -1000.0, 50.0, -50.0])
        return rand(*shape) * 3 + offsets[:shape[0], None]
    return rand(*shape) * scale


# (shape, dim, scale): the 4-d cases cover dim 1, the last dim (as -1) and
# dim 0; then large magnitudes (stability), a 1-d and a 3-d middle dim.
SOFTMAX_CASES = [
    ((2, 3, 2, 4), 1, 2.0),
    ((2, 3, 2, 4), -1, 2.0),
    ((2, 3, 2, 4), 0, 2.0),
    ((4, 7), 1, LARGE),
    ((6,), 0, 3.0),
    ((2, 5, 3), -2, 3.0),
]


def softmax_file(out, name, fn):
    begin(name)
    data = {"dims": torch.tensor([c[1] for c in SOFTMAX_CASES], dtype=torch.int32)}
    for i, (shape, dim, scale) in enumerate(SOFTMAX_CASES):
        subcase(name, i)
        x = make_input(shape, scale).requires_grad_()
        y = fn(x, dim)
        dy = rand(*shape)
        y.backward(dy)
        data.update({"x%d" % i: x, "y%d" % i: y, "dy%d" % i: dy, "dx%d" % i: x.grad})
    write(out, name, data)


# (N, C, scale): ordinary, large magnitudes (stability), one class.
LOSS_CASES = [(6, 5, 3.0), (4, 7, LARGE), (1, 1, 1.0)]


def loss_file(out, name, key, fn, make_input):
    begin(name)
    data = {}
    for i, (n, c, scale) in enumerate(LOSS_CASES):
        subcase(name, i)
        x = make_input(n, c, scale).requires_grad_()
        t = torch.randint(0, c, (n,))
        loss = fn(x, t)
        dloss = torch.tensor(0.5) + torch.rand(())  # a non-unit upstream gradient
        loss.backward(dloss)
        data.update({"%s%d" % (key, i): x, "targets%d" % i: t, "loss%d" % i: loss,
                     "dloss%d" % i: dloss, "dx%d" % i: x.grad})
    write(out, name, data)


def generate(out):
    softmax_file(out, "softmax", torch.softmax)
    softmax_file(out, "log_softmax", torch.log_softmax)
    loss_file(out, "cross_entropy", "logits", F.cross_entropy, lambda n, c, s: make_input((n, c), s))
    # nll: log-probabilities of random (and large) logits, as a classifier gives
    loss_file(out, "nll", "logp", F.nll_loss, lambda n, c, s: torch.log_softmax(make_input((n, c), s), 1))
