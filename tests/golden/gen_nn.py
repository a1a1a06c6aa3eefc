"""Golden data for the nn ops: batchnorm2d, maxpool2d, avgpool2d, global_avgpool, dropout.

One file per op; an op with several configurations stores each under a
prefix ("a.x", "a.y", ...), its hyperparameters in "<case>.cfg".
"""
import torch
import torch.nn.functional as F

from goldenio import begin, rand, subcase, write


def batchnorm2d(out):
    begin("batchnorm2d")
    t = {}
    # affine, momentum 0.1, eps 1e-5; x off-centre so the statistics matter
    for case, shape, affine, momentum, eps in (("a", (3, 3, 4, 4), True, 0.1, 1e-5),
                                               ("n", (2, 2, 3, 3), False, 0.3, 1e-3)):
        subcase("batchnorm2d", case)
        C = shape[1]
        x = (rand(*shape) * 2 + 0.5).requires_grad_()
        w = (rand(C, lo=0.5, hi=1.5)).requires_grad_() if affine else None
        b = rand(C).requires_grad_() if affine else None
        rm0, rv0 = rand(C), rand(C, lo=0.5, hi=1.5)
        rm, rv = rm0.clone(), rv0.clone()
        # training: batch statistics, running stats updated
        y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=momentum, eps=eps)
        dy = rand(*shape)
        y.backward(dy)
        t.update({case + ".cfg": torch.tensor([momentum, eps]), case + ".x": x, case + ".rm0": rm0,
                  case + ".rv0": rv0, case + ".y": y, case + ".dy": dy, case + ".dx": x.grad,
                  case + ".rm": rm, case + ".rv": rv})
        if affine:
            t.update({case + ".w": w, case + ".b": b, case + ".dw": w.grad, case + ".db": b.grad})
        # eval with the updated running stats: backward through the affine map only
        x.grad = None
        if affine:
            w.grad, b.grad = None, None
        ye = F.batch_norm(x, rm, rv, w, b, training=False, momentum=momentum, eps=eps)
        dye = rand(*shape)
        ye.backward(dye)
        t.update({case + ".y_eval": ye, case + ".dy_eval": dye, case + ".dx_eval": x.grad})
        if affine:
            t.update({case + ".dw_eval": w.grad, case + ".db_eval": b.grad})
    write(out, "batchnorm2d", t)


def pool(out, name, fn, cases):
    begin(name)
    t = {}
    for case, shape, k, s, p, ties in cases:
        subcase(name, case)
        x = rand(*shape)
        if ties:  # few distinct values: many ties, which the first maximum must win
            x = torch.round(x * 2) / 2
        x.requires_grad_()
        y = fn(x, k, s, p)
        dy = rand(*y.shape)
        y.backward(dy)
        t.update({case + ".cfg": torch.tensor([k, s, p], dtype=torch.int32), case + ".x": x, case + ".y": y,
                  case + ".dy": dy, case + ".dx": x.grad})
    write(out, name, t)


def global_avgpool(out):
    begin("global_avgpool")
    x = rand(2, 3, 5, 7).requires_grad_()
    y = F.adaptive_avg_pool2d(x, 1)
    dy = rand(*y.shape)
    y.backward(dy)
    write(out, "global_avgpool", {"x": x, "y": y, "dy": dy, "dx": x.grad})


def dropout(out):
    begin("dropout")
    p = 0.3
    # |x| in [0.5, 1.5): y / x is well defined
    x = (rand(2, 3, 4, 5, lo=0.5, hi=1.5) * torch.sign(rand(2, 3, 4, 5))).requires_grad_()
    y = F.dropout(x, p, training=False)
    dy = rand(*y.shape)
    y.backward(dy)
    # the value torch gives a kept 1 in training mode: its 1 / (1 - p)
    kept = F.dropout(torch.ones(1000), p, training=True)
    scale = kept[kept != 0]
    assert torch.all(scale == scale[0])
    write(out, "dropout", {"p": torch.tensor([p]), "x": x, "y_eval": y, "dy": dy, "dx_eval": x.grad,
                           "scale": scale[:1]})


def generate(out):
    batchnorm2d(out)
    pool(out, "maxpool2d", F.max_pool2d,
         (("a", (1, 2, 8, 8), 2, 2, 0, False),    # VGG / LeNet style
          ("b", (1, 2, 7, 7), 3, 2, 1, False),    # ResNet stem; corner windows see -inf padding
          ("c", (1, 2, 6, 6), 3, 1, 1, True),     # overlapping windows with ties
          ("d", (1, 1, 8, 8), 3, 3, 0, False)))   # floor mode drops the last rows/cols
    pool(out, "avgpool2d", F.avg_pool2d,
         (("a", (1, 2, 8, 8), 2, 2, 0, False),
          ("b", (1, 2, 7, 7), 3, 1, 1, False),    # zero padding counted in the divisor
          ("c", (1, 2, 7, 9), 3, 2, 1, False),
          ("d", (1, 1, 8, 8), 3, 3, 0, False)))
    global_avgpool(out)
    dropout(out)
