"""check_torch_accuracy.py CKPT: load a nicex LeNet5 checkpoint in PyTorch and
compare its Fashion-MNIST test accuracy with `nicex eval` on the same file.

usage: /usr/bin/python3 scripts/check_torch_accuracy.py models/lenet5-fashion-mnist.safetensors [--nicex bin/nicex]
Exits 1 if the file does not load strictly (apart from batchnorm's
num_batches_tracked, which nicex does not keep) or the accuracies differ by
more than 0.05 points.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from bench_train import FMNIST, LeNet5, find, load_idx  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    kinds = {"F32": np.float32, "I64": np.int64, "I32": np.int32}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = torch.tensor(np.frombuffer(data[b:e], dtype=kinds[info["dtype"]]).reshape(info["shape"]).copy())
    return out, meta


def main():
    ckpt = sys.argv[1]
    nicex = sys.argv[sys.argv.index("--nicex") + 1] if "--nicex" in sys.argv else "bin/nicex"
    state, meta = read_safetensors(ckpt)
    model = LeNet5()
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        sys.exit("%s: missing %s, unexpected %s" % (ckpt, missing, result.unexpected_keys))
    x = torch.tensor(load_idx(find(FMNIST, "t10k-images-idx3-ubyte")), dtype=torch.float32).div_(255).unsqueeze(1)
    y = torch.tensor(load_idx(find(FMNIST, "t10k-labels-idx1-ubyte")).astype(np.int64))
    model.eval()
    with torch.no_grad():
        torch_acc = (model(x).argmax(1) == y).float().mean().item()
    out = subprocess.run([nicex, "eval", "--ckpt", ckpt, "--json"], check=True, capture_output=True, text=True)
    nicex_acc = json.loads(out.stdout)["accuracy"]
    print("%s (%s): PyTorch %.2f%%, nicex %.2f%% on the 10,000 Fashion-MNIST test images"
          % (ckpt, meta.get("arch", "?"), 100 * torch_acc, 100 * nicex_acc))
    if abs(torch_acc - nicex_acc) > 0.0005:
        sys.exit("accuracies differ")


if __name__ == "__main__":
    main()
