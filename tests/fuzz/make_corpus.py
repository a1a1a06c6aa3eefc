#!/usr/bin/env python3
"""make_corpus.py: the seed corpus of the fuzz harnesses (tests/fuzz/corpus/).

Small valid files of each format, plus near-misses (a cut header, a wrong
magic), written with the standard library only; JPEG seeds are the test
fixtures of tests/data/folder plus what ImageMagick's `convert` makes when
it exists (progressive, grayscale). Run: make fuzz-corpus.
"""
import gzip, json, os, shutil, struct, subprocess, sys, zlib

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus"
here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "data", "folder")


def put(kind, name, data):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx(dims, fill=7):
    n = 1
    for d in dims:
        n *= d
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes([fill % 256]) * n


# ---- IDX -------------------------------------------------------------------
put("idx", "images_3x4x4", idx([3, 4, 4]))
put("idx", "labels_5", idx([5], 3))
put("idx", "images_2x28x28.gz", gzip.compress(idx([2, 28, 28], 200), mtime=0))
put("idx", "labels_4.gz", gzip.compress(idx([4], 1), mtime=0))
put("idx", "four_dims", idx([1, 2, 3, 2]))
put("idx", "cut_header", idx([3, 4, 4])[:9])
put("idx", "float_type", bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 2) + bytes(8))

# ---- CIFAR-10 --------------------------------------------------------------
rec = lambda label, v: bytes([label]) + bytes([v]) * 3072
put("cifar", "one_record", rec(3, 9))
put("cifar", "two_records", rec(0, 1) + rec(9, 250))
put("cifar", "bad_label", rec(11, 0))
put("cifar", "partial", rec(1, 2)[:100])


# ---- safetensors -----------------------------------------------------------
def safetensors(tensors, meta=None, pad=True):
    header, data = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
put("safetensors", "two_tensors", safetensors([("a", "F32", [2, 2], f32(1, 2, 3, 4)), ("b.bias", "I64", [1], struct.pack("<q", 5))]))
put("safetensors", "metadata", safetensors([("fc2.bias", "F32", [3], f32(0, 0, 0))],
                                           {"format": "nicex", "arch": "lenet5", "classes": "3", "in_channels": "1", "in_size": "28"}))
put("safetensors", "scalar_and_empty", safetensors([("s", "F32", [], f32(1)), ("e", "F32", [0, 3], b"")]))
put("safetensors", "escapes", safetensors([("n\u00e9\t\U0001F600", "U8", [3], b"abc")], {"k\"": "v\\/"}))
put("safetensors", "empty", safetensors([]))
put("safetensors", "truncated", safetensors([("a", "F32", [4], f32(1, 2, 3, 4))])[:-3])
torch_small = os.path.join(here, "..", "data", "torch_small.safetensors")
if os.path.exists(torch_small):
    shutil.copy(torch_small, os.path.join(out, "safetensors", "torch_small"))


# ---- PNG -------------------------------------------------------------------
def png(w, h, color, depth, rows, extra=b""):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    raw = b"".join(b"\0" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


put("png", "gray_4x3", png(4, 3, 0, 8, [bytes([i * 40 + j for j in range(4)]) for i in range(3)]))
put("png", "rgb_2x2", png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))]))
put("png", "rgba_2x1_16bit", png(2, 1, 6, 16, [bytes(range(16))]))
put("png", "gray_1bit_9x2", png(9, 2, 0, 1, [b"\xaa\x80", b"\x55\x00"]))
plte = struct.pack(">I", 6) + b"PLTE" + b"\xff\0\0\0\xff\0"
plte += struct.pack(">I", zlib.crc32(b"PLTE\xff\0\0\0\xff\0") & 0xFFFFFFFF)
put("png", "palette_3x1", png(3, 1, 3, 8, [b"\0\1\0"], plte))
os.makedirs(os.path.join(out, "jpeg"), exist_ok=True)
for f in sorted(os.listdir(fixtures)) if os.path.isdir(fixtures) else []:
    for g in sorted(os.listdir(os.path.join(fixtures, f))):
        src = os.path.join(fixtures, f, g)
        kind = "png" if g.endswith(".png") else "jpeg"
        shutil.copy(src, os.path.join(out, kind, f + "_" + g))

# ---- JPEG (libjpeg, through tests/fuzz/jpeg_seeds.c) ---------------------------
tool = os.path.join(os.environ.get("TMPDIR", "/tmp"), "nicex-jpeg-seeds-%d" % os.getpid())
subprocess.run(["cc", "-O1", "-o", tool, os.path.join(here, "jpeg_seeds.c"), "-ljpeg"], check=True)
subprocess.run([tool, os.path.join(out, "jpeg")], check=True)
os.remove(tool)
print("corpus in", out, {k: len(os.listdir(os.path.join(out, k))) for k in sorted(os.listdir(out))})
