"""Golden data for the resampling and shape ops: upsample_nearest,
upsample_bilinear, pixel_shuffle, concat, reshape (and flatten).

One file per op; each case stores x_<case>, y_<case>, dy_<case> (a random
upstream gradient) and dx_<case> (x's gradient after y.backward(dy)). The C
side (tests/golden/gold_<op>.c) lists the same cases with their arguments.
"""
import torch
import torch.nn.functional as F

from goldenio import begin, rand, subcase, write


def _case(store, name, fn, *make_xs):
    """Run fn on fresh leaves x = make_x() for each of make_xs, backprop a random dy, store it all.
    store["file"] names the file: the case is seeded by (file, name)."""
    subcase(store["file"], name)
    leaves = [make_x().requires_grad_() for make_x in make_xs]
    y = fn(*leaves)
    dy = rand(*y.shape)
    y.backward(dy)
    if len(leaves) == 1:
        store["x_" + name], store["dx_" + name] = leaves[0], leaves[0].grad
    else:
        for k, leaf in enumerate(leaves):
            store["x%d_%s" % (k, name)], store["dx%d_%s" % (k, name)] = leaf, leaf.grad
    store["y_" + name], store["dy_" + name] = y, dy


def _start(name):
    begin(name)
    return {"file": name}


def _finish(out, store):
    name = store.pop("file")
    write(out, name, store)


def generate(out):
    s = _start("upsample_nearest")
    for name, shape, f in [("f2", (2, 2, 3, 4), 2), ("f3", (1, 1, 2, 3), 3), ("f4", (1, 2, 2, 3), 4)]:
        _case(s, name, lambda x, f=f: F.interpolate(x, scale_factor=f, mode="nearest"), lambda shape=shape: rand(*shape))
    _finish(out, s)

    # name, input shape, output size; each with align_corners False (ac0) and True (ac1)
    s = _start("upsample_bilinear")
    for name, shape, size in [
        ("up", (1, 1, 5, 7), (12, 9)),     # non-integer upsampling
        ("down", (1, 1, 12, 9), (5, 7)),   # non-integer downsampling
        ("x2", (1, 2, 3, 4), (6, 8)),      # exactly 2x, two planes
        ("mixed", (1, 1, 5, 7), (3, 14)),  # down along H, up along W
        ("one", (1, 1, 3, 4), (1, 4)),     # size-1 output along H, W unchanged
    ]:
        for ac in (False, True):
            _case(s, "%s_ac%d" % (name, ac),
                  lambda x, size=size, ac=ac: F.interpolate(x, size=size, mode="bilinear", align_corners=ac),
                  lambda shape=shape: rand(*shape))
    _finish(out, s)

    s = _start("pixel_shuffle")
    for name, shape, r in [("r2", (2, 8, 2, 3), 2), ("r3", (1, 18, 2, 2), 3)]:
        _case(s, name, lambda x, r=r: F.pixel_shuffle(x, r), lambda shape=shape: rand(*shape))
    _finish(out, s)

    s = _start("concat")
    _case(s, "nchw", lambda a, b, c: torch.cat([a, b, c], dim=1),
          lambda: rand(2, 1, 3, 4), lambda: rand(2, 3, 3, 4), lambda: rand(2, 2, 3, 4))
    _case(s, "nc", lambda a, b: torch.cat([a, b], dim=1), lambda: rand(3, 2), lambda: rand(3, 5))
    _finish(out, s)

    s = _start("reshape")
    _case(s, "infer", lambda x: torch.reshape(x, (4, -1, 3)), lambda: rand(2, 3, 4))
    _case(s, "flatten", lambda x: torch.flatten(x, 1), lambda: rand(2, 3, 2, 2))
    _finish(out, s)
