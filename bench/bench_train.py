"""bench_train.py: training on the CPU, nicex against PyTorch (PyPI's, Debian's), in one run on one machine:
one epoch of LeNet5 on Fashion-MNIST and where nicex's epoch spends its time, a ResNet18 training step at
224x224, and one NICE training epoch of the shipped configuration.

    OMP_NUM_THREADS=2 .venv-bench/bin/python bench/bench_train.py --nicex bin/nicex --bench-ops build/bench_ops \\
        --torch pypi=.venv-bench/bin/python,debian=/usr/bin/python3 --out bench/results/train-cpu.md

(`make bench-train`, TORCH=pypi|debian|both; --parts lenet5,resnet18,nice
picks the parts, default all.) Every side runs with the same number of
threads (OMP_NUM_THREADS, default: all cores); each PyTorch measurement runs
in a fresh process of its own interpreter (this file with --worker). With
--rounds R the sides alternate R times and the tables give the median.

lenet5: the NICE authors' recipe: Adam, lr 1e-3, batch 100, shuffled, no
augmentation, pixels in [0, 1]. Time per epoch is the training loop only
(no test pass); accuracy is on the 10,000 test images after the epoch. Then
nicex trains the same epoch once more with NX_PROFILE=1
(autograd/profile.h): the per-kernel and per-phase wall times of that run
give the profile table (conv, GEMM, pooling, elementwise, loss, optimizer,
tape and op overhead, data and loop).

resnet18: torchvision's ResNet18 (written out in torch.nn in the worker),
10 classes, batch 16 of 3x224x224 seeded random images and labels, train
mode, SGD lr 0.01 momentum 0.9 weight decay 5e-4, cross-entropy. nicex runs
`nicex train --model resnet18 --data synthetic:16:3x224x224:10 --batch 16
--epochs W+S`: one step per epoch, and the JSON's epoch_seconds are the
step times (the evaluation and checkpoint after each epoch are outside
them). The first W (--resnet-warmup) steps are warm-up; the row gives the
median of the next S (--resnet-steps).

nice: `nicex nice train --classifier models/lenet5-fashion-mnist.safetensors
--lambda1 5 --lambda2 0 --background zero --lr 1e-2 --epochs 1 --seed 0`
(docs/models.md) against the same step written in PyTorch in the worker
(nice/train.c, nice/hard_concrete.c): log_alpha = conv3x3(x) (the mnist
generator), z = hard-concrete sample (beta 2/3, gamma -0.1, zeta 1.1,
u clamped to [1e-6, 1 - 1e-6]), x~ = x z, L = CE(LeNet5(x~), y) + 5 mean(
sigmoid(log_alpha - beta log(-gamma / zeta))), Adam on the generator's 10
parameters, from nicex's initial generator (so only the noise and the
shuffling differ), LeNet5 frozen in eval mode (weights from the same
safetensors file). Time is the training loop of the epoch; the test
statistics after it (accuracy on x z^ with the test mask, mask density)
show that both trained the same thing, and the PyTorch test pass run on the
generator nicex trained must give nicex's own numbers.

peak = the best SGEMM GFLOP/s measured in this run (bench_ops.py's gemm
shapes: nicex, an MKL build of torch.mm, numpy's OpenBLAS); each row gives its
effective GFLOP/s (the multiply-adds x 2 it needs / seconds) and its fraction
of the peak. Writes a markdown file atomically.
"""
import argparse
import gzip
import json
import os
import shutil
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
PARTS = ("lenet5", "resnet18", "nice")
CLASSIFIER = "models/lenet5-fashion-mnist.safetensors"
RESNET_BATCH, RESNET_SIZE, RESNET_CLASSES = 16, 224, 10
RESNET_SGD = {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}
# nice/hard_concrete.c's hc_default() and the shipped generator's flags (docs/models.md)
HC_BETA, HC_GAMMA, HC_ZETA, HC_EPS = 2.0 / 3.0, -0.1, 1.1, 1e-6
NICE_LAMBDA1, NICE_LR, NICE_BATCH = 5.0, 1e-2, 100


def lenet5_train_flops_per_image():
    """Multiply-adds x 2 of one training image: forward, dW, and dX except conv1's (the input needs none)."""
    conv1 = 2 * 20 * 1 * 25 * 24 * 24
    conv2 = 2 * 50 * 20 * 25 * 8 * 8
    fc1, fc2 = 2 * 800 * 500, 2 * 500 * 10
    fwd = conv1 + conv2 + fc1 + fc2
    return 3 * fwd - conv1


def lenet5_forward_flops_per_image():
    return 2 * (20 * 1 * 25 * 24 * 24 + 50 * 20 * 25 * 8 * 8 + 800 * 500 + 500 * 10)


def nice_train_flops_per_image():
    """One NICE step on a 28x28 image: the generator's 3x3 conv forward and dW (no dX: the image needs none),
    the frozen LeNet5's forward and dX of every layer, conv1's too (the gradient goes on to the mask), no dW."""
    gen = 2 * 9 * 28 * 28
    return 2 * gen + 2 * lenet5_forward_flops_per_image()


def resnet18_macs(size=RESNET_SIZE, classes=RESNET_CLASSES):
    """(forward multiply-adds of one image, those of conv1) of torchvision's ResNet18: convs and fc."""
    def conv(cin, cout, k, out):
        return cin * cout * k * k * out * out
    s = (size + 2 * 3 - 7) // 2 + 1  # conv1 7x7 s2 p3
    conv1 = conv(3, 64, 7, s)
    s = (s + 2 - 3) // 2 + 1  # maxpool 3 s2 p1
    total, c = conv1, 64
    for layer in range(4):
        width = 64 << layer
        for block in range(2):
            stride = 2 if block == 0 and layer > 0 else 1
            out = (s - 1) // stride + 1
            total += conv(c, width, 3, out) + conv(width, width, 3, out)
            if stride != 1 or c != width:
                total += conv(c, width, 1, out)
            s, c = out, width
    return total + 512 * classes, conv1


def resnet18_train_flops_per_image():
    """Multiply-adds x 2 of one training image: forward, dW, and dX except conv1's."""
    fwd, conv1 = resnet18_macs()
    return 2 * (3 * fwd - conv1)


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


def load_fashion_mnist(np, torch, data_dir, limit):
    """Fashion-MNIST as float tensors in [0, 1] (N, 1, 28, 28) and int64 labels: train (first `limit`, 0: all), test."""
    tr_x, tr_y = load_idx(np, find(data_dir, "train-images-idx3-ubyte")), load_idx(np, find(data_dir, "train-labels-idx1-ubyte"))
    if limit:
        tr_x, tr_y = tr_x[:limit], tr_y[:limit]
    xtr = torch.tensor(tr_x, dtype=torch.float32).div_(255).unsqueeze(1)
    ytr = torch.tensor(tr_y.astype(np.int64))
    xte = torch.tensor(load_idx(np, find(data_dir, "t10k-images-idx3-ubyte")), dtype=torch.float32).div_(255).unsqueeze(1)
    yte = torch.tensor(load_idx(np, find(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64))
    return xtr, ytr, xte, yte


def lenet5_worker(data_dir, threads, limit):
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
    xtr, ytr, xte, yte = load_fashion_mnist(np, torch, data_dir, limit)
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


def load_safetensors(np, path):
    """{name: float32 array} of a safetensors file (F32 tensors only), without the safetensors package."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            sys.exit("bench_train: %s: %s is %s, expected F32" % (path, name, t["dtype"]))
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw, dtype="<f4", count=(b - a) // 4, offset=8 + n + a).reshape(t["shape"]).copy()
    return out


def resnet18_worker(threads, steps, warmup):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (self.downsample(x) if self.downsample is not None else x))

    class ResNet18(nn.Module):  # torchvision.models.resnet18's layout and state_dict names
        def __init__(self, classes):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            c, layers = 64, []
            for i in range(4):
                w = 64 << i
                layers.append(nn.Sequential(BasicBlock(c, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
                c = w
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.fc = nn.Linear(512, classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randint(0, 256, (RESNET_BATCH, 3, RESNET_SIZE, RESNET_SIZE), dtype=torch.uint8).float().div_(255)
    y = torch.randint(0, RESNET_CLASSES, (RESNET_BATCH,))
    model = ResNet18(RESNET_CLASSES)
    model.train()
    opt = torch.optim.SGD(model.parameters(), **RESNET_SGD)
    times, losses = [], []
    for _ in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    print(json.dumps({"step_seconds": times[warmup:], "warmup_seconds": times[:warmup], "losses": losses,
                      "info": machine.torch_info()}))


def nice_worker(data_dir, threads, limit, classifier, init_gen, check_gen):
    import math
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    w = {k: torch.from_numpy(v) for k, v in load_safetensors(np, classifier).items()}

    def lenet5(x):  # layers/lenet5.c with the checkpoint's weights
        x = F.max_pool2d(F.relu(F.conv2d(x, w["conv1.weight"], w["conv1.bias"])), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, w["conv2.weight"], w["conv2.bias"])), 2)
        x = F.relu(F.linear(x.flatten(1), w["fc1.weight"], w["fc1.bias"]))
        return F.linear(x, w["fc2.weight"], w["fc2.bias"])

    xtr, ytr, xte, yte = load_fashion_mnist(np, torch, data_dir, limit)
    gen = nn.Conv2d(1, 1, 3, 1, 1)  # nice/generator.c's mnist generator, PyTorch's default init

    def load_gen(path):
        g = load_safetensors(np, path)
        with torch.no_grad():
            gen.weight.copy_(torch.from_numpy(g["generator.conv1.weight"]))
            gen.bias.copy_(torch.from_numpy(g["generator.conv1.bias"]))

    if init_gen:  # nicex's initial generator: then only the noise and the shuffling differ
        load_gen(init_gen)
    opt = torch.optim.Adam(gen.parameters(), lr=NICE_LR)
    shift = HC_BETA * math.log(-HC_GAMMA / HC_ZETA)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=NICE_BATCH, shuffle=True)
    ld = lc = 0.0
    t0 = time.perf_counter()
    for x, y in loader:
        log_alpha = gen(x)
        u = torch.rand_like(log_alpha).clamp_(HC_EPS, 1 - HC_EPS)
        s = torch.sigmoid((log_alpha + (torch.log(u) - torch.log(1 - u))) / HC_BETA)  # eq. 7
        z = torch.clamp(s * (HC_ZETA - HC_GAMMA) + HC_GAMMA, 0, 1)  # eq. 8
        loss_d = F.cross_entropy(lenet5(x * z), y)  # background zero: x~ = x z
        loss_c = torch.sigmoid(log_alpha - shift).mean()  # eq. 10, the mean norm
        loss = loss_d + NICE_LAMBDA1 * loss_c
        opt.zero_grad()
        loss.backward()
        opt.step()
        ld += loss_d.item() * len(x)
        lc += loss_c.item() * len(x)
    seconds = time.perf_counter() - t0
    def evaluate(g):  # nice_evaluate: the test mask of eq. 12
        with torch.no_grad():
            zt = torch.clamp(torch.sigmoid(g(xte) / HC_BETA) * (HC_ZETA - HC_GAMMA) + HC_GAMMA, 0, 1)
            return ((lenet5(xte * zt).argmax(1) == yte).float().mean().item(), (zt > 0.5).float().mean().item())

    acc, density = evaluate(gen)
    r = {"seconds": seconds, "accuracy": acc, "density": density, "loss_d": ld / len(xtr), "loss_c": lc / len(xtr),
         "images": len(xtr), "info": machine.torch_info()}
    if check_gen:  # this test pass on the generator nicex trained: the same numbers as nicex's, if it is the same
        load_gen(check_gen)
        r["check_accuracy"], r["check_density"] = evaluate(gen)
    print(json.dumps(r))


def torch_run(python, part, args, threads, init_gen=None, check_gen=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [python, os.path.abspath(__file__), "--worker", part, "--data", args.data, "--threads", str(threads),
           "--limit", str(args.limit), "--resnet-steps", str(args.resnet_steps), "--resnet-warmup",
           str(args.resnet_warmup), "--classifier", args.classifier]
    cmd += (["--init-gen", init_gen] if init_gen else []) + (["--check-gen", check_gen] if check_gen else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
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


def resnet18_nicex_cmd(nicex, steps, warmup, out):
    return [nicex, "train", "--model", "resnet18", "--data", "synthetic:%d:3x%dx%d:%d" % (RESNET_BATCH, RESNET_SIZE,
            RESNET_SIZE, RESNET_CLASSES), "--batch", str(RESNET_BATCH), "--opt", "sgd", "--lr", str(RESNET_SGD["lr"]),
            "--momentum", str(RESNET_SGD["momentum"]), "--wd", str(RESNET_SGD["weight_decay"]), "--schedule",
            "constant", "--epochs", str(warmup + steps), "--seed", "0", "--json", "--out", out]


def resnet18_nicex(nicex, threads, steps, warmup):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop("NX_PROFILE", None)
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run(resnet18_nicex_cmd(nicex, steps, warmup, os.path.join(tmp, "r.safetensors")), env=env,
                           check=True, capture_output=True, text=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {"step_seconds": r["epoch_seconds"][warmup:], "warmup_seconds": r["epoch_seconds"][:warmup],
            "train_loss": r["train_loss"]}


def nice_nicex_cmd(nicex, classifier, data_spec, limit, out):
    return [nicex, "nice", "train", "--classifier", classifier, "--data", data_spec, "--lambda1", "%g" % NICE_LAMBDA1,
            "--lambda2", "0", "--background", "zero", "--lr", "%g" % NICE_LR, "--epochs", "1", "--seed", "0",
            "--batch", str(NICE_BATCH), "--limit", str(limit), "--json", "--out", out]


def nice_nicex(nicex, threads, classifier, data_spec, limit, out):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop("NX_PROFILE", None)
    p = subprocess.run(nice_nicex_cmd(nicex, classifier, data_spec, limit, out), env=env, check=True,
                       capture_output=True, text=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if "seconds" not in r:
        sys.exit("bench_train: nicex nice train --json printed no seconds (built before they were added?)")
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


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def gflops_cell(flops, seconds, peak):
    return "%.1f (%.0f%%)" % (flops / 1e9 / seconds, 100 * flops / 1e9 / seconds / peak)


def lenet5_lines(nx, th, sides, peak, rounds):
    images = th[sides[0][0]][0]["images"]
    flops = lenet5_train_flops_per_image() * images
    n_sec = med(nx, "seconds")
    lines = [
        "## LeNet5, one epoch of Fashion-MNIST",
        "",
        "Recipe of the NICE authors: Adam lr 1e-3, batch 100, %d training images, shuffled; time is the training"
        " loop of one epoch (median of %d rounds alternating the sides); accuracy on the 10,000 test images after it."
        " Effective GFLOP/s = %.1f GFLOP (2 x the multiply-adds of forward, dW and dX but conv1's dX) / seconds."
        % (images, rounds, flops / 1e9),
        "",
        "| | seconds / epoch | images / s | effective GFLOP/s (fraction of peak) | test accuracy | nicex's speed"
        " (its time / nicex's) |",
        "|---|---:|---:|---:|---:|---:|",
        "| nicex | %.2f | %.0f | %s | %.2f%% | 1.00 |" % (n_sec, images / n_sec, gflops_cell(flops, n_sec, peak),
                                                        100 * med(nx, "test_accuracy")),
    ]
    for label, _ in sides:
        t = med(th[label], "seconds")
        lines.append("| PyTorch %s %s | %.2f | %.0f | %s | %.2f%% | **%.2fx** |"
                     % (label, th[label][0]["info"]["torch"], t, images / t, gflops_cell(flops, t, peak),
                        100 * med(th[label], "test_accuracy"), t / n_sec))
    return lines + [""]


def resnet18_lines(nx, th, sides, peak, args):
    flops = resnet18_train_flops_per_image() * RESNET_BATCH
    fwd, conv1 = resnet18_macs()

    def step(runs):  # the median step of each round, then the median over rounds
        return statistics.median(statistics.median(r["step_seconds"]) for r in runs)

    n_sec = step(nx)
    cmd = " ".join(resnet18_nicex_cmd("nicex", args.resnet_steps, args.resnet_warmup, "r.safetensors"))
    lines = [
        "## ResNet18, one training step at 224x224",
        "",
        "torchvision's ResNet18 (PyTorch: written out in torch.nn in the worker, torchvision's layout and init),"
        " %d classes, train mode (batchnorm batch statistics), batch %d of seeded random 3x%dx%d images in [0, 1]"
        " and labels, cross-entropy, SGD lr %g momentum %g weight decay %g. nicex: `%s` (data/dataset.h's"
        " synthetic dataset: one step per epoch; the step times are the JSON's epoch_seconds, without the"
        " evaluation and checkpoint after each epoch, with the loader's uint8-to-float batch). Time per step: the"
        " median of %d steps after %d warm-up steps (median of %d rounds). Effective GFLOP/s = %.2f GFLOP per step"
        " (forward %.3f G multiply-adds per image; 2 x (3 x forward - conv1's %.3f G, whose dX nobody needs) x %d"
        " images) / seconds."
        % (RESNET_CLASSES, RESNET_BATCH, RESNET_SIZE, RESNET_SIZE, RESNET_SGD["lr"], RESNET_SGD["momentum"],
           RESNET_SGD["weight_decay"], cmd, args.resnet_steps, args.resnet_warmup, args.rounds, flops / 1e9,
           fwd / 1e9, conv1 / 1e9, RESNET_BATCH),
        "",
        "| | seconds / step | images / s | effective GFLOP/s (fraction of peak) | warm-up steps (s) |"
        " loss at the last step | nicex's speed (its time / nicex's) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        "| nicex | %.3f | %.1f | %s | %s | %.3f | 1.00 |"
        % (n_sec, RESNET_BATCH / n_sec, gflops_cell(flops, n_sec, peak),
           ", ".join("%.2f" % t for t in nx[0]["warmup_seconds"]) or "-", nx[0]["train_loss"]),
    ]
    for label, _ in sides:
        t = step(th[label])
        lines.append("| PyTorch %s %s | %.3f | %.1f | %s | %s | %.3f | **%.2fx** |"
                     % (label, th[label][0]["info"]["torch"], t, RESNET_BATCH / t, gflops_cell(flops, t, peak),
                        ", ".join("%.2f" % s for s in th[label][0]["warmup_seconds"]) or "-",
                        th[label][0]["losses"][-1], t / n_sec))
    lines += ["", "The loss at the last step (step %d, one batch seen again and again: it falls as the model"
              " memorises it) differs between the sides by their random images and initialisation; it shows that"
              " both train." % (args.resnet_warmup + args.resnet_steps)]
    return lines + [""]


def nice_lines(nx, th, sides, peak, args, data_spec):
    images = th[sides[0][0]][0]["images"]
    flops = nice_train_flops_per_image() * images
    n_sec = med(nx, "seconds")
    cmd = " ".join(nice_nicex_cmd("nicex", args.classifier, data_spec, args.limit, "nice.safetensors"))
    lines = [
        "## NICE, one training epoch of the shipped configuration",
        "",
        "nicex: `%s` (docs/models.md's shipped generator, 1 epoch). PyTorch: the same step written in the worker:"
        " log_alpha = Conv2d(1, 1, 3, pad 1)(x) (nice/generator.c's mnist generator, PyTorch's default init);"
        " z = clamp01(sigmoid((log_alpha + log u - log(1 - u)) / beta) (zeta - gamma) + gamma), u ~ U(0, 1) clamped"
        " to [1e-6, 1 - 1e-6], beta 2/3, gamma -0.1, zeta 1.1; x~ = x z (background zero); L = CE(LeNet5(x~), y)"
        " + %g mean(sigmoid(log_alpha - beta log(-gamma / zeta))) (lambda2 0: no smoothness term); Adam lr %g on"
        " the generator's 10 parameters only, starting from nicex's initial generator (seed 0: its one step of"
        " one image at lr 1e-9); LeNet5 frozen, its weights read from %s. Batch %d, %d training"
        " images, shuffled; time is the training loop of the epoch (median of %d rounds). After it, on the 10,000"
        " test images with the test mask z^ = clamp01(sigmoid(log_alpha / beta) (zeta - gamma) + gamma) (eq. 12):"
        " accuracy of LeNet5 on x z^ and the mask density (fraction of z^ > 0.5). The two sides draw different"
        " noise (Philox, torch.rand) and shuffle differently, so their losses and statistics agree only roughly:"
        " they show that both train the same thing. Effective GFLOP/s = %.2f GFLOP (2 x the multiply-adds of the"
        " generator's forward and dW and of LeNet5's forward and dX, conv1's included: the gradient goes on to the"
        " mask; no dW of LeNet5) / seconds."
        % (cmd, NICE_LAMBDA1, NICE_LR, args.classifier, NICE_BATCH, images, args.rounds, flops / 1e9),
        "",
        "| | seconds / epoch | images / s | effective GFLOP/s (fraction of peak) | mean L_D | mean L_C |"
        " test accuracy on x z^ | mask density | nicex's speed (its time / nicex's) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| nicex | %.2f | %.0f | %s | %.4f | %.4f | %.2f%% | %.3f | 1.00 |"
        % (n_sec, images / n_sec, gflops_cell(flops, n_sec, peak), nx[0]["loss_d"], nx[0]["loss_c"],
           100 * nx[0]["accuracy"], nx[0]["density"]),
    ]
    for label, _ in sides:
        t, r = med(th[label], "seconds"), th[label][0]
        lines.append("| PyTorch %s %s | %.2f | %.0f | %s | %.4f | %.4f | %.2f%% | %.3f | **%.2fx** |"
                     % (label, r["info"]["torch"], t, images / t, gflops_cell(flops, t, peak), r["loss_d"],
                        r["loss_c"], 100 * r["accuracy"], r["density"], t / n_sec))
    lines.append("")
    for label, _ in sides:
        r = th[label][0]
        lines.append("The PyTorch %s test pass on the generator nicex trained (round 1): accuracy %.2f%% (nicex's own:"
                     " %.2f%%), mask density %.4f (nicex's: %.4f)." % (label, 100 * r["check_accuracy"],
                                                                      100 * nx[0]["accuracy"], r["check_density"],
                                                                      nx[0]["density"]))
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nicex", default="bin/nicex")
    ap.add_argument("--bench-ops", default="build/bench_ops", help="the C SGEMM benchmark, for the measured peak")
    ap.add_argument("--out", default="bench/results/train-cpu.md")
    ap.add_argument("--data", default=FMNIST)
    ap.add_argument("--torch", default="pypi=.venv-bench/bin/python,debian=/usr/bin/python3",
                    help="LABEL=PYTHON,... : the interpreters whose PyTorch is measured, one row each")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated, of %s (default all)" % ", ".join(PARTS))
    ap.add_argument("--rounds", type=int, default=1, help="alternating nicex / PyTorch runs (median)")
    ap.add_argument("--limit", type=int, default=0,
                    help="lenet5 and nice: only the first N training images (0: all; for trials)")
    ap.add_argument("--resnet-steps", type=int, default=5, help="resnet18: timed steps (median; default 5)")
    ap.add_argument("--resnet-warmup", type=int, default=2, help="resnet18: warm-up steps before them (default 2)")
    ap.add_argument("--classifier", default=CLASSIFIER, help="nice: the LeNet5 checkpoint explained")
    ap.add_argument("--cmd", default=None, help="the command that ran this one (e.g. make bench-ops TORCH=both), recorded with it")
    ap.add_argument("--worker", choices=PARTS, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--check-gen", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--init-gen", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "lenet5":
        return lenet5_worker(args.data, args.threads, args.limit)
    if args.worker == "resnet18":
        return resnet18_worker(args.threads, args.resnet_steps, args.resnet_warmup)
    if args.worker == "nice":
        return nice_worker(args.data, args.threads, args.limit, args.classifier, args.init_gen, args.check_gen)

    parts = [p for p in args.parts.split(",") if p]
    for p in parts:
        if p not in PARTS:
            sys.exit("bench_train: --parts %s: unknown part '%s' (expected %s)" % (args.parts, p, ", ".join(PARTS)))
    if args.resnet_steps < 1 or args.resnet_warmup < 0 or args.rounds < 1:
        sys.exit("bench_train: --resnet-steps and --rounds must be >= 1, --resnet-warmup >= 0")
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
    nx = {p: [] for p in parts}
    th = {p: {label: [] for label, _ in sides} for p in parts}
    work = tempfile.mkdtemp(prefix="bench_train.")
    nice_out, nice_init = os.path.join(work, "nice.safetensors"), None
    if "nice" in parts:  # nicex's initial generator (seed 0): one step of 1 image at lr 1e-9 moves it by ~1e-9
        nice_init = os.path.join(work, "nice-init.safetensors")
        cmd = nice_nicex_cmd(args.nicex, args.classifier, spec, 1, nice_init)
        cmd[cmd.index("--lr") + 1], cmd[cmd.index("--batch") + 1] = "1e-9", "1"
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    for r in range(args.rounds):
        for part in parts:
            if part == "lenet5":
                res = nicex_epoch(args.nicex, threads, spec, args.limit, False)
            elif part == "resnet18":
                res = resnet18_nicex(args.nicex, threads, args.resnet_steps, args.resnet_warmup)
            else:
                res = nice_nicex(args.nicex, threads, args.classifier, spec, args.limit, nice_out)
            nx[part].append(res)
            print("round %d %s nicex %s" % (r + 1, part, json.dumps(res)), file=sys.stderr, flush=True)
            for label, python in sides:
                nice = part == "nice"
                th[part][label].append(torch_run(python, part, args, threads, nice_init if nice else None,
                                                 nice_out if nice and r == 0 else None))
                print("round %d %s torch %s %s" % (r + 1, part, label,
                                                   json.dumps({k: v for k, v in th[part][label][-1].items()
                                                               if k != "info"})), file=sys.stderr, flush=True)
    prof = None
    if "lenet5" in parts:
        prof = nicex_epoch(args.nicex, threads, spec, args.limit, True)
        print("profiled nicex epoch %.2f s" % prof["seconds"], file=sys.stderr, flush=True)
    load_end = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)

    info = {label: th[parts[0]][label][0]["info"] for label, _ in sides}
    omp_env = "".join(" %s=%s" % (k, os.environ[k]) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ)
    cmd = "OMP_NUM_THREADS=%d%s %s %s" % (threads, omp_env, os.path.relpath(sys.executable), " ".join(sys.argv))
    cmd = "`%s`, which runs `%s`" % (args.cmd, cmd) if args.cmd else "`%s`" % cmd
    titles = {"lenet5": "LeNet5 epoch", "resnet18": "ResNet18 step", "nice": "NICE epoch"}
    lines = ["# Training on the CPU, nicex vs PyTorch: %s" % ", ".join(titles[p] for p in parts), ""]
    lines += machine.machine_lines(threads)
    lines += [machine.torch_line(label, python, info[label]) for label, python in sides]
    lines += [
        "- nicex: %s at git %s" % (args.nicex, machine.git_rev()),
        "- command: %s" % cmd,
        "- **peak: %.1f GFLOP/s**, the best SGEMM measured in this run (%s)" % (peak, peak_who),
        "- load average (1, 5, 15 min) at the start %.2f %.2f %.2f, at the end %.2f %.2f %.2f" % (load_start + load_end),
        "- every side runs in its own process with the same threads; rows: above 1.00x in the last column nicex"
        " is faster",
        "",
    ]
    if "lenet5" in parts:
        lines += lenet5_lines(nx["lenet5"], th["lenet5"], sides, peak, args.rounds)
    if "resnet18" in parts:
        lines += resnet18_lines(nx["resnet18"], th["resnet18"], sides, peak, args)
    if "nice" in parts:
        lines += nice_lines(nx["nice"], th["nice"], sides, peak, args, spec)
    if prof:
        n_sec = med(nx["lenet5"], "seconds")
        lines += [
            "## Where nicex's LeNet5 epoch goes",
            "",
            "The same epoch again with NX_PROFILE=1 (autograd/profile.h: every dispatched kernel and the tape's step"
            " phases timed with CLOCK_MONOTONIC; %.2f s against %.2f s unprofiled). Kernel time is exclusive; the"
            " phases cover each training step from one nx_step_reset to the next." % (prof["seconds"], n_sec),
            "",
        ]
        lines += profile_tables(prof["profile"], prof["seconds"])
    text = "\n".join(lines).rstrip("\n") + "\n"
    machine.write_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
