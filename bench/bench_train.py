"""bench_train.py: one epoch of LeNet5 on Fashion-MNIST, nicex against PyTorch CPU (PyPI's, Debian's), and
where nicex's epoch spends its time.

    OMP_NUM_THREADS=2 .venv-bench/bin/python bench/bench_train.py --nicex bin/nicex --bench-ops build/bench_ops \\
        --torch pypi=.venv-bench/bin/python,debian=/usr/bin/python3 --out bench/results/train-cpu.md

(`make bench-train`, TORCH=pypi|debian|both.) The NICE authors' recipe:
Adam, lr 1e-3, batch 100, shuffled, no augmentation, pixels in [0, 1]. Every
side runs with the same number of threads (OMP_NUM_THREADS, default: all
cores); each PyTorch epoch runs in a fresh process of its own interpreter
(this file with --worker). Time per epoch is the training loop only (no test
pass); accuracy is on the 10,000 test images after the epoch. With --rounds
R the sides alternate R times and the table gives the median.

Then nicex trains the same epoch once more with NX_PROFILE=1
(autograd/profile.h): the per-kernel and per-phase wall times of that run
give the profile table (conv, GEMM, pooling, elementwise, loss, optimizer,
tape and op overhead, data and loop).

peak = the best SGEMM GFLOP/s measured in this run (bench_ops.py's gemm
shapes: nicex, an MKL build of torch.mm, numpy's OpenBLAS); each row gives its
effective GFLOP/s (the epoch's multiply-adds x 2 / seconds) and its fraction
of the peak. Writes a markdown file atomically.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ops  # noqa: E402
import machine  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"
PEAK_SHAPES = ("sgemm.1024", "sgemm.2048")


def lenet5_train_flops_per_image():
    """Multiply-adds x 2 of one training image: forward, dW, and dX except conv1's (the input needs none)."""
    conv1 = 2 * 20 * 1 * 25 * 24 * 24
    conv2 = 2 * 50 * 20 * 25 * 8 * 8
    fc1, fc2 = 2 * 800 * 500, 2 * 500 * 10
    fwd = conv1 + conv2 + fc1 + fc2
    return 3 * fwd - conv1


# ---- the worker: one PyTorch epoch in the interpreter being measured ----

def load_idx(np, path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    sys.exit("bench_train: %s not found in %s" % (stem, d))


def worker(data_dir, threads, limit):
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 20, 5)
            self.conv2 = nn.Conv2d(20, 50, 5)
            self.fc1 = nn.Linear(800, 500)
            self.fc2 = nn.Linear(500, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc2(F.relu(self.fc1(x.flatten(1))))

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tr_x, tr_y = load_idx(np, find(data_dir, "train-images-idx3-ubyte")), load_idx(np, find(data_dir, "train-labels-idx1-ubyte"))
    if limit:
        tr_x, tr_y = tr_x[:limit], tr_y[:limit]
    xtr = torch.tensor(tr_x, dtype=torch.float32).div_(255).unsqueeze(1)
    ytr = torch.tensor(tr_y.astype(np.int64))
    xte = torch.tensor(load_idx(np, find(data_dir, "t10k-images-idx3-ubyte")), dtype=torch.float32).div_(255).unsqueeze(1)
    yte = torch.tensor(load_idx(np, find(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64))
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=100, shuffle=True)
    t0 = time.perf_counter()
    model.train()
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(json.dumps({"seconds": seconds, "test_accuracy": acc, "images": len(xtr), "info": machine.torch_info()}))


def torch_epoch(python, data_dir, threads, limit):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", "--data", data_dir, "--threads", str(threads),
                          "--limit", str(limit)], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def nicex_epoch(nicex, threads, data_spec, limit, profile):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop("NX_PROFILE", None)
    if profile:
        env["NX_PROFILE"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([nicex, "train", "--model", "lenet5", "--data", data_spec, "--epochs", "1", "--opt", "adam",
                            "--lr", "1e-3", "--batch", "100", "--seed", "0", "--limit", str(limit), "--json", "--out",
                            os.path.join(tmp, "m.safetensors")], env=env, check=True, capture_output=True, text=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if profile:
        r["profile"] = parse_profile(p.stderr)
    return r


# ---- the profile (autograd/profile.c's lines) ----

def parse_profile(stderr):
    phases, kernels = {}, []
    for line in stderr.replace("\r", "\n").splitlines():
        f = line.split()
        if len(f) < 3 or f[0] != "profile" or f[2] == "name":
            continue
        if f[1] == "phase" and f[3] != "-":
            phases[f[2]] = {"steps": int(f[3]), "wall": float(f[4]), "kernel": float(f[5]), "other": float(f[6])}
        elif f[1] == "kernel":
            kernels.append({"name": f[2], "grad": f[3] == "on", "calls": int(f[4]), "ms": float(f[5])})
    if not phases:
        sys.exit("bench_train: nicex printed no profile with NX_PROFILE=1 (built before autograd/profile.c?)")
    return {"phases": phases, "kernels": kernels}


CATEGORIES = (  # (label, kernel name prefixes)
    ("conv (conv2d forward + backward)", ("conv2d_",)),
    ("GEMM (linear forward + backward)", ("linear_", "sgemm")),
    ("pooling", ("maxpool2d_", "avgpool2d_", "global_avgpool_")),
    ("elementwise (relu, reshape copy, ...)", ("relu_", "reshape_", "add_", "sub_", "mul_", "div_", "scale_",
                                               "sigmoid_", "tanh_", "exp_", "log_", "pow_", "abs_", "clamp_")),
    ("loss (cross-entropy)", ("cross_entropy_", "log_softmax_", "softmax_", "nll_")),
    ("optimizer (adam_step)", ("adam_step", "sgd_step")),
)


def profile_tables(prof, epoch_seconds):
    ph = prof["phases"]
    train = [k for k in prof["kernels"] if k["grad"]]
    total = sum(ph[p]["wall"] for p in ("forward", "backward", "after") if p in ph)
    rows, used = [], set()
    for label, prefixes in CATEGORIES:
        ks = [k for k in train if k["name"].startswith(prefixes)]
        used.update(id(k) for k in ks)
        rows.append((label, sum(k["ms"] for k in ks)))
    rest = [k for k in train if id(k) not in used]
    if rest:
        rows.append(("other kernels (%s)" % ", ".join(k["name"] for k in rest), sum(k["ms"] for k in rest)))
    overhead = ph.get("forward", {}).get("other", 0) + ph.get("backward", {}).get("other", 0)
    rows.append(("tape and op overhead (forward + backward outside kernels: tape, op glue, arena, grad zeroing,"
                 " batch to tensor)", overhead))
    rows.append(("data and loop (after backward, outside kernels: next batch from the loader, loss and accuracy"
                 " bookkeeping, progress)", ph.get("after", {}).get("other", 0)))
    steps = ph.get("backward", {}).get("steps", 0)
    lines = [
        "| where | ms | share of the training steps |",
        "|---|---:|---:|",
    ]
    for label, ms in rows:
        lines.append("| %s | %.1f | %.1f%% |" % (label, ms, 100 * ms / total if total else 0))
    lines.append("| **training steps, total** (%d steps; the epoch's own clock: %.1f ms) | %.1f | 100%% |"
                 % (steps, 1e3 * epoch_seconds, total))
    if "no-grad" in ph:
        lines.append("| (not in the epoch's time: evaluation on the test set and saving, %d no-grad steps) | %.1f | - |"
                     % (ph["no-grad"]["steps"], ph["no-grad"]["wall"]))
    lines += ["", "| phase | wall ms | in kernels ms | outside kernels ms |", "|---|---:|---:|---:|"]
    for p in ("forward", "backward", "after", "no-grad"):
        if p in ph:
            lines.append("| %s | %.1f | %.1f | %.1f |" % (p, ph[p]["wall"], ph[p]["kernel"], ph[p]["other"]))
    lines += ["", "| kernel (grad mode on: the training steps) | calls | total ms | ms / call | share |",
              "|---|---:|---:|---:|---:|"]
    for k in sorted(train, key=lambda k: -k["ms"]):
        lines.append("| %s | %d | %.1f | %.3f | %.1f%% |" % (k["name"], k["calls"], k["ms"], k["ms"] / k["calls"],
                                                           100 * k["ms"] / total if total else 0))
    return lines


def measure_peak(exe, workers_spec, threads, reps):
    """Best SGEMM GFLOP/s of nicex, MKL torch.mm and numpy's OpenBLAS on PEAK_SHAPES (a torch without MKL,
    Debian's, is not timed: it cannot be the best)."""
    shapes = [s for s in bench_ops.nicex_shapes(exe) if s["name"] in PEAK_SHAPES]
    cands = [(s["flops"] / 1e6 / bench_ops.nicex_time(exe, s["name"], reps, "wall")["ms"], "nicex " + s["name"])
             for s in shapes]
    for label, python in workers_spec:
        w = bench_ops.Worker(label, python, threads, "wall")
        blas = (w.info.get("numpy_blas") or "").lower()
        fast_blas = "openblas" in blas or "mkl" in blas
        for s in shapes if w.info["mkl"] or fast_blas else ():
            gf = s["flops"] / 1e6
            r = w.time(s, reps, fast_blas)
            if w.info["mkl"]:
                cands.append((gf / r["torch_ms"], "torch.mm (MKL, %s %s) %s" % (label, w.info["torch"], s["name"])))
            if "numpy_ms" in r:
                cands.append((gf / r["numpy_ms"], "numpy.matmul (%s) %s" % (w.info["numpy_blas"], s["name"])))
        w.close()
    return max(cands)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nicex", default="bin/nicex")
    ap.add_argument("--bench-ops", default="build/bench_ops", help="the C SGEMM benchmark, for the measured peak")
    ap.add_argument("--out", default="bench/results/train-cpu.md")
    ap.add_argument("--data", default=FMNIST)
    ap.add_argument("--torch", default="pypi=.venv-bench/bin/python,debian=/usr/bin/python3",
                    help="LABEL=PYTHON,... : the interpreters whose PyTorch is measured, one row each")
    ap.add_argument("--rounds", type=int, default=1, help="alternating nicex / PyTorch epochs (median)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N training images (0: all; for trials)")
    ap.add_argument("--cmd", default=None, help="the command that ran this one (e.g. make bench-ops TORCH=both), recorded with it")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.data, args.threads, args.limit)

    threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
    sides = []
    for item in args.torch.split(","):
        label, _, python = item.partition("=")
        if not python:
            sys.exit("bench_train: --torch %s: expected LABEL=PYTHON" % item)
        sides.append((label, python))
    spec = "fashion-mnist" if args.data == FMNIST else "fashion-mnist:" + args.data
    load_start = os.getloadavg()
    peak, peak_who = measure_peak(args.bench_ops, sides, threads, 5)
    nx, th = [], {label: [] for label, _ in sides}
    for r in range(args.rounds):
        nx.append(nicex_epoch(args.nicex, threads, spec, args.limit, False))
        print("round %d nicex %.2f s" % (r + 1, nx[-1]["seconds"]), file=sys.stderr, flush=True)
        for label, python in sides:
            th[label].append(torch_epoch(python, args.data, threads, args.limit))
            print("round %d torch %s %.2f s" % (r + 1, label, th[label][-1]["seconds"]), file=sys.stderr, flush=True)
    prof = nicex_epoch(args.nicex, threads, spec, args.limit, True)
    print("profiled nicex epoch %.2f s" % prof["seconds"], file=sys.stderr, flush=True)
    load_end = os.getloadavg()

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    images = th[sides[0][0]][0]["images"]
    flops = lenet5_train_flops_per_image() * images
    n_sec = med(nx, "seconds")
    cmd = "OMP_NUM_THREADS=%d %s %s" % (threads, os.path.relpath(sys.executable), " ".join(sys.argv))
    cmd = "`%s`, which runs `%s`" % (args.cmd, cmd) if args.cmd else "`%s`" % cmd
    lines = ["# LeNet5, one epoch of Fashion-MNIST on the CPU: nicex vs PyTorch", ""]
    lines += machine.machine_lines(threads)
    lines += [machine.torch_line(label, python, th[label][0]["info"]) for label, python in sides]
    lines += [
        "- nicex: %s at git %s" % (args.nicex, machine.git_rev()),
        "- command: %s" % cmd,
        "- **peak: %.1f GFLOP/s**, the best SGEMM measured in this run (%s)" % (peak, peak_who),
        "- load average (1, 5, 15 min) at the start %.2f %.2f %.2f, at the end %.2f %.2f %.2f" % (load_start + load_end),
        "- recipe of the NICE authors: Adam lr 1e-3, batch 100, %d training images, shuffled; time is the training"
        " loop of one epoch (median of %d rounds alternating the sides); accuracy on the 10,000 test images after it."
        " Effective GFLOP/s = %.1f GFLOP (2 x the multiply-adds of forward, dW and dX but conv1's dX) / seconds."
        % (images, args.rounds, flops / 1e9),
        "",
        "| | seconds / epoch | images / s | effective GFLOP/s (fraction of peak) | test accuracy | nicex's speed"
        " (its time / nicex's) |",
        "|---|---:|---:|---:|---:|---:|",
        "| nicex | %.2f | %.0f | %.1f (%.0f%%) | %.2f%% | 1.00 |" % (n_sec, images / n_sec, flops / 1e9 / n_sec,
                                                                  100 * flops / 1e9 / n_sec / peak,
                                                                  100 * med(nx, "test_accuracy")),
    ]
    for label, _ in sides:
        t = med(th[label], "seconds")
        lines.append("| PyTorch %s %s | %.2f | %.0f | %.1f (%.0f%%) | %.2f%% | **%.2fx** |"
                     % (label, th[label][0]["info"]["torch"], t, images / t, flops / 1e9 / t,
                        100 * flops / 1e9 / t / peak, 100 * med(th[label], "test_accuracy"), t / n_sec))
    lines += [
        "",
        "## Where nicex's epoch goes",
        "",
        "The same epoch again with NX_PROFILE=1 (autograd/profile.h: every dispatched kernel and the tape's step"
        " phases timed with CLOCK_MONOTONIC; %.2f s against %.2f s unprofiled). Kernel time is exclusive; the"
        " phases cover each training step from one nx_step_reset to the next." % (prof["seconds"], n_sec),
        "",
    ]
    lines += profile_tables(prof["profile"], prof["seconds"])
    text = "\n".join(lines) + "\n"
    machine.write_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
