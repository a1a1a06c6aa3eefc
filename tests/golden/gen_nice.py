"""Golden data for the NICE op neighbor_l1 (eq. 9 of the NICE paper)."""
import torch

from goldenio import begin, rand, write


def neighbor_l1(x):
    return ((x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum((1, 2, 3))
            + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum((1, 2, 3))
            + (x[:, :, 1:, 1:] - x[:, :, :-1, :-1]).abs().sum((1, 2, 3))
            + (x[:, :, 1:, :-1] - x[:, :, :-1, 1:]).abs().sum((1, 2, 3)))


def generate(out):
    begin("neighbor_l1")
    x = rand(3, 2, 6, 7).requires_grad_()
    y = neighbor_l1(x)
    dy = rand(3)
    y.backward(dy)
    write(out, "neighbor_l1", {"x": x, "y": y, "dy": dy, "dx": x.grad})
