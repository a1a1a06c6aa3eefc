"""Golden data for the elementwise ops and reductions.

relu, sigmoid, tanh, abs, pow, log, exp, clamp, scale (unary); add, sub,
mul, div with every broadcast pattern (binary); sum and mean over several
dim sets, with and without keepdim. Each file holds the inputs, the output,
a random upstream gradient dy and the input gradients from torch autograd.
Files with several cases prefix each key with "p<i>_" (p0_x, p0_y, ...).

The binary and reduction cases also store the number of dims (p<i>_ndim,
p<i>_args; goldenio.write stores 0-dim tensors as ndim 0 since the seeding
change, as shape (1) before it) and the C side restores 0-dim from them.
"""
import torch
import torch.nn.functional as F

from goldenio import begin, rand, subcase, write


def rnd(shape, lo=-1.0, hi=1.0):
    """rand() for any shape, 0-dim () included."""
    return rand(*shape, lo=lo, hi=hi) if shape else rand(1, lo=lo, hi=hi).reshape(())


def unary(out, name, fn, make_x):
    """One case: x = make_x() -> fn(x), its gradient for a random dy."""
    begin(name)
    x = make_x().clone().requires_grad_()
    y = fn(x)
    dy = rnd(y.shape)
    y.backward(dy)
    write(out, name, {"x": x, "y": y, "dy": dy, "dx": x.grad})


def with_specials(shape, lo, hi, specials):
    """Uniform [lo, hi) of `shape` whose first values are `specials`."""
    x = rand(*shape, lo=lo, hi=hi).flatten()
    x[: len(specials)] = torch.tensor(specials, dtype=torch.float32)
    return x.reshape(shape)


# (a shape, b shape): every broadcast pattern of nx_add/sub/mul/div.
BINARY_PATTERNS = [
    ((2, 3, 2, 2), (2, 3, 2, 2)),  # equal shapes
    ((2, 1, 2, 2), (2, 3, 2, 2)),  # (N,1,H,W) with (N,C,H,W)
    ((2, 3, 2, 2), (2, 1, 2, 2)),
    ((1, 3, 1, 1), (2, 3, 2, 2)),  # per channel (1,C,1,1)
    ((2, 3, 2, 2), (1, 3, 1, 1)),
    ((3, 1, 1), (2, 3, 2, 2)),  # per channel (C,1,1), fewer dims
    ((2, 3, 2, 2), (3, 1, 1)),
    ((), (2, 3, 2, 2)),  # 0-dim scalar
    ((2, 3, 2, 2), ()),
    ((1,), (2, 3, 2, 2)),  # one-element scalars
    ((2, 3, 2, 2), (1, 1, 1, 1)),
    ((2, 1, 2, 1), (3, 1, 2)),  # both sides broadcast -> (2, 3, 2, 2)
    ((3, 1), (4,)),  # both sides, 2-d -> (3, 4)
    ((), ()),  # 0-dim with 0-dim
    ((3, 4), (3, 4)),  # equal, 2-d
]


def binary(out, name, fn, b_lo=-1.0, b_hi=1.0):
    begin(name)
    cases = {}
    for i, (sa, sb) in enumerate(BINARY_PATTERNS):
        subcase(name, i)
        a = rnd(sa).requires_grad_()
        b = rnd(sb, b_lo, b_hi).requires_grad_()
        y = fn(a, b)
        dy = rnd(y.shape)
        y.backward(dy)
        ndim = torch.tensor([a.dim(), b.dim(), y.dim()], dtype=torch.int32)
        cases.update({f"p{i}_a": a, f"p{i}_b": b, f"p{i}_y": y, f"p{i}_dy": dy, f"p{i}_da": a.grad, f"p{i}_db": b.grad,
                      f"p{i}_ndim": ndim})
    write(out, name, cases)


# (x shape, dims or None for all, keepdim): the reduction cases of nx_sum/nx_mean.
REDUCE_PATTERNS = [
    ((2, 3, 2, 3), None, False),  # all -> 0-dim
    ((2, 3, 2, 3), None, True),  # all, keepdim -> (1, 1, 1, 1)
    ((2, 3, 2, 3), (0,), False),
    ((2, 3, 2, 3), (0,), True),
    ((2, 3, 2, 3), (1,), False),
    ((2, 3, 2, 3), (1,), True),
    ((2, 3, 2, 3), (2, 3), False),
    ((2, 3, 2, 3), (2, 3), True),
    ((2, 3, 2, 3), (0, 2, 3), False),  # per-channel statistics
    ((2, 3, 2, 3), (1, 3), True),
    ((2, 3, 2, 3), (0, 1, 2, 3), False),  # every dim named -> 0-dim
    ((3, 4, 5), (1,), False),
    ((3, 4, 5), (0, 2), True),
    ((6, 5), (1,), False),
    ((7,), (0,), False),
    ((), None, False),  # 0-dim input
]


def reduce(out, name, fn):
    begin(name)
    cases = {}
    for i, (shape, dims, keepdim) in enumerate(REDUCE_PATTERNS):
        subcase(name, i)
        x = rnd(shape).requires_grad_()
        if dims is None:
            y = fn(x) if not keepdim else fn(x, dim=tuple(range(x.dim())), keepdim=True)
            mask = 0
        else:
            y = fn(x, dim=dims, keepdim=keepdim)
            mask = sum(1 << d for d in dims)
        dy = rnd(y.shape)
        y.backward(dy)
        args = torch.tensor([mask, int(keepdim), x.dim(), y.dim()], dtype=torch.int32)
        cases.update({f"p{i}_x": x, f"p{i}_args": args, f"p{i}_y": y, f"p{i}_dy": dy, f"p{i}_dx": x.grad})
    write(out, name, cases)


def generate(out):
    begin("relu")
    x = rand(2, 3, 4, 5).requires_grad_()
    y = torch.relu(x)
    dy = rnd(y.shape)
    y.backward(dy)
    write(out, "relu", {"x": x, "y": y, "dy": dy, "dx": x.grad})

    # sigmoid: large |x| included (torch's 1/(1+exp(-x)) is 0 below -88.7,
    # nicex's stable form a subnormal: the C side allows 1e-30 absolute).
    big = [0.0, 20.0, -20.0, 88.0, -88.0, -90.0, 100.0, -100.0, 1000.0, -1000.0]
    unary(out, "sigmoid", torch.sigmoid, lambda: with_specials((2, 3, 4, 5), -6, 6, big))
    unary(out, "tanh", torch.tanh, lambda: with_specials((2, 3, 4, 5), -3, 3, [0.0, 10.0, -10.0, 50.0, -50.0]))
    # abs: exact zeros (both signs) get gradient 0.
    unary(out, "abs", torch.abs, lambda: with_specials((2, 3, 4, 5), -2, 2, [0.0, -0.0, 1.0, -1.0]))
    unary(out, "log", torch.log, lambda: with_specials((2, 3, 4, 5), 0.05, 5, [1.0, 1e-6, 1e6]))
    unary(out, "exp", torch.exp, lambda: with_specials((2, 3, 4, 5), -5, 5, [0.0, 20.0, -20.0, -100.0]))

    # pow: torch's special-cased exponents and general ones, x = 0 where the
    # result is finite or a clean inf (negative x with non-integer p is NaN:
    # checked in C, since golden comparisons treat NaN as a mismatch).
    pow_cases = [
        (2.0, -2, 2, [0.0]), (3.0, -2, 2, [0.0]), (-2.0, 0.5, 2, []), (0.5, 0.5, 2, [0.0]),
        (-0.5, 0.5, 2, []), (-1.0, 0.5, 2, [-1.5, -0.5]), (1.5, 0.5, 2, [0.0]), (-1.3, 0.5, 2, []),
        (0.0, -1, 1, [0.0]), (1.0, -1, 1, [0.0]), (4.0, -2, 2, [0.0]), (2.5, 0.5, 2, []),
    ]
    begin("pow")
    cases = {}
    for i, (p, lo, hi, specials) in enumerate(pow_cases):
        subcase("pow", i)
        x = with_specials((4, 6), lo, hi, specials).requires_grad_()
        y = torch.pow(x, p)
        dy = rnd(y.shape)
        y.backward(dy)
        cases.update({f"p{i}_x": x, f"p{i}_p": torch.tensor([p]), f"p{i}_y": y, f"p{i}_dy": dy, f"p{i}_dx": x.grad})
    write(out, "pow", cases)

    # clamp: forward torch.clamp, gradient strict at the bounds as hardtanh;
    # x hits both bounds exactly.
    begin("clamp")
    cases = {}
    for i, (lo, hi) in enumerate([(-0.5, 0.5), (0.0, 1.0), (-2.0, -1.0)]):
        subcase("clamp", i)
        x = with_specials((4, 6), -2.5, 2.5, [lo, hi, lo, hi]).requires_grad_()
        y = F.hardtanh(x, lo, hi)
        assert torch.equal(y, torch.clamp(x, lo, hi))
        dy = rnd(y.shape)
        y.backward(dy)
        bounds = torch.tensor([lo, hi])
        cases.update({f"p{i}_x": x, f"p{i}_lohi": bounds, f"p{i}_y": y, f"p{i}_dy": dy, f"p{i}_dx": x.grad})
    write(out, "clamp", cases)

    begin("scale")
    cases = {}
    for i, (a, b) in enumerate([(2.5, -0.75), (-1.0, 0.0), (0.0, 3.0), (0.1, 1e-3)]):
        subcase("scale", i)
        x = rand(4, 6, lo=-3, hi=3).requires_grad_()
        y = a * x + b
        dy = rnd(y.shape)
        y.backward(dy)
        cases.update({f"p{i}_x": x, f"p{i}_ab": torch.tensor([a, b]), f"p{i}_y": y, f"p{i}_dy": dy, f"p{i}_dx": x.grad})
    write(out, "scale", cases)

    binary(out, "add", torch.add)
    binary(out, "sub", torch.sub)
    binary(out, "mul", torch.mul)
    binary(out, "div", torch.div, b_lo=0.5, b_hi=2.0)

    reduce(out, "sum", torch.sum)
    reduce(out, "mean", torch.mean)
