"""Pooling and nearest-neighbour up-sampling.

The poolings are short compositions of getitem, stack, reshape and reductions, so their
backward (and the backward of that) comes from those ops without new derivative code.
Up-sampling is a pair of Functions, repeat and block-sum, each the other's backward: written
as strided copies and adds, they avoid NumPy's slow reductions over tiny strided axes.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.ops.conv import _pair, conv_output_size
from tinygan.ops.reduce import max, mean
from tinygan.ops.shape import getitem, pad, reshape, stack
from tinygan.tensor import Function


def _check4d(x, name):
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{name}: input: expected a 4-d tensor (N, C, H, W), got shape {x.shape}")
    return x


def _windows(x, kernel, stride, padding, name, pad_value=0.0):
    """The KH*KW strided slices of (padded) x that the pooling windows are made of."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, sh, ph, 1), conv_output_size(w, kw, sw, pw, 1)
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: input of spatial size {(h, w)} is smaller than the window {kernel}")
    if ph or pw:
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), pad_value)
    return [getitem(x, (slice(None), slice(None), slice(p, p + sh * (oh - 1) + 1, sh),
                        slice(q, q + sw * (ow - 1) + 1, sw)))
            for p in range(kh) for q in range(kw)]


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each window (zero padding counted in the mean, PyTorch's default)."""
    x = _check4d(x, "avg_pool2d")
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = _pair(padding, "padding")
    n, c, h, w = x.shape
    if stride == kernel and padding == (0, 0) and h % kernel[0] == 0 and w % kernel[1] == 0:
        # Non-overlapping windows that tile the image: a reshape and a mean.
        blocks = reshape(x, (n, c, h // kernel[0], kernel[0], w // kernel[1], kernel[1]))
        return mean(blocks, axis=(3, 5))
    slices = _windows(x, kernel, stride, padding, "avg_pool2d")
    total = slices[0]
    for s in slices[1:]:
        total = total + s
    return total * (1.0 / len(slices))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over each window (padding with -inf, as PyTorch)."""
    x = _check4d(x, "max_pool2d")
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = _pair(padding, "padding")
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel {kernel}")
    n, c, h, w = x.shape
    if stride == kernel and padding == (0, 0) and h % kernel[0] == 0 and w % kernel[1] == 0:
        # Non-overlapping windows that tile the image: a reshape and a max over the window axes.
        blocks = reshape(x, (n, c, h // kernel[0], kernel[0], w // kernel[1], kernel[1]))
        return max(blocks, axis=(3, 5))
    slices = _windows(x, kernel, stride, padding, "max_pool2d", pad_value=float("-inf"))
    return max(stack(slices, axis=-1), axis=-1)


class UpsampleNearest(Function):
    """y[:, :, i*s + a, j*t + b] = x[:, :, i, j]: each pixel repeated s x t times.
    The gradient sums each s x t block (``BlockSum``); the two are each other's backward."""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, x):
        (s, t), (n, c, h, w) = self.scale, x.shape
        y = backend.array_module(x).empty((n, c, h * s, w * t), dtype=x.dtype)
        for a in range(s):
            for b in range(t):
                y[:, :, a::s, b::t] = x
        return y

    def backward(self, gy):
        return BlockSum(self.scale)(gy)


class BlockSum(Function):
    """y[:, :, i, j] = sum of x over the block [i*s:(i+1)*s, j*t:(j+1)*t] (nearest up-sampling's adjoint)."""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, x):
        s, t = self.scale
        y = x[:, :, 0::s, 0::t].copy()
        for a in range(s):
            for b in range(t):
                if a or b:
                    y += x[:, :, a::s, b::t]
        return y

    def backward(self, gy):
        return UpsampleNearest(self.scale)(gy)


def upsample_nearest(x, scale_factor=2):
    """Repeat every pixel scale x scale times (Keras' UpSampling2D, PyTorch's nearest mode)."""
    x = _check4d(x, "upsample_nearest")
    sh, sw = _pair(scale_factor, "scale_factor")
    if sh < 1 or sw < 1:
        raise ValueError(f"upsample_nearest: scale_factor must be a positive integer, got {scale_factor}")
    return UpsampleNearest((sh, sw))(x)
