"""Normalisation: batch-norm and layer-norm share one primitive, ``normalize``.

    xhat = (x - mean(x)) / sqrt(var(x) + eps)     (mean and biased var over ``axes``)

Its backward is the closed form (with means over the same axes)

    dx = inv_std * (gy - mean(gy) - xhat * mean(gy * xhat)),

written with Tensor ops on ``xhat`` (the output, a node of the graph) and ``inv_std``. Under
``create_graph`` inv_std is recomputed from x with differentiable ops, so the formula carries
its full dependence on x and second derivatives are exact; otherwise the saved array is used.
Batch-norm and layer-norm differ only in the axes and in the shape of the affine weight.

Batch-norm in training has its affine step fused in (``BatchNorm``): y = xhat * w + b with

    db = sum(gy),   dw = sum(gy * xhat),   dx = w * inv_std * (gy - db / M - xhat * dw / M),

M the number of values per channel. The sums that the weight and bias gradients need are
exactly the two means of the closed form, so they are computed once, and the activations are
walked a few times fewer than by normalize, multiply and add as three ops.

Channels are independent in both directions, so on the CPU ``BatchNorm`` splits them over
``tinygan.parallel``'s threads: ``batch_norm_forward`` and ``batch_norm_backward`` below are the
formulas above on raw arrays, applied to each thread's block of channels. The Tensor-op
backward is kept for ``create_graph``, where the gradient must itself be differentiable.
"""

from __future__ import annotations

import functools

from tinygan import backend, parallel
from tinygan.ops._util import as_tensor
from tinygan.ops.reduce import mean, sum, var
from tinygan.ops.shape import reshape
from tinygan.tensor import Function, is_grad_enabled, wrap


class Normalize(Function):
    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x):
        xp = backend.array_module(x)
        self.mean = mu = x.mean(axis=self.axes, keepdims=True)
        xc = x - mu
        v = xp.mean(xc * xc, axis=self.axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(v + self.eps)
        xc *= self.inv_std
        return xc

    def backward(self, gy):
        xhat = self.output
        if is_grad_enabled():  # create_graph: keep inv_std's dependence on x
            inv_std = (var(self.inputs[0], self.axes, keepdims=True) + self.eps) ** -0.5
        else:
            inv_std = wrap(self.inv_std)
        return inv_std * (gy - mean(gy, self.axes, keepdims=True) - xhat * mean(gy * xhat, self.axes, keepdims=True))


def batch_norm_forward(x, w, b, mean, inv_std, xhat, y, *, eps, axes):
    """mean, inv_std = 1 / sqrt(var + eps), xhat = (x - mean) inv_std and y = xhat w + b, over
    ``axes``, written into the arrays given (w, b, mean and inv_std shaped (1, C, 1, ...))."""
    xp = backend.array_module(x)
    mean[...] = x.mean(axis=axes, keepdims=True)
    xp.subtract(x, mean, out=xhat)
    xp.multiply(xhat, xhat, out=y)  # y as scratch for (x - mean)^2
    inv_std[...] = 1.0 / xp.sqrt(y.mean(axis=axes, keepdims=True) + eps)
    xhat *= inv_std
    xp.multiply(xhat, w, out=y)
    y += b


def batch_norm_backward(gy, xhat, w, inv_std, gx, gw, gb, *, axes):
    """db = sum(gy), dw = sum(gy xhat), dx = w inv_std (gy - db / M - xhat dw / M), written into
    gx, gw and gb (gw, gb shaped (1, C, 1, ...))."""
    xp = backend.array_module(gy)
    inv_m = 1.0 / (gy.size // gy.shape[1])
    gb[...] = gy.sum(axis=axes, keepdims=True)
    xp.multiply(gy, xhat, out=gx)  # gx as scratch for gy xhat
    gw[...] = gx.sum(axis=axes, keepdims=True)
    xp.multiply(xhat, gw * inv_m, out=gx)
    xp.subtract(gy, gx, out=gx)
    gx -= gb * inv_m
    gx *= w * inv_std


class BatchNorm(Function):
    """Training-mode batch-norm with its affine step: inputs x, weight (C,), bias (C,)."""

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x, w, b):
        xp = backend.array_module(x)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.mean, self.inv_std = xp.empty(shape, x.dtype), xp.empty(shape, x.dtype)
        self.xhat, y = xp.empty_like(x), xp.empty_like(x)  # empty_like keeps x's memory order
        parallel.chunks(functools.partial(batch_norm_forward, eps=self.eps, axes=self.axes),
                        x, w.reshape(shape), b.reshape(shape), self.mean, self.inv_std, self.xhat, y, axis=1)
        return y

    def backward(self, gy):
        x, w, _ = self.inputs
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if not is_grad_enabled():  # the fused formula on raw arrays, channels split over the threads
            xp = backend.array_module(gy.data)
            gx, gw, gb = xp.empty_like(self.xhat), xp.empty(shape, gy.dtype), xp.empty(shape, gy.dtype)
            parallel.chunks(functools.partial(batch_norm_backward, axes=self.axes),
                            gy.data, self.xhat, w.data.reshape(shape), self.inv_std, gx, gw, gb, axis=1)
            return wrap(gx), wrap(gw.reshape(-1)), wrap(gb.reshape(-1))
        # create_graph: the same formula with Tensor ops, xhat and inv_std as differentiable functions of x
        xhat = normalize(x, self.axes, self.eps)
        inv_std = (var(x, self.axes, keepdims=True) + self.eps) ** -0.5
        inv_m = 1.0 / (x.size // x.shape[1])
        gb = sum(gy, self.axes)
        gw = sum(gy * xhat, self.axes)
        gx = (reshape(w, shape) * inv_std) * (gy - reshape(gb, shape) * inv_m - xhat * (reshape(gw, shape) * inv_m))
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
    fused = training and weight is not None and bias is not None
    if training:
        if fused:
            fn = BatchNorm(axes, float(eps))
            y = fn(x, weight, bias)
        else:
            fn = Normalize(axes, float(eps))
            y = fn(x)
        if running_mean is not None:
            n = x.size // x.shape[1]
            batch_mean = fn.mean.reshape(-1)
            batch_var = (1.0 / fn.inv_std.reshape(-1)) ** 2 - eps  # the biased variance, already computed
            running_mean *= 1.0 - momentum
            running_mean += momentum * batch_mean
            running_var *= 1.0 - momentum
            running_var += momentum * batch_var * (n / max(n - 1, 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        xp = backend.array_module(x.data)
        inv_std = 1.0 / xp.sqrt(running_var + eps)
        y = (x - wrap(running_mean.reshape(shape))) * wrap(inv_std.reshape(shape))
    if fused:
        return y  # the affine step is already in
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
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
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016) of (N, C, H, W): each sample's each channel
    over its own H x W values, then a per-channel affine step y = xhat * w_c + b_c. No batch
    statistics, so training and evaluation compute the same function (CycleGAN's generators)."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"instance_norm: input: expected shape (N, C, H, W), got {x.shape}")
    y = normalize(x, (2, 3), eps)
    shape = (1, x.shape[1], 1, 1)
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y
