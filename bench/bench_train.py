"""bench_train.py: one epoch of LeNet5 on Fashion-MNIST, nicex against PyTorch CPU.

The NICE authors' recipe: Adam, lr 1e-3, batch 100, shuffled, no
augmentation, pixels in [0, 1]. Both run in this process's run on the same
machine with the same number of threads (OMP_NUM_THREADS, default: all
cores). Time per epoch is the training loop only (no test pass); accuracy is
on the 10,000 test images after the epoch. Writes a markdown table.

usage: bench_train.py --nicex bin/nicex --out bench/results/train-cpu.md [--data DIR]
"""
import argparse
import datetime
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_idx(path):
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


def torch_epoch(data_dir, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xtr = torch.tensor(load_idx(find(data_dir, "train-images-idx3-ubyte")), dtype=torch.float32).div_(255).unsqueeze(1)
    ytr = torch.tensor(load_idx(find(data_dir, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.tensor(load_idx(find(data_dir, "t10k-images-idx3-ubyte")), dtype=torch.float32).div_(255).unsqueeze(1)
    yte = torch.tensor(load_idx(find(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64))
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
    return seconds, acc


def nicex_epoch(nicex, threads, data_spec):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([nicex, "train", "--model", "lenet5", "--data", data_spec, "--epochs", "1", "--opt", "adam",
                              "--lr", "1e-3", "--batch", "100", "--seed", "0", "--json", "--out",
                              os.path.join(tmp, "m.safetensors")], env=env, check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["seconds"], r["test_accuracy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nicex", default="bin/nicex")
    ap.add_argument("--out", default="bench/results/train-cpu.md")
    ap.add_argument("--data", default=FMNIST)
    args = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    spec = "fashion-mnist" if args.data == FMNIST else "fashion-mnist:" + args.data
    n_sec, n_acc = nicex_epoch(args.nicex, threads, spec)
    t_sec, t_acc = torch_epoch(args.data, threads)
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    text = f"""# LeNet5, one epoch of Fashion-MNIST on the CPU: nicex vs PyTorch

Recipe of the NICE authors: Adam lr 1e-3, batch 100, 60,000 training images,
shuffled; time is the training loop of one epoch; accuracy on the 10,000 test
images after it.

| | seconds / epoch | images / s | test accuracy |
|---|---|---|---|
| nicex | {n_sec:.1f} | {60000 / n_sec:.0f} | {100 * n_acc:.2f}% |
| PyTorch {torch.__version__} | {t_sec:.1f} | {60000 / t_sec:.0f} | {100 * t_acc:.2f}% |

**nicex is {t_sec / n_sec:.2f}x PyTorch's speed** (PyTorch time / nicex time).

- machine: {cpu}, {os.cpu_count()} cores, {threads} threads for both ({platform.machine()})
- date: {datetime.date.today().isoformat()}
- command: `make bench-train` (bench/bench_train.py --nicex {args.nicex})
"""
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    print(text)


if __name__ == "__main__":
    main()
