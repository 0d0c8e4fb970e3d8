"""Equalized learning rate (Karras, Aila, Laine & Lehtinen 2018, section 4.1).

Adam divides each update by a running estimate of the gradient's scale, so a weight's step
size does not depend on its gradient's size, only on lr. A layer whose weights are large
(He's initialisation gives std sqrt(2 / fan_in)) then learns relatively more slowly than one
whose weights are small. ProGAN stores every weight as w ~ N(0, 1) and scales it at run time:

    w_hat = c * w,   c = gain / sqrt(fan_in)   (He's constant; gain = sqrt(2) before a leaky ReLU)

so that all weights live on one scale and Adam's steps mean the same to every layer. The
effective weight is w_hat, and the gradient reaching the stored w is c * dL/dw_hat.

``EqualizedLR(layer)`` wraps a Linear or a Conv2d: it re-initialises the layer's weight to
N(0, 1) and its bias to 0, keeps both in the layer (state keys ``layer.weight``, ``layer.bias``)
and computes the layer's own operation with c * w. ``equalized_lr(layer)`` is the same call.
"""

from __future__ import annotations

import math

from tinygan.nn import init
from tinygan.nn._checks import check_input
from tinygan.nn.conv import Conv2d
from tinygan.nn.linear import Linear
from tinygan.nn.module import Module
from tinygan.ops.conv import conv2d
from tinygan.ops.nn import linear


class EqualizedLR(Module):
    """y = layer(x) computed with the weight c * w, c = gain / sqrt(fan_in); w ~ N(0, 1), b = 0."""

    def __init__(self, layer, gain=math.sqrt(2.0)):
        super().__init__()
        if not isinstance(layer, (Linear, Conv2d)):
            raise TypeError(f"EqualizedLR: layer: expected a Linear or a Conv2d, got {type(layer).__name__}")
        if not gain > 0:
            raise ValueError(f"EqualizedLR: gain: expected a positive number, got {gain!r}")
        self.layer = layer
        self.gain = float(gain)
        fan_in, _ = init.calculate_fan_in_and_fan_out(layer.weight)
        self.scale = self.gain / math.sqrt(fan_in)
        init.normal_(layer.weight, 0.0, 1.0)
        if layer.bias is not None:
            init.zeros_(layer.bias)

    def effective_weight(self):
        """c * w: the weight the layer computes with."""
        return self.layer.weight * self.scale

    def forward(self, x):
        layer = self.layer
        w = self.effective_weight()
        if isinstance(layer, Linear):
            check_input(layer, x, axis=-1, size=layer.in_features, like=layer.weight)
            return linear(x, w, layer.bias)
        check_input(layer, x, ndim=4, axis=1, size=layer.in_channels, like=layer.weight)
        return conv2d(x, w, layer.stride, layer.padding, layer.dilation, bias=layer.bias)

    def extra_repr(self):
        return f"gain={self.gain:.4g}, scale={self.scale:.4g}"


def equalized_lr(layer, gain=math.sqrt(2.0)):
    """``layer`` (a Linear or Conv2d) with an equalized learning rate: ``EqualizedLR(layer, gain)``."""
    return EqualizedLR(layer, gain)
