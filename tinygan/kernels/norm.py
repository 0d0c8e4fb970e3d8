"""Batch-norm fused, and normalize's backward on the statistics its forward saved.

``BatchNorm``'s forward and backward are the textbook's closed forms on raw arrays, each
written into arrays made once (no temporaries but one scratch array), and applied to blocks of
channels, one block per thread: channels are independent in both directions. The forward keeps
xhat and 1 / sqrt(var + eps) for the backward, which then needs no recomputation:

    db = sum(gy),   dw = sum(gy xhat),   dx = w inv_std (gy - db / M - xhat dw / M).

``Normalize``'s backward (layer-norm, instance-norm): the same closed form without the affine
step, with the variance the forward saved instead of recomputing it from x.
"""

from __future__ import annotations

import functools

from tinygan import tensor
from tinygan.backend import array_module
from tinygan.kernels import Example, register
from tinygan.kernels.pool import chunks
from tinygan.ops.norm import BatchNorm, Normalize, batch_norm, normalize


def _forward_part(x, w, b, mean, var, inv_std, xhat, y, *, eps, axes):
    """mean, var, inv_std = 1 / sqrt(var + eps), xhat = (x - mean) inv_std and y = xhat w + b over
    ``axes``, written into the arrays given (w, b and the statistics shaped (1, C, 1, ...))."""
    xp = array_module(x)
    mean[...] = x.mean(axis=axes, keepdims=True)
    xp.subtract(x, mean, out=xhat)
    xp.multiply(xhat, xhat, out=y)  # y as scratch for (x - mean)^2
    var[...] = y.mean(axis=axes, keepdims=True)
    inv_std[...] = 1.0 / xp.sqrt(var + eps)
    xhat *= inv_std
    xp.multiply(xhat, w, out=y)
    y += b


def batch_norm_forward(fn, x, w, b):
    xp = array_module(x)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    fn.mean, fn.var, fn.inv_std = xp.empty(shape, x.dtype), xp.empty(shape, x.dtype), xp.empty(shape, x.dtype)
    fn.xhat, y = xp.empty_like(x), xp.empty_like(x)  # empty_like keeps x's memory order
    chunks(functools.partial(_forward_part, eps=fn.eps, axes=fn.axes),
           x, w.reshape(shape), b.reshape(shape), fn.mean, fn.var, fn.inv_std, fn.xhat, y, axis=1)
    return y


def _backward_part(gy, xhat, w, inv_std, gx, gw, gb, *, axes):
    """db = sum(gy), dw = sum(gy xhat), dx = w inv_std (gy - db / M - xhat dw / M), written into
    gx, gw and gb (gw, gb shaped (1, C, 1, ...))."""
    xp = array_module(gy)
    inv_m = 1.0 / (gy.size // gy.shape[1])
    gb[...] = gy.sum(axis=axes, keepdims=True)
    xp.multiply(gy, xhat, out=gx)  # gx as scratch for gy xhat
    gw[...] = gx.sum(axis=axes, keepdims=True)
    xp.multiply(xhat, gw * inv_m, out=gx)
    xp.subtract(gy, gx, out=gx)
    gx -= gb * inv_m
    gx *= w * inv_std


def batch_norm_backward(fn, gy):
    xhat = getattr(fn, "xhat", None)
    if xhat is None:  # the forward ran without its kernel
        return NotImplemented
    xp = array_module(gy)
    shape = fn.inv_std.shape
    gx, gw, gb = xp.empty_like(xhat), xp.empty(shape, gy.dtype), xp.empty(shape, gy.dtype)
    chunks(functools.partial(_backward_part, axes=fn.axes),
           gy, xhat, fn.inputs[1].data.reshape(shape), fn.inv_std, gx, gw, gb, axis=1)
    return gx, gw.reshape(-1), gb.reshape(-1)


def normalize_backward(fn, gy):
    xhat, axes = fn.output.data, fn.axes
    gx = gy - gy.mean(axis=axes, keepdims=True)
    gx -= xhat * (gy * xhat).mean(axis=axes, keepdims=True)
    gx /= array_module(gy).sqrt(fn.var + fn.eps)
    return (gx,)


def _with_running_stats(x, w, b):
    """batch_norm in training, and the running statistics it updates (as Tensors)."""
    xp = array_module(x.data)
    running_mean, running_var = xp.zeros(x.shape[1], x.dtype), xp.ones(x.shape[1], x.dtype)
    y = batch_norm(x, w, b, running_mean, running_var, training=True, momentum=0.3)
    return y, tensor.wrap(running_mean), tensor.wrap(running_var)


register(BatchNorm, forward=batch_norm_forward, backward=batch_norm_backward,
         examples=[Example(_with_running_stats, ((9, 5), (5,), (5,))),
                   Example(_with_running_stats, ((4, 3, 5, 6), (3,), (3,)))])
register(Normalize, backward=normalize_backward,
         examples=[Example(lambda x: normalize(x, (1,)), ((6, 9),)),
                   Example(lambda x: normalize(x, (0, 2, 3)), ((4, 3, 5, 6),))])
