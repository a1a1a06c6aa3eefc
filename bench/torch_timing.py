#!/usr/bin/env python3
"""torch_timing.py: Captum and pytorch-grad-cam on the same LeNet5 and images (make bench-table2).

Loads a nicex LeNet5 checkpoint (safetensors, PyTorch's state_dict keys)
into torch.nn, the first N test images of an IDX dataset, and times, in
process, R runs after one warm-up of:
  saliency  captum.attr.Saliency (abs=True; max over the 1 channel is the identity)
  ig        captum.attr.IntegratedGradients, n_steps 50, method riemann_right,
            black baseline, internal_batch_size 64 (nicex ig's defaults)
  gradcam   pytorch_grad_cam.GradCAM at relu2 (the last conv block, nicex's
            `features`), or a 20-line Grad-CAM when the package is missing
each explaining the predicted class, in batches of 64. Prints one JSON line.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

t_import = time.perf_counter()
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

IMPORT_S = time.perf_counter() - t_import


class LeNet5(nn.Module):
    def __init__(self, classes=10, side=28):
        super().__init__()
        s = ((side - 4) // 2 - 4) // 2
        self.conv1, self.relu1, self.pool1 = nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.relu2, self.pool2 = nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2)
        self.fc1, self.relu3, self.fc2 = nn.Linear(50 * s * s, 500), nn.ReLU(), nn.Linear(500, classes)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc2(self.relu3(self.fc1(torch.flatten(x, 1))))


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        body = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(v["shape"])
    return out


def read_idx(path):
    if os.path.exists(path + ".gz"):
        path += ".gz"
    data = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return dims, data[4 + 4 * nd:]


def gradcam_fallback(model, x, target):
    """Grad-CAM (Selvaraju et al.): relu(sum_k mean_ij(dy/dA_k) A_k), upsampled bilinearly."""
    acts = {}
    h = model.relu2.register_forward_hook(lambda m, i, o: acts.setdefault("a", o))
    x = x.clone().requires_grad_(False)
    y = model(x)
    h.remove()
    a = acts["a"]
    g, = torch.autograd.grad(y.gather(1, target[:, None]).sum(), a)
    cam = torch.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
    return torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    sd = load_safetensors(a.model)
    side = 28
    (n_all, H, W), pix = read_idx(os.path.join(a.data_dir, "t10k-images-idx3-ubyte"))
    side = H
    model = LeNet5(sd["fc2.weight"].shape[0], side)
    model.load_state_dict(sd, strict=True)
    model.eval()
    n = min(a.n, n_all)
    x = torch.frombuffer(bytearray(pix[:n * H * W]), dtype=torch.uint8).float().div(255).reshape(n, 1, H, W)
    with torch.no_grad():
        pred = model(x).argmax(1)
    import captum
    from captum.attr import IntegratedGradients, Saliency
    notes = []
    try:
        import pytorch_grad_cam
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        cam_obj = GradCAM(model=model, target_layers=[model.relu2])
        gc_lib = "pytorch_grad_cam.GradCAM (relu2)"

        def gradcam(xb, tb):
            return cam_obj(input_tensor=xb, targets=[ClassifierOutputTarget(int(t)) for t in tb])
    except ImportError:
        gc_lib = "a 20-line Grad-CAM in PyTorch (pytorch-grad-cam not installed)"
        notes.append("pytorch-grad-cam missing: Grad-CAM is bench/torch_timing.py's own")
        gradcam = lambda xb, tb: gradcam_fallback(model, xb, tb)
    sal, ig = Saliency(model), IntegratedGradients(model)
    methods = {
        "saliency": ("captum.attr.Saliency (abs)", lambda xb, tb: sal.attribute(xb.requires_grad_(), target=tb, abs=True)),
        "ig": ("captum.attr.IntegratedGradients (n_steps 50, riemann_right, black baseline)",
               lambda xb, tb: ig.attribute(xb, baselines=xb * 0, target=tb, n_steps=50, method="riemann_right",
                                           internal_batch_size=64)),
        "gradcam": (gc_lib, gradcam),
    }
    results = {}
    for name, (lib, fn) in methods.items():
        def once():
            for s in range(0, n, a.batch):
                fn(x[s:s + a.batch].clone(), pred[s:s + a.batch])
        once()  # warm-up
        ts = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            once()
            ts.append(time.perf_counter() - t0)
        mean = sum(ts) / len(ts)
        std = (sum((t - mean) ** 2 for t in ts) / (len(ts) - 1)) ** 0.5 if len(ts) > 1 else 0.0
        results[name] = {"lib": lib, "n": n, "mean_s": mean, "std_s": std}
    vers = "PyTorch %s, Captum %s, %d threads" % (torch.__version__, captum.__version__, threads)
    print(json.dumps({"versions": vers, "repeats": a.repeats, "import_s": IMPORT_S, "results": results, "notes": notes}))


if __name__ == "__main__":
    main()
