"""Reductions and broadcasting: sum, mean, var, max, and the pair sum_to / broadcast_to.

``broadcast_to`` and ``sum_to`` are each other's backward: broadcasting copies a value to many
places, so its gradient sums those places back. Every binary op uses ``sum_to`` to undo the
broadcasting of its operands.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor, kept_shape, normalize_axis
from tinygan.tensor import Function, Tensor


def _sum_to_array(x, shape):
    """Sum array ``x`` down to ``shape`` (leading axes, and axes where shape has 1)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    if axes:
        x = x.sum(axis=axes, keepdims=True)
    return x.reshape(shape) if lead else x


class SumTo(Function):
    """y = sum of x over the axes that broadcasting to x.shape would have created."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return _sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.in_shape)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes (a read-only view, no copy)."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return backend.array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.in_shape)


def sum_to(x, shape):
    """Sum ``x`` so that it has ``shape`` (the adjoint of broadcasting); a no-op when it already has."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def broadcast_to(x, shape):
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        backend.array_module(x.data).broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return BroadcastTo(shape)(x)


class Sum(Function):
    """y = sum of x over ``axes``; dy/dx = 1, so the gradient is gy broadcast back to x's shape."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.keepdims:
            gy = gy.reshape(kept_shape(self.in_shape, self.axes))
        return broadcast_to(gy, self.in_shape)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (the NumPy name)
    x = as_tensor(x)
    return Sum(normalize_axis(axis, x.ndim), keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """mean = sum / n, where n is the number of elements reduced."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return sum(x, axes, keepdims) * (1.0 / n)


def var(x, axis=None, keepdims=False, ddof=0):
    """var = sum((x - mean)^2) / (n - ddof), NumPy's convention (ddof=0: the biased estimate)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    if n - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {n} elements")
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) * (1.0 / (n - ddof))


class Max(Function):
    """y = max of x over ``axes``.

    The gradient goes to the elements equal to the maximum; ties share it equally (so the
    gradient is the subgradient that a finite difference of the max of ties also gives).
    """

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.max(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        shape = kept_shape(x.shape, self.axes)
        y = self.output.data.reshape(shape)
        mask = (x.data == y).astype(x.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return broadcast_to(gy.reshape(shape), x.shape) * Tensor(mask)


def max(x, axis=None, keepdims=False):  # noqa: A001 (the NumPy name)
    x = as_tensor(x)
    if x.size == 0:
        raise ValueError("max: expected a non-empty tensor")
    return Max(normalize_axis(axis, x.ndim), keepdims)(x)
