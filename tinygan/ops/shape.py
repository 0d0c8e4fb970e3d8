"""Shape ops: reshape, transpose/permute, getitem, concat, stack, pad.

None of these change values, they only move them, so each backward moves the gradient back:
reshape undoes reshape, a transpose is undone by the inverse permutation, and getitem's
gradient scatters gy into zeros at the indexed places (repeated integer indices summed).
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.tensor import Function, Tensor


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.in_shape)


def reshape(x, shape):
    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if shape == x.shape:
        return x
    try:
        return Reshape(shape)(x)
    except ValueError:  # numpy's own message does not say which op failed
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                         f"into {shape}") from None


class Transpose(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return Transpose(tuple(inverse))(gy)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None), as numpy.transpose."""
    x = as_tensor(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim if -x.ndim <= a < x.ndim else a for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes must be a permutation of 0..{x.ndim - 1}, got {axes}")
    return Transpose(axes)(x)


permute = transpose


def swapaxes(x, a, b):
    x = as_tensor(x)
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def _index_on(index, xp):
    """Integer-array parts of an index as arrays of the tensor's array module."""
    def conv(i):
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, (list,)) or hasattr(i, "dtype"):
            return xp.asarray(i)
        return i
    return tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "dtype") and p.ndim > 0 and p.dtype.kind in "iu" for p in parts)


class GetItem(Function):
    """y = x[index] (basic slicing or integer arrays)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return GetItemGrad(self.index, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    """The adjoint of x[index]: a zero array of x's shape with gy added at the indexed places."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, gy):
        xp = backend.array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_advanced(self.index):
            backend.scatter_add(gx, self.index, gy)  # an index may repeat: add, do not overwrite
        else:
            gx[self.index] = gy
        return gx

    def backward(self, ggx):
        return GetItem(self.index)(ggx)


def getitem(x, index):
    x = as_tensor(x)
    index = _index_on(index, backend.array_module(x.data))
    return GetItem(index)(x)


class Concat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return backend.array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x in self.inputs:
            index = (slice(None),) * self.axis + (slice(start, start + x.shape[self.axis]),)
            grads.append(gy[index])
            start += x.shape[self.axis]
        return tuple(grads)


def _same_kind(xs, op):
    xs = [as_tensor(x, f"{op} input {i}") for i, x in enumerate(xs)]
    if not xs:
        raise ValueError(f"{op}: expected at least one tensor, got none")
    for i, x in enumerate(xs[1:], 1):
        if x.dtype != xs[0].dtype:
            raise TypeError(f"{op}: all tensors must have one dtype, got {xs[0].dtype} and {x.dtype} (input {i})")
    return xs


def concat(xs, axis=0):
    """Join tensors along an existing axis (numpy.concatenate, torch.cat)."""
    xs = _same_kind(list(xs), "concat")
    ndim = xs[0].ndim
    axis = axis % ndim if -ndim <= axis < ndim else axis
    for i, x in enumerate(xs):
        if x.ndim != ndim or x.shape[:axis] + x.shape[axis + 1:] != xs[0].shape[:axis] + xs[0].shape[axis + 1:]:
            raise ValueError(f"concat: shapes must match except along axis {axis}; input 0 has {xs[0].shape}, input {i} has {x.shape}")
    return Concat(axis)(*xs)


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return backend.array_module(xs[0]).stack(xs, axis=self.axis)

    def backward(self, gy):
        index = (slice(None),) * self.axis
        return tuple(gy[index + (i,)] for i in range(len(self.inputs)))


def stack(xs, axis=0):
    """Join tensors of one shape along a new axis."""
    xs = _same_kind(list(xs), "stack")
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise ValueError(f"stack: all tensors must have one shape; input 0 has {xs[0].shape}, input {i} has {x.shape}")
    ndim = xs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis must be in [{-ndim}, {ndim - 1}], got {axis}")
    return Stack(axis % ndim)(*xs)


class Pad(Function):
    """Zero padding; the gradient is gy with the padding sliced off."""

    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        xp = backend.array_module(x)
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        index = tuple(slice(lo, gy.shape[i] - hi) for i, (lo, hi) in enumerate(self.pad_width))
        return gy[index]


def pad(x, pad_width, value=0.0):
    """Pad with a constant; ``pad_width`` is numpy's: ((before, after), ...) per axis, or an int."""
    x = as_tensor(x)
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple((int(lo), int(hi)) for lo, hi in pad_width)
    if len(pad_width) != x.ndim or any(lo < 0 or hi < 0 for lo, hi in pad_width):
        raise ValueError(f"pad_width: expected {x.ndim} pairs of non-negative ints, got {pad_width}")
    return Pad(pad_width, value)(x)
