"""Golden data for optim/: torch.optim steps and lr_scheduler values.

Each optim_<case>.bin holds, per parameter NAME, NAME.p0 (initial value) and,
for k = 1..3, NAME.g<k> (the gradient given before step k) and NAME.p<k>
(the value after step k). The hyperparameters are repeated in
tests/suite_optim.c (kept as doubles there, as here).
"""
import torch

from goldenio import begin, rand, write

STEPS = 3


def run(out, name, shapes, make_opt, frozen_at=None):
    """shapes: {param name: shape}; frozen_at: {param name: steps where it is frozen}."""
    begin("optim_" + name)
    params = {k: rand(*s).requires_grad_() for k, s in shapes.items()}
    data = {k + ".p0": p.detach().clone() for k, p in params.items()}
    opt = make_opt(params)
    for step in range(1, STEPS + 1):
        for k, p in params.items():
            g = rand(*p.shape)
            data["%s.g%d" % (k, step)] = g
            frozen = frozen_at is not None and step in frozen_at.get(k, ())
            p.requires_grad_(not frozen)
            p.grad = None if frozen else g.clone()  # a frozen param has no grad: torch skips it
        opt.step()
        for k, p in params.items():
            data["%s.p%d" % (k, step)] = p.detach().clone()
    write(out, "optim_" + name, data)


TWO = {"fc.weight": (3, 4), "fc.bias": (5,)}


def generate(out):
    O = torch.optim
    run(out, "sgd", TWO, lambda p: O.SGD(p.values(), lr=0.1))
    run(out, "sgd_momentum_wd", TWO, lambda p: O.SGD(p.values(), lr=0.05, momentum=0.9, weight_decay=1e-2))
    run(out, "sgd_nesterov", TWO, lambda p: O.SGD(p.values(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3))
    run(out, "sgd_dampening", TWO, lambda p: O.SGD(p.values(), lr=0.05, momentum=0.8, dampening=0.3))
    run(out, "adam", TWO, lambda p: O.Adam(p.values(), lr=1e-2))
    run(out, "adam_wd", TWO, lambda p: O.Adam(p.values(), lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1))
    run(out, "adamw", TWO, lambda p: O.AdamW(p.values(), lr=1e-2))
    # fc.bias frozen for step 1: its Adam step count starts one step later
    run(out, "adam_late", TWO, lambda p: O.Adam(p.values(), lr=1e-2), frozen_at={"fc.bias": (1,)})

    # Groups: "head, body.1" at lr 0.01 without weight decay; frozen.weight never trains.
    shapes = {"body.0.weight": (4, 3), "body.0.bias": (4,), "frozen.weight": (2, 3),
              "head.weight": (2, 4), "body.1.weight": (3,), "head.bias": (2,)}

    def groups(p):
        head = [p["head.weight"], p["body.1.weight"], p["head.bias"]]
        rest = [v for k, v in p.items() if all(v is not h for h in head)]
        return O.SGD([{"params": rest}, {"params": head, "lr": 0.01, "weight_decay": 0}],
                     lr=0.1, momentum=0.9, weight_decay=1e-3)
    run(out, "groups", shapes, groups, frozen_at={"frozen.weight": (1, 2, 3)})

    def adamw_groups(p):
        return O.AdamW([{"params": [p["fc.weight"]]}, {"params": [p["fc.bias"]], "lr": 3e-3, "weight_decay": 0.5}],
                       lr=1e-2, weight_decay=0.05)
    run(out, "adamw_groups", TWO, adamw_groups)

    # Schedules: two groups (lr 0.1 and 0.05), lr before each of 12 epochs.
    begin("optim_schedules")
    sched = {}
    for key, make in [("step", lambda o: O.lr_scheduler.StepLR(o, step_size=5, gamma=0.1)),
                      ("cosine", lambda o: O.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3))]:
        opt = O.SGD([{"params": [torch.zeros(1)]}, {"params": [torch.zeros(1)], "lr": 0.05}], lr=0.1)
        s = make(opt)
        lrs = []
        for epoch in range(12):
            lrs.append([g["lr"] for g in opt.param_groups])
            opt.step()
            s.step()
        sched[key] = torch.tensor(lrs, dtype=torch.float64).t().contiguous()  # (groups, epochs)
    write(out, "optim_schedules", sched)
