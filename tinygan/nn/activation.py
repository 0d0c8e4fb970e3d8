"""Activation layers: LeakyReLU, ReLU, Tanh, Sigmoid."""

from __future__ import annotations

from tinygan.nn.module import Module
from tinygan.ops.activation import leaky_relu, relu, sigmoid, tanh


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x (GANs use 0.2)."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x):
        return relu(x)


class Tanh(Module):
    """y = tanh(x): a generator's last layer, for images scaled to [-1, 1]."""

    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    """y = 1 / (1 + e^-x)."""

    def forward(self, x):
        return sigmoid(x)
