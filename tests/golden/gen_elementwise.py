"""Golden data for the elementwise ops (relu, ...)."""
import torch

from goldenio import rand, write


def generate(out):
    x = rand(2, 3, 4, 5).requires_grad_()
    y = torch.relu(x)
    dy = rand(*y.shape)
    y.backward(dy)
    write(out, "relu", {"x": x, "y": y, "dy": dy, "dx": x.grad})
