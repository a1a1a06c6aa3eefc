#!/usr/bin/python3
"""make_fixtures.py: the small files tests/suite_data.c reads (commit them).

Run with Debian's python3 (torch, PIL, numpy):
    /usr/bin/python3 tests/data/make_fixtures.py tests/data

Writes:
  torch_small.safetensors  the state_dict of a tiny PyTorch model (conv, batchnorm
      with its int64 num_batches_tracked, linear) in the safetensors format.
      Debian has no python3-safetensors, so the file is written here from the
      format's spec with struct and json, laid out as the reference library does
      (tensors sorted by dtype, largest first, then by name; header padded with
      spaces to a multiple of 8). Values: tensor number k of the sorted
      state_dict keys holds arange(numel) * 0.25 - k; num_batches_tracked = 7.
  torch_half.safetensors   fp16 and bf16 tensors made by torch (v.half(),
      v.bfloat16(), stored as their raw 16-bit words) for a float32 vector v of
      hard cases (ties, subnormals, overflow, inf, NaN, random values over many
      exponents), with v itself ("v", F32) and torch's widening back
      ("f16_as_f32", "bf16_as_f32", F32): the loader's widening and nicex's
      narrowing are checked against them bit for bit.
  folder/<class>/*         five 8x6 images (RGB JPEG, RGB PNG, gray JPEG, RGBA
      PNG, palette PNG) in two classes, made with PIL.
  folder_expected.bin      for each image of folder/ in sorted order: PIL's
      decode, convert("RGB"), as (H, W, 3) bytes; then the same images resized
      to 4x4 with Image.resize((4, 4), BILINEAR).
  resize_expected.bin      PIL's bilinear resize of the 19x15 (W x H) gray
      pattern v(x, y) = (7x^2 + 13y + 3xy + 11) mod 256 to 7x5, 31x26, 10x24.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8"), torch.int32: ("I32", "<i4"),
          torch.float16: ("F16", "<u2"), torch.bfloat16: ("BF16", "<u2")}
# the reference library's Dtype order (an enum); it sorts tensors by dtype, descending
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
               "I64", "U64"]


def save_safetensors(path, tensors, metadata):
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_ORDER.index(DTYPES[kv[1].dtype][0]), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in items:
        dtype, np_dtype = DTYPES[t.dtype]
        t = t.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):  # numpy has no bfloat16: write the raw 16-bit words
            t = t.view(torch.int16)
        blob = np.ascontiguousarray(t.numpy().astype(np_dtype) if t.dtype != torch.int16 else t.numpy()).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def make_safetensors(out):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(8, 3))
    sd = model.state_dict()
    with torch.no_grad():
        for k, name in enumerate(sorted(sd)):
            t = sd[name]
            if t.dtype == torch.int64:
                t.fill_(7)
            else:
                t.copy_((torch.arange(t.numel(), dtype=torch.float32) * 0.25 - k).reshape(t.shape))
    save_safetensors(os.path.join(out, "torch_small.safetensors"), sd, {"format": "pt", "source": "make_fixtures.py"})


def make_half(out):
    special = [0.0, -0.0, 1.0, -2.5, 65504.0, 65519.99, 65520.0, -65520.0, 1e5, float("inf"), float("-inf"),
               float("nan"), 2.0**-24, 2.0**-25, 1.5 * 2.0**-25, 2.0**-26, 3 * 2.0**-25, 2.0**-14, 2.0**-14 - 2.0**-24,
               2.0**-14 - 2.0**-25, 6.1e-5, 1e-8, 1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 + 2.0**-11 + 2.0**-20,
               1 + 2.0**-8, 1 + 3 * 2.0**-8, 1 + 2.0**-8 + 2.0**-20, 3.3895314e38, 3.4028235e38, -3.4028235e38,
               1e-38, 1e-40, -1e-45, 0.1, 1.0 / 3]
    g = torch.Generator().manual_seed(0)
    rand = torch.randn(4000, generator=g) * torch.pow(2.0, torch.randint(-30, 20, (4000,), generator=g).float())
    v = torch.cat([torch.tensor(special, dtype=torch.float32), rand.float()])
    h, b = v.half(), v.bfloat16()
    save_safetensors(os.path.join(out, "torch_half.safetensors"),
                     {"v": v, "f16": h, "bf16": b, "f16_as_f32": h.float(), "bf16_as_f32": b.float()},
                     {"source": "make_fixtures.py", "torch": torch.__version__})


def pattern(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 40 + y * 25) % 256
    chans = [base, (255 - base + 17 * x) % 256, (x * y * 9 + 60) % 256]
    return np.stack(chans[:c], axis=-1).astype(np.uint8)


def make_folder(out):
    h, w = 6, 8
    rgb = pattern(h, w, 3)
    imgs = {
        "cat/a.jpg": (Image.fromarray(rgb, "RGB"), dict(quality=90)),
        "cat/b.png": (Image.fromarray(rgb[::-1].copy(), "RGB"), {}),
        "dog/c.jpg": (Image.fromarray(rgb[:, :, 0].copy(), "L"), dict(quality=90)),
        "dog/d.png": (Image.fromarray(np.concatenate([rgb[:, ::-1], rgb[:, :, :1]], axis=2).copy(), "RGBA"), {}),
        "dog/e.png": (Image.fromarray(rgb, "RGB").quantize(colors=6), {}),
    }
    expected, resized = b"", b""
    for name in sorted(imgs):
        img, kw = imgs[name]
        path = os.path.join(out, "folder", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        img.save(path, **kw)
        back = Image.open(path).convert("RGB")
        expected += np.asarray(back).tobytes()
        resized += np.asarray(back.resize((4, 4), Image.BILINEAR)).tobytes()
    with open(os.path.join(out, "folder_expected.bin"), "wb") as f:
        f.write(expected + resized)


def make_resize(out):
    h, w = 15, 19
    y, x = np.mgrid[0:h, 0:w]
    src = Image.fromarray(((7 * x * x + 13 * y + 3 * x * y + 11) % 256).astype(np.uint8), "L")
    data = b""
    for size in [(7, 5), (31, 26), (10, 24)]:
        data += np.asarray(src.resize(size, Image.BILINEAR)).tobytes()
    with open(os.path.join(out, "resize_expected.bin"), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    make_safetensors(out)
    make_half(out)
    make_folder(out)
    make_resize(out)
