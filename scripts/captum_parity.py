#!/usr/bin/env python3
"""captum_parity.py: nicex's Saliency and Integrated Gradients against Captum.

Runs `nicex explain --method saliency` and `--method ig` on the shipped
LeNet5 and the first N Fashion-MNIST test images, loads the same weights
into an equivalent PyTorch module, computes Captum's Saliency (abs=True,
max over channels: one channel here) and IntegratedGradients (baseline 0,
the same integration rule and step count, attributions summed over
channels) for the same targets (read from nicex's maps.safetensors), and
prints the largest absolute and relative differences.

Run by `make parity-captum`, which makes the virtual environment
.venv-bench/ with torch 2.x and Captum from PyPI. Not part of `make test`.
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file
from safetensors import safe_open

import captum
from captum.attr import IntegratedGradients, Saliency


class LeNet5(nn.Module):
    """layers/lenet5.c: conv1 5x5 (20) relu pool2, conv2 5x5 (50) relu pool2, fc1 800-500 relu, fc2 500-10."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, h, w)


def run(cmd):
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def compare(name, ours, theirs):
    diff = np.abs(ours - theirs)
    scale = np.abs(theirs).reshape(len(theirs), -1).max(axis=1)
    rel_img = diff.reshape(len(theirs), -1).max(axis=1) / np.maximum(scale, 1e-30)
    big = np.abs(theirs) > 1e-3 * scale[:, None, None]
    rel_el = (diff[big] / np.abs(theirs[big])).max() if big.any() else 0.0
    print(f"{name:28s} max |nicex - captum| {diff.max():.3e}   max per-image |diff| / max|captum| {rel_img.max():.3e}"
          f"   max elementwise rel (|captum| > 1e-3 max) {rel_el:.3e}")
    return diff.max(), rel_img.max()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nicex", default="bin/nicex")
    ap.add_argument("--classifier", default="models/lenet5-fashion-mnist.safetensors")
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--rules", default="riemann_middle,riemann_trapezoid,riemann_right,gausslegendre")
    ap.add_argument("--out", default=None, help="folder for nicex's outputs (default: a temporary one)")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, captum {captum.__version__}")
    torch.set_num_threads(1)
    out = a.out or tempfile.mkdtemp(prefix="nx_parity_")

    model = LeNet5()
    state = {k: torch.from_numpy(v) for k, v in load_file(a.classifier).items()}
    model.load_state_dict(state, strict=True)
    model.eval()
    images = read_idx_images(os.path.join(a.data_dir, "t10k-images-idx3-ubyte.gz"))

    common = ["--classifier", a.classifier, "--n", str(a.n), "--data", "fashion-mnist:" + a.data_dir]
    run([a.nicex, "explain", "--method", "saliency", "--out", f"{out}/saliency"] + common)
    sal = load_file(f"{out}/saliency/maps.safetensors")
    idx, target = sal["index"].astype(np.int64), sal["target"].astype(np.int64)
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0)
    t = torch.from_numpy(target)
    with torch.no_grad():
        pred = model(x).argmax(1)
    assert (pred == t).all(), "nicex's predicted targets differ from PyTorch's predictions"

    theirs = Saliency(model).attribute(x.clone().requires_grad_(), target=t, abs=True).amax(1).detach().numpy()
    worst = [compare("Saliency", sal["maps"], theirs)]
    for rule in a.rules.split(","):
        d = f"{out}/ig_{rule}"
        run([a.nicex, "explain", "--method", "ig", "--rule", rule, "--steps", str(a.steps), "--baseline", "black",
             "--map", "signed", "--out", d] + common)
        ours = load_file(f"{d}/maps.safetensors")["maps"]
        ig = IntegratedGradients(model)
        attr = ig.attribute(x, baselines=torch.zeros_like(x), target=t, n_steps=a.steps, method=rule,
                            internal_batch_size=64)
        worst.append(compare(f"IntegratedGradients {rule}", ours, attr.sum(1).detach().numpy()))
    print(f"{a.n} Fashion-MNIST test images, {a.steps} IG steps; outputs in {out}")
    print(f"largest absolute difference {max(w[0] for w in worst):.3e}, "
          f"largest per-image relative difference {max(w[1] for w in worst):.3e}")


if __name__ == "__main__":
    sys.exit(main())
