"""bench_gpu.py: nicex against PyTorch on the same GPU, in one run (issue 15).

Both sides in full fp32: nicex's cuBLAS handle uses CUBLAS_DEFAULT_MATH
(NX_CUDA_TF32 must be unset); PyTorch runs with
torch.backends.cuda.matmul.allow_tf32 = False and
torch.backends.cudnn.allow_tf32 = False, cuDNN on with cudnn.benchmark
(its autotuner picks each convolution's algorithm during the warm-up).

  1. conv2d forward + backward (dx and dw, no bias) at ResNet18's 224x224
     layer shapes, batch 32: median of 10 synchronised calls after 3 warm-ups
  2. training throughput (forward, cross-entropy, backward, SGD momentum 0.9)
     of ResNet18 at batch 128, 3x224x224, 1000 classes, and VGG11 (nicex's
     CIFAR layout) at batch 256, 3x32x32, 10 classes; synthetic data that
     stays in GPU memory; 10 steps timed after 3 warm-ups
  3. inference throughput (eval mode, no autograd) of the same two
  4. LeNet5, 10 epochs of Fashion-MNIST by docs/models.md's recipe (Adam
     1e-3, batch 100, step 5 x0.1, seed 0): nicex `train --device cuda`
     (loads each batch from host memory, evaluates and saves a checkpoint
     after every epoch), PyTorch with the data in GPU memory and a
     randperm shuffle, evaluating after every epoch; training seconds (sum
     of the epochs' loops), wall seconds (whole run) and final accuracy
  5. where nicex's training step goes: each kernel's share (bench_gpu's
     synchronised profile)

usage: bench_gpu.py --bin DIR --data DIR --out FILE [--raw FILE] [--lenet-log FILE]
  --bin        folder with nicex and bench_gpu (make gpu-build: .gpu-carry)
  --lenet-log  a finished `nicex train --json` log of the LeNet5 run (from
               scripts/gpu-check.sh; a line wall_seconds=S may follow)
               instead of running it again
Without a GPU it writes a "no GPU" stub to --out and exits 0, except that it
never writes a stub over bench/results/gpu.md.
"""
import argparse
import datetime
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RESNET18_CONVS = [  # name, C, H, W, O, K, stride, pad (bench_gpu.c lists the same)
    ("conv1", 3, 224, 224, 64, 7, 2, 3),
    ("layer1.conv", 64, 56, 56, 64, 3, 1, 1),
    ("layer2.0.conv1", 64, 56, 56, 128, 3, 2, 1),
    ("layer2.0.downsample", 64, 56, 56, 128, 1, 2, 0),
    ("layer2.conv", 128, 28, 28, 128, 3, 1, 1),
    ("layer3.0.conv1", 128, 28, 28, 256, 3, 2, 1),
    ("layer3.0.downsample", 128, 28, 28, 256, 1, 2, 0),
    ("layer3.conv", 256, 14, 14, 256, 3, 1, 1),
    ("layer4.0.conv1", 256, 14, 14, 512, 3, 2, 1),
    ("layer4.0.downsample", 256, 14, 14, 512, 1, 2, 0),
    ("layer4.conv", 512, 7, 7, 512, 3, 1, 1),
]
MODELS = [  # nicex arch, batch, input side, classes
    ("resnet18", 128, 224, 1000),
    ("vgg11", 256, 32, 10),
]
WARMUP, REPS, CONV_BATCH, LENET_EPOCHS = 3, 10, 32, 10
DEV = "cuda"
# NX_BENCH_SELFTEST=1: the PyTorch side on the CPU at tiny sizes, to try this
# script's code paths on a machine without a GPU (never for results).
SELFTEST = os.environ.get("NX_BENCH_SELFTEST") == "1"
if SELFTEST:
    DEV, WARMUP, REPS, CONV_BATCH, LENET_EPOCHS = "cpu", 1, 2, 2, 1
    MODELS = [(a, 2, hw, c) for a, _, hw, c in MODELS]
RAW = []


def log(*a):
    print(*a, flush=True)


# ---- nicex side ---------------------------------------------------------------

def parse_lines(text):
    """bench_gpu's key=value lines -> [(kind, {key: value})]"""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or "=" in parts[0]:
            continue
        kv = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                try:
                    kv[k] = float(v) if k not in ("name", "model", "kernel", "kind", "reason") else v
                except ValueError:
                    kv[k] = v
        rows.append((parts[0], kv))
    return rows


def nicex_bench(bindir, args, timeout=120):
    cmd = [os.path.join(bindir, "bench_gpu")] + args
    log("$", " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        RAW.append("$ %s\nTIMED OUT after %d s\n" % (" ".join(cmd), timeout))
        return None, "timed out after %d s" % timeout
    RAW.append("$ %s\n%s%s(exit %d)\n" % (" ".join(cmd), p.stdout, p.stderr, p.returncode))
    rows = parse_lines(p.stdout)
    for kind, kv in rows:
        if kind == "skip":
            return None, p.stdout.strip().split("reason=", 1)[-1]
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, (p.stderr.strip().splitlines() or ["?"])[-1])
    return rows, None


def read_lenet_log(path):
    lines = open(path).read().splitlines()
    js = [json.loads(l) for l in lines if l.startswith("{") and "epoch_seconds" in l]
    if not js:
        return None
    r = js[-1]
    for l in lines:
        if l.startswith("wall_seconds="):
            r["wall_seconds"] = float(l.split("=", 1)[1])
    return r


def nicex_lenet(bindir, data_dir):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(bindir, "nicex"), "train", "--model", "lenet5", "--data", "fashion-mnist:" + data_dir,
               "--epochs", "10", "--opt", "adam", "--lr", "1e-3", "--batch", "100", "--schedule", "step",
               "--step-size", "5", "--gamma", "0.1", "--seed", "0", "--device", "cuda", "--report-memory", "--json",
               "--out", os.path.join(tmp, "m.safetensors")]
        log("$", " ".join(cmd))
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired:
            return None
        wall = time.perf_counter() - t0
        RAW.append("$ %s\n%s%s(exit %d)\n" % (" ".join(cmd), p.stdout, p.stderr, p.returncode))
        if p.returncode != 0:
            return None
    r = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][-1])
    r["wall_seconds"] = wall
    return r


# ---- PyTorch side -------------------------------------------------------------

def torch_setup():
    try:
        import torch
    except ImportError as e:
        return None, "no torch (%s)" % e
    if SELFTEST:
        return torch, None
    if not torch.cuda.is_available():
        return None, "torch %s sees no CUDA device" % torch.__version__
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.enabled = True
    torch.backends.cudnn.benchmark = True
    return torch, None


def sync(torch):
    if DEV == "cuda":
        torch.cuda.synchronize()


def cuda_time_ms(torch, fn, warmup, reps):
    """median of reps synchronised calls, CUDA events"""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        if DEV != "cuda":
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
            continue
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def torch_conv(torch, N):
    import torch.nn.functional as F
    rows = {}
    for name, C, H, W, O, K, s, p in RESNET18_CONVS:
        x = torch.randn(N, C, H, W, device=DEV, requires_grad=True)
        w = torch.randn(O, C, K, K, device=DEV, requires_grad=True)
        y = F.conv2d(x, w, None, s, p)
        dy = torch.randn_like(y)
        fwd = cuda_time_ms(torch, lambda: F.conv2d(x, w, None, s, p), WARMUP, REPS)

        def fb():
            out = F.conv2d(x, w, None, s, p)
            torch.autograd.grad(out, (x, w), dy)

        rows["resnet18." + name] = (fwd, cuda_time_ms(torch, fb, WARMUP, REPS) - fwd)
        del x, w, y, dy
    return rows


def torch_vgg11(torch, classes):
    import torch.nn as nn
    layers, c = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, classes))


def torch_model(torch, arch, classes):
    if arch == "vgg11":
        return torch_vgg11(torch, classes)
    import torchvision
    return torchvision.models.resnet18(num_classes=classes)


def torch_throughput(torch, arch, N, HW, classes, train):
    import torch.nn.functional as F
    torch.manual_seed(0)
    model = torch_model(torch, arch, classes).to(DEV)
    x = torch.rand(N, 3, HW, HW, device=DEV)
    y = torch.arange(N, device=DEV) % classes
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train(train)

    def step():
        if train:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x)

    for _ in range(WARMUP):
        step()
    sync(torch)
    t0 = time.perf_counter()
    for _ in range(REPS):
        step()
    sync(torch)
    ms = (time.perf_counter() - t0) * 1e3 / REPS
    del model, x, y, opt
    if DEV == "cuda":
        torch.cuda.empty_cache()
    return N / (ms / 1e3), ms


def load_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return data[4 + 4 * ndim:], dims


def torch_lenet(torch, data_dir, epochs):
    import torch.nn as nn
    import torch.nn.functional as F

    def tensor(stem, images):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(data_dir, name)):
                raw, dims = load_idx(os.path.join(data_dir, name))
                t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(dims).to(DEV)
                return t.float().div_(255).unsqueeze(1) if images else t.long()
        raise FileNotFoundError(os.path.join(data_dir, stem))

    class LeNet5(nn.Module):  # bench/bench_train.py's, the NICE authors' LeNet5-Caffe
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 50, 5)
            self.fc1, self.fc2 = nn.Linear(800, 500), nn.Linear(500, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc2(F.relu(self.fc1(x.flatten(1))))

    w0 = time.perf_counter()
    torch.manual_seed(0)
    xtr, ytr = tensor("train-images-idx3-ubyte", True), tensor("train-labels-idx1-ubyte", False)
    xte, yte = tensor("t10k-images-idx3-ubyte", True), tensor("t10k-labels-idx1-ubyte", False)
    model = LeNet5().to(DEV)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.1)
    gen = torch.Generator(device=DEV)
    gen.manual_seed(0)
    train_s, acc = 0.0, 0.0
    n_train = xtr.shape[0] if not SELFTEST else 2000
    for _ in range(epochs):
        sync(torch)
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(xtr.shape[0], device=DEV, generator=gen)[:n_train]
        for i in range(0, n_train, 100):
            idx = perm[i:i + 100]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        sync(torch)
        train_s += time.perf_counter() - t0
        sched.step()
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item()
                      for i in range(0, xte.shape[0], 500)) / xte.shape[0]
    return {"seconds": train_s, "wall_seconds": time.perf_counter() - w0, "test_accuracy": acc}


# ---- the report ---------------------------------------------------------------

def ratio(t_torch, t_nicex):
    return "%.2fx" % (t_torch / t_nicex) if t_torch and t_nicex else "-"


def fmt(v, f="%.2f"):
    return f % v if v is not None else "-"


def device_info(torch):
    info = {"name": "?", "driver": "?"}
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
        if q:
            name, driver, mem = [s.strip() for s in q[0].split(",")]
            info = {"name": name, "driver": driver, "memory": mem}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    if torch is not None:
        info["torch"] = torch.__version__
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def build_info(bindir):
    """the carry folder's BUILD_INFO (the device's copy of the tree has no .git)"""
    try:
        return "build " + "; ".join(open(os.path.join(bindir, "BUILD_INFO")).read().strip().splitlines())
    except OSError:
        try:
            return "commit " + subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                              timeout=10).stdout.strip()
        except OSError:
            return "commit ?"


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".gpu-carry")
    ap.add_argument("--data", default=".gpu-carry/fashion-mnist")
    ap.add_argument("--out", default="bench/results/gpu.md")
    ap.add_argument("--raw", default=None, help="also write bench_gpu's raw output here")
    ap.add_argument("--lenet-log", default=None)
    args = ap.parse_args()
    command = "python3 bench/bench_gpu.py " + " ".join(sys.argv[1:])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    torch, torch_why = torch_setup()
    if SELFTEST:
        log("NX_BENCH_SELFTEST=1: the PyTorch side runs on the CPU at tiny sizes; not results")
    log("PyTorch side:", "skipped: " + torch_why if torch is None else
        "on " + (torch.cuda.get_device_name(0) if DEV == "cuda" else "the CPU"))

    # nicex first: its conv rows also tell whether it sees a GPU
    conv_rows, nicex_why = nicex_bench(args.bin, ["conv", "--batch", str(CONV_BATCH)])
    log("nicex side:", "skipped: " + nicex_why if conv_rows is None else "on the GPU")
    if conv_rows is None and torch is None:
        stub = ("# nicex vs PyTorch on one GPU: not run\n\nNo GPU here: nicex: %s; PyTorch: %s.\n\n"
                "- date: %s\n- command: `%s`\n" % (nicex_why, torch_why, date, command))
        if os.path.normpath(args.out) == os.path.normpath("bench/results/gpu.md"):
            log("no GPU: bench/results/gpu.md left as it is (the stub goes only to another --out)")
            print(stub)
        else:
            write(args.out, stub)
            log("no GPU: wrote the stub", args.out)
        if args.raw:
            write(args.raw, "".join(RAW))
        return 0

    nicex_conv = {kv["name"]: (kv["fwd_ms"], kv["bwd_ms"]) for k, kv in (conv_rows or []) if k == "conv"}
    nicex_tp, profiles = {}, {}
    if conv_rows is not None:
        for arch, N, HW, classes in MODELS:
            for kind in ("train", "infer"):
                rows, why = nicex_bench(args.bin, [kind, arch, str(N), str(HW), str(classes), "--warmup", str(WARMUP),
                                                   "--reps", str(REPS), "--profile", "2" if kind == "train" else "0"])
                for k, kv in rows or []:
                    if k in ("train", "infer"):
                        nicex_tp[(arch, kind)] = kv["images_per_s"]
                    elif k == "profile":
                        profiles.setdefault(arch, []).append(kv)
                if rows is None:
                    log("nicex %s %s: %s" % (kind, arch, why))
    torch_conv_rows, torch_tp = {}, {}
    if torch is not None:
        torch_conv_rows = torch_conv(torch, CONV_BATCH)
        for arch, N, HW, classes in MODELS:
            for kind in ("train", "infer"):
                torch_tp[(arch, kind)] = torch_throughput(torch, arch, N, HW, classes, kind == "train")[0]
                log("torch %s %s: %.1f images/s" % (kind, arch, torch_tp[(arch, kind)]))

    n_lenet = None
    if conv_rows is not None:
        n_lenet = read_lenet_log(args.lenet_log) if args.lenet_log else nicex_lenet(args.bin, args.data)
    t_lenet = torch_lenet(torch, args.data, LENET_EPOCHS) if torch is not None else None

    info = device_info(torch)
    L = ["# nicex vs PyTorch on one GPU", ""]
    L.append("- device: %s (%s), driver %s" % (info.get("name"), info.get("memory", "?"), info.get("driver")))
    L.append("- PyTorch %s (CUDA %s, cuDNN %s); nicex %s" % (info.get("torch", "-"), info.get("cuda", "-"),
                                                              info.get("cudnn", "-"), build_info(args.bin)))
    L.append("- date: %s" % date)
    L.append("- command: `%s` (scripts/gpu-check.sh runs it; `make bench-gpu`)" % command)
    L.append("- fp32 in both, TF32 off: nicex's cuBLAS in CUBLAS_DEFAULT_MATH; PyTorch with matmul.allow_tf32 = "
             "cudnn.allow_tf32 = False, cuDNN on, cudnn.benchmark = True")
    if conv_rows is None:
        L.append("- **nicex side not run**: %s" % nicex_why)
    if torch is None:
        L.append("- **PyTorch side not run**: %s" % torch_why)
    L += ["", "Ratios are PyTorch time / nicex time (above 1: nicex is faster).", ""]

    L += ["## conv2d forward + backward (dx, dw), ResNet18's shapes at batch %d" % CONV_BATCH, "",
          "| layer | C->O, k, stride, input | nicex fwd ms | nicex bwd ms | PyTorch fwd ms | PyTorch bwd ms | "
          "ratio fwd+bwd |", "|---|---|---|---|---|---|---|"]
    tot_n = tot_t = 0.0
    for name, C, H, W, O, K, s, p in RESNET18_CONVS:
        key = "resnet18." + name
        nf, nb = nicex_conv.get(key, (None, None))
        tf, tb = torch_conv_rows.get(key, (None, None))
        if nf is not None and tf is not None:
            tot_n += nf + nb
            tot_t += tf + tb
        L.append("| %s | %d->%d, %d, %d, %dx%d | %s | %s | %s | %s | %s |" % (
            name, C, O, K, s, H, W, fmt(nf, "%.3f"), fmt(nb, "%.3f"), fmt(tf, "%.3f"), fmt(tb, "%.3f"),
            ratio((tf or 0) + (tb or 0), (nf or 0) + (nb or 0)) if nf is not None and tf is not None else "-"))
    L.append("| **all 11** | | | | | | %s |" % ratio(tot_t, tot_n))

    for kind, title in (("train", "Training throughput (images/s; forward, loss, backward, SGD step)"),
                        ("infer", "Inference throughput (images/s; eval mode, no autograd)")):
        L += ["", "## " + title, "", "| model | batch | input | nicex | PyTorch | nicex / PyTorch |",
              "|---|---|---|---|---|---|"]
        for arch, N, HW, classes in MODELS:
            n, t = nicex_tp.get((arch, kind)), torch_tp.get((arch, kind))
            L.append("| %s | %d | 3x%dx%d, %d classes | %s | %s | %s |" % (
                arch, N, HW, HW, classes, fmt(n, "%.0f"), fmt(t, "%.0f"), ratio(n or 0, t or 0) if n and t else "-"))

    L += ["", "## LeNet5, 10 epochs of Fashion-MNIST (Adam 1e-3, batch 100, step 5 x0.1, seed 0)", "",
          "| | training s (10 epochs) | wall s | test accuracy |", "|---|---|---|---|"]
    for who, r in (("nicex `train --device cuda`", n_lenet), ("PyTorch (data in GPU memory)", t_lenet)):
        if r:
            L.append("| %s | %.1f | %s | %.2f%% |" % (who, r["seconds"], fmt(r.get("wall_seconds"), "%.1f"),
                                                    100 * r["test_accuracy"]))
        else:
            L.append("| %s | - | - | - |" % who)
    if n_lenet and n_lenet.get("memory"):
        m = n_lenet["memory"]
        L.append("")
        L.append("nicex's device allocations: %d in step 1, %d in the rest of the first epoch, %d in its first "
                 "evaluation, %d in epochs 2-10; step arena high water %.1f MiB: **%s**." % (
                     m["mallocs_step1"], m["mallocs_rest_of_first_epoch"], m["mallocs_first_eval"],
                     m["mallocs_later_epochs"], m["arena_high_water"] / 2**20,
                     "no cudaMalloc after the first step" if m["none_after_first_step"] else "ALLOCATES LATER"))

    for arch, rows in profiles.items():
        rows = sorted(rows, key=lambda kv: -kv["share"])
        L += ["", "## Where nicex's %s training step goes (synchronised per-kernel profile, 2 steps)" % arch, "",
              "| kernel | ms / step | calls / step | share |", "|---|---|---|---|"]
        for kv in rows[:12]:
            L.append("| %s | %.2f | %d | %.1f%% |" % (kv["kernel"], kv["ms_per_step"], kv["calls"],
                                                      100 * kv["share"]))
        bn = sum(kv["share"] for kv in rows if kv["kernel"].startswith("batchnorm2d"))
        L.append("")
        L.append("batchnorm2d (one block per channel) forward + backward: %.1f%% of the profiled step." % (100 * bn))

    n, t = nicex_tp.get(("resnet18", "train")), torch_tp.get(("resnet18", "train"))
    L.append("")
    if n and t:
        L.append("**ResNet18 training (batch 128, 224x224): nicex at %.2fx PyTorch's throughput** (goal: 0.5x)."
                 % (n / t))
    text = "\n".join(L) + "\n"
    write(args.out, text)
    if args.raw:
        write(args.raw, "".join(RAW))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
