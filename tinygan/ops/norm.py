"""Normalisation: batch-norm, layer-norm and instance-norm.

All three normalise x over some ``axes`` (biased variance):

    xhat = (x - mean(x)) / sqrt(var(x) + eps)

and differ only in the axes and in the shape of the affine weight and bias. The backward of
``Normalize`` is the closed form (the means over the same axes)

    dx = (gy - mean(gy) - xhat * mean(gy * xhat)) / sqrt(var(x) + eps),

written with Tensor ops on ``xhat`` (the output, a node of the graph) and on var(x) recomputed
from x, so that it carries its full dependence on x and differentiates again (second
derivatives are exact).

Batch-norm in training has its affine step in the same Function (``BatchNorm``): y = xhat w + b,
with M the number of values per channel,

    db = sum(gy),   dw = sum(gy * xhat),   dx = w / sqrt(var + eps) * (gy - db / M - xhat * dw / M):

the sums that the weight and bias gradients need are exactly the two means of the closed form.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.ops.math import sqrt
from tinygan.ops.reduce import mean, sum, var
from tinygan.ops.shape import reshape
from tinygan.tensor import Function, wrap


class Normalize(Function):
    """xhat = (x - mean) / sqrt(var + eps) over ``axes``; keeps ``mean`` and ``var`` (arrays)."""

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x):
        xp = backend.array_module(x)
        self.mean = x.mean(axis=self.axes, keepdims=True)
        self.var = x.var(axis=self.axes, keepdims=True)
        return (x - self.mean) / xp.sqrt(self.var + self.eps)

    def backward(self, gy):
        xhat, axes = self.output, self.axes
        std = sqrt(var(self.inputs[0], axes, keepdims=True) + self.eps)
        return (gy - mean(gy, axes, keepdims=True) - xhat * mean(gy * xhat, axes, keepdims=True)) / std


class BatchNorm(Function):
    """Training-mode batch-norm with its affine step: inputs x, weight (C,), bias (C,); the
    statistics over ``axes`` (every axis but the channels, axis 1). Keeps ``mean`` and ``var``."""

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x, w, b):
        xp = backend.array_module(x)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.mean = x.mean(axis=self.axes, keepdims=True)
        self.var = x.var(axis=self.axes, keepdims=True)
        xhat = (x - self.mean) / xp.sqrt(self.var + self.eps)
        return xhat * w.reshape(shape) + b.reshape(shape)

    def backward(self, gy):
        x, w, _ = self.inputs
        shape, m = (1, x.shape[1]) + (1,) * (x.ndim - 2), x.size // x.shape[1]
        xhat = normalize(x, self.axes, self.eps)  # xhat and the std as functions of x, so that
        std = sqrt(var(x, self.axes, keepdims=True) + self.eps)  # this gradient differentiates again
        gb = sum(gy, self.axes)
        gw = sum(gy * xhat, self.axes)
        gx = reshape(w, shape) / std * (gy - reshape(gb, shape) / m - xhat * reshape(gw, shape) / m)
        return gx, gw, gb


def normalize(x, axes, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance)."""
    x = as_tensor(x)
    return Normalize(tuple(sorted(a % x.ndim for a in axes)), float(eps))(x)


def batch_norm(x, weight=None, bias=None, running_mean=None, running_var=None, training=True,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over every axis but the channel axis 1 (PyTorch's conventions).

    In training, the batch's statistics normalise x, and the running statistics (arrays,
    updated in place) move towards them: r = (1 - momentum) r + momentum * batch_stat, with the
    unbiased variance. In evaluation, the running statistics normalise x:
    y = (x - r_mean) / sqrt(r_var + eps) * weight + bias.
    """
    x = as_tensor(x)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        xp = backend.array_module(x.data)
        y = (x - wrap(running_mean.reshape(shape))) / wrap(xp.sqrt(running_var + eps).reshape(shape))
        return _affine(y, weight, bias, shape)
    fused = weight is not None and bias is not None
    fn = BatchNorm(axes, float(eps)) if fused else Normalize(axes, float(eps))
    y = fn(x, weight, bias) if fused else fn(x)
    if running_mean is not None:
        n = x.size // x.shape[1]
        running_mean *= 1.0 - momentum
        running_mean += momentum * fn.mean.reshape(-1)
        running_var *= 1.0 - momentum
        running_var += momentum * fn.var.reshape(-1) * (n / max(n - 1, 1))
    return y if fused else _affine(y, weight, bias, shape)


def _affine(y, weight, bias, shape):
    """y * weight + bias, with weight and bias (either may be None) reshaped to ``shape``."""
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the last len(normalized_shape) axes, per sample; the affine
    weight and bias have shape ``normalized_shape`` (PyTorch's LayerNorm)."""
    x = as_tensor(x)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: input: expected trailing shape {normalized_shape}, got shape {x.shape}")
    y = normalize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(y, weight, bias, normalized_shape)


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016) of (N, C, H, W): each sample's each channel
    over its own H x W values, then a per-channel affine step y = xhat * w_c + b_c. No batch
    statistics, so training and evaluation compute the same function (CycleGAN's generators)."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"instance_norm: input: expected shape (N, C, H, W), got {x.shape}")
    return _affine(normalize(x, (2, 3), eps), weight, bias, (1, x.shape[1], 1, 1))
