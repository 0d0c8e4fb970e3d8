"""Pooling and up-sampling layers: AvgPool2d, MaxPool2d, Upsample (nearest)."""

from __future__ import annotations

from tinygan.nn._checks import check_input
from tinygan.nn.module import Module
from tinygan.ops.conv import _pair
from tinygan.ops.pool import avg_pool2d, max_pool2d, upsample_nearest


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_Pool2d):
    """Mean over each kernel_size window (Progressive GAN's down-sampling)."""

    def forward(self, x):
        check_input(self, x, ndim=4)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class MaxPool2d(_Pool2d):
    """Maximum over each kernel_size window (LSGAN's discriminator)."""

    def forward(self, x):
        check_input(self, x, ndim=4)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class Upsample(Module):
    """Nearest-neighbour up-sampling by an integer factor (Keras' UpSampling2D)."""

    def __init__(self, scale_factor=2, mode="nearest"):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample: mode: only 'nearest' is implemented, got {mode!r}")
        self.scale_factor = _pair(scale_factor, "scale_factor")
        self.mode = mode

    def forward(self, x):
        check_input(self, x, ndim=4)
        return upsample_nearest(x, self.scale_factor)

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode='{self.mode}'"
