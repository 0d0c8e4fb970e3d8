"""Activation layers: LeakyReLU, ReLU, Tanh, Sigmoid, ELU, SELU, GLU."""

from __future__ import annotations

from tinygan.nn.module import Module
from tinygan.ops.activation import elu, glu, leaky_relu, relu, selu, sigmoid, tanh


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


class ELU(Module):
    """y = x if x > 0 else alpha (e^x - 1) (Clevert et al. 2015; BEGAN's networks use it)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        return elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(Module):
    """y = lambda (x if x > 0 else alpha (e^x - 1)), lambda = 1.0507, alpha = 1.6733 (Klambauer et al.
    2017): the scaled ELU whose activations converge to mean 0 and variance 1 (HR-DCGAN uses it)."""

    def forward(self, x):
        return selu(x)


class GLU(Module):
    """y = a * sigmoid(b), (a, b) the two halves of x along ``dim`` (the gated linear unit; StackGAN++'s
    generator gates every block with it): the output has half the input's channels."""

    def __init__(self, dim=1):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x):
        return glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
