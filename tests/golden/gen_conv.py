"""Golden data for conv2d and linear (torch.nn.functional.conv2d / linear).

conv2d_<case>.bin, one file per configuration, keys:
    cfg (int32: stride, pad, groups, has_bias), x, w, [b], y, dy, dx, dw, [db]
linear.bin: cases "a" (bias) and "n" (no bias), keys <case>.x, .w, [.b], .y,
    .dy, .dx, .dw, [.db]
"""
import torch
import torch.nn.functional as F

from goldenio import begin, rand, subcase, write

# name, x shape, (O, KH, KW), stride, pad, groups, bias
CONV_CASES = (
    ("basic", (2, 3, 7, 7), (4, 3, 3), 1, 1, 1, True),      # 3x3 pad 1, the common layer
    ("s2p1", (2, 2, 8, 8), (3, 3, 3), 2, 1, 1, False),      # stride 2, no bias
    ("k5", (2, 1, 6, 9), (2, 5, 5), 1, 2, 1, True),         # one input channel (LeNet-like), W != H
    ("1x1", (2, 4, 5, 5), (6, 1, 1), 1, 0, 1, True),        # pointwise
    ("dw", (2, 3, 6, 6), (3, 3, 3), 1, 1, 3, True),         # depthwise (groups == C == O)
    ("dws2", (1, 2, 7, 6), (2, 5, 5), 2, 2, 2, False),      # depthwise blur-like, stride 2
    ("g2", (2, 4, 6, 6), (6, 3, 3), 1, 0, 2, True),         # two groups
    ("batch", (9, 3, 4, 4), (5, 3, 3), 1, 0, 1, True),      # 2x2 outputs: images batched into one GEMM
    ("s3k4", (1, 2, 9, 9), (3, 4, 4), 3, 2, 1, True),       # stride 3, pad > k/2, ragged edges
)


def conv(out):
    for name, xs, (O, KH, KW), s, p, g, has_b in CONV_CASES:
        begin("conv2d_" + name)
        x = rand(*xs).requires_grad_()
        w = rand(O, xs[1] // g, KH, KW).requires_grad_()
        b = rand(O).requires_grad_() if has_b else None
        y = F.conv2d(x, w, b, stride=s, padding=p, groups=g)
        dy = rand(*y.shape)
        y.backward(dy)
        t = {"cfg": torch.tensor([s, p, g, int(has_b)], dtype=torch.int32), "x": x, "w": w}
        if has_b:
            t["b"] = b
        t.update({"y": y, "dy": dy, "dx": x.grad, "dw": w.grad})
        if has_b:
            t["db"] = b.grad
        write(out, "conv2d_" + name, t)


def linear(out):
    begin("linear")
    t = {}
    for case, n, i, o, has_b in (("a", 4, 5, 3, True), ("n", 3, 7, 2, False)):
        subcase("linear", case)
        x = rand(n, i).requires_grad_()
        w = rand(o, i).requires_grad_()
        b = rand(o).requires_grad_() if has_b else None
        y = F.linear(x, w, b)
        dy = rand(*y.shape)
        y.backward(dy)
        t.update({case + ".x": x, case + ".w": w, case + ".y": y, case + ".dy": dy, case + ".dx": x.grad,
                  case + ".dw": w.grad})
        if has_b:
            t.update({case + ".b": b, case + ".db": b.grad})
    write(out, "linear", t)


def generate(out):
    conv(out)
    linear(out)
