"""Golden data for whole models: LeNet5, VGG11 (32x32), ResNet18 (64x64).

Weights and inputs are not stored: both sides fill them from the same
integer hash (hash_fill below, tests/suite_models.c: hash_fill), so the files
stay small. For each model the file holds the logits, the loss, every
parameter gradient (whole for small tensors; for large ones its sum, sum of
squares and 64 sampled elements), the batchnorm running statistics after the
training-mode forward, and the losses of 5 SGD and 5 Adam steps.

Choosing the input. ReLU and max pooling make the gradient discontinuous in
the input: a pre-activation within rounding of 0, or two near-equal values
in a pooling window, send a whole upstream gradient one way in PyTorch and
the other way in nicex, whose float32 sums round differently (both are
right; the point is ill-conditioned). With batchnorm, ~10^5 pooling windows
and ~10^6 ReLUs, most inputs hold such a decision for VGG11 and ResNet18
(VGG11's first input tied two values of one pooling window after the 2nd
block in float32). So the generator tries the inputs "input", "input.1",
... and keeps the first whose gradients stay within a quarter of the C
test's tolerance when the input gets N(0, 1e-6) noise, 8 times (that noise
moves every activation 5-10x more than nicex's rounding differs from
PyTorch's); the file records its index as "input_seed".
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from goldenio import begin, write, write_safetensors

SMALL = 4096  # tensors up to this size are stored whole
SAMPLES = 64
RTOL = {"lenet5": 2e-4, "vgg11": 2e-3, "resnet18": 2e-3}  # suite_models.c: cases[].rtol
STABLE_NOISE, STABLE_TRIALS, STABLE_MARGIN = 1e-6, 8, 0.25


def name_seed(name):
    h = 2166136261
    for ch in name.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def hash_unit(seed, n):
    """n values in [0, 1) from a 32-bit integer hash of (seed, i)."""
    x = (np.arange(n, dtype=np.uint64) * 0x9E3779B1 + seed) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    x ^= x >> 16
    return (x >> 8).astype(np.float64) / 16777216.0


def hash_fill(name, shape):
    """The deterministic value of parameter `name` (mirrors suite_models.c)."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = hash_unit(name_seed(name), n)
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) > 1:
        fan_in = n // shape[0]
        v = (2 * u - 1) / np.sqrt(fan_in)
    elif leaf == "weight":  # batchnorm scale
        v = 1 + 0.2 * (2 * u - 1)
    elif leaf == "running_var":
        v = 0.5 + u
    else:  # biases, batchnorm shift, running_mean
        v = 0.1 * (2 * u - 1)
    return torch.tensor(v.astype(np.float32).reshape(shape))


class LeNet5(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class VGG11(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        layers, c = [], 3
        for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def fill_model(model):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            t.copy_(hash_fill(name, tuple(t.shape)))


def summarise(prefix, name, t, out):
    a = t.detach().numpy().astype(np.float64).ravel()
    if a.size <= SMALL:
        out[prefix + name] = t.detach()
    else:
        idx = (hash_unit(name_seed(name) ^ 0x5A5A5A5A, SAMPLES) * a.size).astype(np.int64)
        out[prefix + name + ":stats"] = np.array([a.sum(), (a * a).sum()], dtype=np.float32)
        out[prefix + name + ":idx"] = idx.astype(np.int32)
        out[prefix + name + ":val"] = a[idx].astype(np.float32)


def make_model(arch):
    if arch == "lenet5":
        return LeNet5(), (4, 1, 28, 28)
    if arch == "vgg11":
        return VGG11(), (4, 3, 32, 32)
    return torchvision.models.resnet18(num_classes=10), (2, 3, 64, 64)


def make_input(k, shape):
    """Input number k: "input", "input.1", ... (mirrors suite_models.c: make_input)."""
    name = "input" if k == 0 else "input.%d" % k
    return torch.tensor(hash_unit(name_seed(name), int(np.prod(shape))).astype(np.float32).reshape(shape))


def param_grads(arch, x, y):
    model, _ = make_model(arch)
    fill_model(model)
    model.train()
    F.cross_entropy(model(x), y).backward()
    return {name: p.grad.detach().double().numpy().ravel() for name, p in model.named_parameters()}


def excess(name, got, want, rtol):
    """Largest |got - want| / tolerance over the checks suite_models.c makes on a gradient."""
    if want.size <= SMALL:
        return (np.abs(got - want) / (0.1 * rtol + rtol * np.abs(want))).max()
    idx = (hash_unit(name_seed(name) ^ 0x5A5A5A5A, SAMPLES) * want.size).astype(np.int64)
    s, ss = want.sum(), (want * want).sum()
    rms = np.sqrt(ss / want.size)
    return max(abs(got.sum() - s) / (rtol * np.sqrt(ss) + 1e-6),
               abs((got * got).sum() - ss) / (rtol * ss + 1e-9),
               (np.abs(got[idx] - want[idx]) / (rtol * rms + 1e-7 + rtol * np.abs(want[idx]))).max())


def stable_input(arch, shape, y):
    """The first input whose gradients do not jump under tiny noise (see the top)."""
    rtol = 5 * RTOL[arch]  # gradients are compared at 5 x the case's rtol
    for k in range(64):
        x = make_input(k, shape)
        base = param_grads(arch, x, y)
        gen = torch.Generator().manual_seed(k)
        for _ in range(STABLE_TRIALS):
            g = param_grads(arch, x + STABLE_NOISE * torch.randn(shape, generator=gen), y)
            if max(excess(n, g[n], base[n], rtol) for n in base) > STABLE_MARGIN:
                break
        else:
            return k, x
    raise RuntimeError("gen_models: no well-conditioned input for " + arch)


def generate(out):
    for arch in ["lenet5", "vgg11", "resnet18"]:
        begin("model_" + arch)  # the data is hash-filled; only torch's own (overwritten) init draws
        model, shape = make_model(arch)
        fill_model(model)
        y = torch.arange(shape[0]) % 10
        k, x = stable_input(arch, shape, y)
        rec = {"input_seed": np.array([k], dtype=np.int32)}
        model.train()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        rec["logits"] = logits
        rec["loss"] = loss  # 0-dim, as nx_cross_entropy returns
        for name, p in model.named_parameters():
            summarise("grad.", name, p.grad, rec)
        for name, b in model.named_buffers():
            if "running" in name:
                summarise("after.", name, b, rec)
        model.eval()
        with torch.no_grad():
            rec["eval_logits"] = model(x)
        # 5 training steps with each optimizer, from the same start.
        for opt_name in ["sgd", "adam"]:
            model, _ = make_model(arch)
            fill_model(model)
            model.train()
            if opt_name == "sgd":
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            else:
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            losses = []
            for _ in range(5):
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            rec["losses." + opt_name] = np.array(losses, dtype=np.float32)
        write(out, "model_" + arch, rec)
    # A LeNet5 exported from PyTorch (its own random init, strict state_dict
    # keys) and its logits: nicex must load the file and reproduce them.
    begin("torch_lenet5")
    model = LeNet5().eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    write_safetensors(out + "/torch_lenet5.safetensors", model.state_dict())
    write(out, "torch_lenet5", {"x": x, "logits": logits})
