"""Pixelwise feature normalisation (Karras et al. 2018, section 4.2).

After every convolution of ProGAN's generator, the feature vector of each pixel is scaled to
unit mean square over the channels:

    b[n, :, h, w] = a[n, :, h, w] / sqrt( (1/C) sum_j a[n, j, h, w]^2 + eps ),  eps = 1e-8

It has no weights and no batch statistics: it only stops the magnitudes in G and D from
escalating as they compete. Composed of differentiable ops, so its second derivative exists.
"""

from __future__ import annotations

from tinygan.nn._checks import check_input
from tinygan.nn.module import Module
from tinygan.ops import mean, sqrt


def pixel_norm(x, eps=1e-8):
    """x / sqrt(mean over axis 1 of x^2 + eps)."""
    return x / sqrt(mean(x * x, axis=1, keepdims=True) + eps)


class PixelNorm(Module):
    """Normalise each pixel's feature vector (axis 1) to unit mean square (N, C, ...) -> same shape."""

    def __init__(self, eps=1e-8):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"PixelNorm: eps: expected a positive number, got {eps!r}")
        self.eps = float(eps)

    def forward(self, x):
        check_input(self, x, ndim=(2, 3, 4))
        return pixel_norm(x, self.eps)

    def extra_repr(self):
        return f"eps={self.eps}"
