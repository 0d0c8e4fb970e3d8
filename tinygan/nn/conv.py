"""Convolution layers: Conv2d and ConvTranspose2d (PyTorch's arguments and output-size rules)."""

from __future__ import annotations

from tinygan.nn import init
from tinygan.nn._checks import check_input
from tinygan.nn._param import empty_parameter, positive_int
from tinygan.nn.module import Module
from tinygan.ops.conv import _pair, conv2d, conv_transpose2d


class _ConvNd(Module):
    def __init__(self, name, in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                 weight_shape, device, dtype):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        for arg in ("kernel_size", "stride", "dilation"):
            if min(getattr(self, arg)) < 1:
                raise ValueError(f"{name}: {arg}: expected positive integers, got {getattr(self, arg)}")
        if min(self.padding) < 0:
            raise ValueError(f"{name}: padding: expected non-negative integers, got {self.padding}")
        self.weight = empty_parameter(weight_shape + self.kernel_size, device, dtype)
        self.register_parameter("bias", empty_parameter((out_channels,), device, dtype) if bias else None)
        init.default_init_(self.weight, self.bias)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, OH, OW),
    OH = floor((H + 2 padding - dilation (kernel - 1) - 1) / stride) + 1."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True,
                 device=None, dtype=None):
        super().__init__("Conv2d", in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                         (out_channels, in_channels), device, dtype)

    def forward(self, x):
        check_input(self, x, ndim=4, axis=1, size=self.in_channels, like=self.weight)
        return conv2d(x, self.weight, self.stride, self.padding, self.dilation, bias=self.bias)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the adjoint of Conv2d): (N, C_in, H, W) -> (N, C_out, OH, OW),
    OH = (H - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1.
    The weight has shape (C_in, C_out, KH, KW), as in PyTorch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, bias=True,
                 dilation=1, device=None, dtype=None):
        super().__init__("ConvTranspose2d", in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
                         (in_channels, out_channels), device, dtype)
        self.output_padding = _pair(output_padding, "output_padding")

    def forward(self, x):
        check_input(self, x, ndim=4, axis=1, size=self.in_channels, like=self.weight)
        return conv_transpose2d(x, self.weight, self.stride, self.padding, self.output_padding, self.dilation,
                                bias=self.bias)
