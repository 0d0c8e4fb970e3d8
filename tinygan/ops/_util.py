"""Helpers shared by the ops: turning operands into tensors, and axis bookkeeping."""

from __future__ import annotations

from tinygan import backend
from tinygan.tensor import Tensor, wrap


def const(value, like):
    """``value`` (a number or an array) as a constant Tensor with ``like``'s dtype and device.

    Python and NumPy scalars take the tensor's dtype, so ``x * 0.5`` stays float32 even when
    0.5 arrives as a NumPy float64 (the silent-promotion trap of NumPy 2).
    """
    if isinstance(value, Tensor):
        return value
    xp = backend.array_module(like.data)
    if backend.device_of(value) not in ("cpu", backend.device_of(like.data)):
        raise RuntimeError(f"operand: expected an array on device '{like.device}', got one on '{backend.device_of(value)}'")
    return wrap(xp.asarray(value, dtype=like.data.dtype))


def pair(a, b, op):
    """Both operands of a binary op as Tensors of one dtype (a clear error when they differ)."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            return a, const(b, a)
        if a.data.dtype != b.data.dtype:
            raise TypeError(f"{op}: both tensors must have one dtype, got {a.dtype} and {b.dtype}; "
                            "convert one with .astype()")
        return a, b
    if isinstance(b, Tensor):
        return const(a, b), b
    raise TypeError(f"{op}: expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}")


def as_tensor(x, name="x"):
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")


def normalize_axis(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, kept cheap
        return (axis % ndim,)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis: expected values in [{-ndim}, {ndim - 1}] for a {ndim}-d tensor, got {axis}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis: repeated axis in {axis}")
    return tuple(sorted(out))


def kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))
