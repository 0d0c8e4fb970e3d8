"""ResidualBlock: y = ReLU(x + BN(Conv(ReLU(BN(Conv(x)))))) (He et al. 2016; StackGAN's Stage-II G).

A block keeps the shape (C, H, W): two 3x3 convolutions with padding 1, each followed by batch
normalisation, the first by a ReLU; the input is added back (the skip) before the last ReLU.
Because the block only has to learn a correction F(x) to its input, a stack of them refines a
feature map without having to re-learn it: what StackGAN's Stage-II generator does to the
features of the Stage-I image.
"""

from __future__ import annotations

from tinygan.nn._checks import check_input
from tinygan.nn._param import positive_int
from tinygan.nn.activation import ReLU
from tinygan.nn.conv import Conv2d
from tinygan.nn.module import Module, Sequential
from tinygan.nn.norm import BatchNorm2d
from tinygan.ops import relu


class ResidualBlock(Module):
    """y = ReLU(x + F(x)), F = Conv3x3 -> BN -> ReLU -> Conv3x3 -> BN, on (N, channels, H, W)."""

    def __init__(self, channels, momentum=0.1):
        super().__init__()
        self.channels = positive_int(channels, "channels", "ResidualBlock")
        self.body = Sequential(
            Conv2d(channels, channels, 3, padding=1, bias=False), BatchNorm2d(channels, momentum=momentum), ReLU(),
            Conv2d(channels, channels, 3, padding=1, bias=False), BatchNorm2d(channels, momentum=momentum))

    def forward(self, x):
        check_input(self, x, ndim=4, axis=1, size=self.channels)
        return relu(x + self.body(x))

    def extra_repr(self):
        return f"{self.channels}"
