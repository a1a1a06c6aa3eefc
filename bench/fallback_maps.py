#!/usr/bin/env python3
"""fallback_maps.py: maps.safetensors (eval/maps.h) for the controls and NICE
while `nicex explain --method random|intensity` is not available.

Used by bench/eval.py only when `nicex explain --method M` fails; the table
then says "(fallback maps)". Pure standard library (no numpy), so it runs
on a fresh clone.

  random     uniform [0, 1) per pixel, Python's random.Random(seed)
  intensity  the mean over channels of the pixels in [0, 1]
  nice       log_alpha from `nicex nice explain` (its maps.safetensors holds
             log_alpha (N, 1, H, W) and the test-time mask)

usage: fallback_maps.py METHOD --data-dir DIR --split test --n N --seed S
                        --out FILE [--nice-explain FILE --classifier C]
"""
import argparse
import array
import gzip
import json
import os
import random
import struct
import sys


def read_idx(path):
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return dims, data[4 + 4 * nd:]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        body = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = array.array("f")
        arr.frombytes(body[a:b])
        out[k] = (v["shape"], arr)
    return out


def write_safetensors(path, tensors, meta):
    head, blobs, off = {}, [], 0
    for name, (dtype, shape, arr) in tensors.items():
        b = arr.tobytes()
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    head["__metadata__"] = meta
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("method", choices=["random", "intensity", "nice"])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--data", required=True, help="the dataset spec, stored as metadata")
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classifier", default="")
    ap.add_argument("--nice-explain", help="maps.safetensors written by nicex nice explain")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    prefix = "train" if a.split == "train" else "t10k"
    (n_all, H, W), pix = read_idx(os.path.join(a.data_dir, prefix + "-images-idx3-ubyte"))
    _, lab = read_idx(os.path.join(a.data_dir, prefix + "-labels-idx1-ubyte"))
    n = min(a.n, n_all)
    maps = array.array("f")
    meta = {"method": a.method, "data": a.data, "split": a.split, "seed": str(a.seed),
            "classifier": a.classifier, "tool": "bench/fallback_maps.py"}
    if a.method == "random":
        r = random.Random(a.seed)
        maps.extend(r.random() for _ in range(n * H * W))
    elif a.method == "intensity":
        maps.extend(pix[i] / 255.0 for i in range(n * H * W))
    else:
        t = read_safetensors(a.nice_explain)
        shape, la = t["log_alpha"]
        if shape[0] < n or shape[2] != H or shape[3] != W:
            sys.exit("fallback_maps.py: %s holds %s, need %d maps of %dx%d" % (a.nice_explain, shape, n, H, W))
        maps.extend(la[:n * H * W])
        meta.update({"map": "log_alpha", "test_mask": "paper"})
    idx = array.array("i", range(n))
    labels = array.array("i", list(lab[:n]))
    write_safetensors(a.out, {"maps": ("F32", [n, H, W], maps), "index": ("I32", [n], idx),
                              "target": ("I32", [n], labels), "label": ("I32", [n], labels)}, meta)


if __name__ == "__main__":
    main()
