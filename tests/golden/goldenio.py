"""goldenio.py: write golden files for the C tests (format in tests/golden.c).

Each generator module tests/golden/gen_<group>.py defines
    def generate(out_dir): ...
and, once per file, calls begin(name) before drawing that file's data and
write(out_dir, name, {key: tensor}) after. Run them all with `make golden`
(Debian's /usr/bin/python3 and python3-torch).

Seeding: begin(name) seeds torch's global generator from a stable hash of
the file name, and a file with several cases re-seeds each one with
subcase(name, key); write() refuses a file whose begin() was not called.
So a file's data depends on its own name (and case key) only: adding,
removing or reordering cases leaves every other file byte-identical.

0-dim tensors are stored with ndim 0 (np.asarray, not ascontiguousarray,
which would make them shape (1)).
"""
import os
import struct

import numpy as np
import torch

_begun = None  # the file begin() was last called for


def stable_seed(name):
    """FNV-1a (32 bits) of the name: the same on every run and Python version (unlike hash())."""
    h = 2166136261
    for ch in name.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def begin(name):
    """Start golden file `name`: seed torch's generator from the name alone."""
    global _begun
    torch.manual_seed(stable_seed(name))
    _begun = name


def subcase(name, key):
    """Re-seed for case `key` of file `name` (files holding several cases)."""
    assert _begun == name, "goldenio.subcase(%r, %r) outside begin(%r)" % (name, key, name)
    torch.manual_seed(stable_seed(name + "/" + str(key)))


def write(out_dir, name, tensors):
    """Write {key: tensor or array} to out_dir/name.bin, atomically."""
    global _begun
    assert _begun == name, "golden file %r: call goldenio.begin(%r) before drawing its data" % (name, name)
    _begun = None
    path = os.path.join(out_dir, name + ".bin")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"NXGOLD1\0")
        f.write(struct.pack("<I", len(tensors)))
        for key, t in tensors.items():
            if isinstance(t, torch.Tensor):
                t = t.detach().cpu().numpy()
            a = np.asarray(t)
            if a.dtype in (np.int64, np.int32):
                dtype, a = 1, a.astype("<i4")
            else:
                dtype, a = 0, a.astype("<f4")
            k = key.encode()
            f.write(struct.pack("<I", len(k)) + k)
            f.write(struct.pack("<II", dtype, a.ndim))
            f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(a.tobytes())  # C order whatever the layout
    os.replace(tmp, path)


def rand(*shape, lo=-1.0, hi=1.0, gen=None):
    """Uniform float32 tensor in [lo, hi)."""
    return torch.rand(*shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo


def write_safetensors(path, state_dict, metadata=None):
    """A safetensors file as PyTorch users export it (the format's spec:
    8-byte little-endian header size, JSON header, raw little-endian data).
    Debian has no python3-safetensors, so this follows the spec directly."""
    import json

    header, blobs, offset = {}, [], 0
    dtypes = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32"}
    for name, t in state_dict.items():
        a = t.detach().cpu().contiguous()
        raw = a.numpy().tobytes()
        header[name] = {"dtype": dtypes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)
