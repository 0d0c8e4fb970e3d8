"""Input checks shared by the layers: each names the layer, the argument, what it expected and
what it received."""

from __future__ import annotations

from tinygan.tensor import Tensor


def check_input(layer, x, ndim=None, axis=None, size=None, like=None):
    """Raise a clear error unless ``x`` is a Tensor with ``ndim`` dims (an int or a tuple of
    allowed counts), ``x.shape[axis] == size``, and the dtype and device of ``like`` (a weight)."""
    name = type(layer).__name__
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input: expected a Tensor, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(f"{d}-d" for d in allowed)
            raise ValueError(f"{name}: input: expected a {want} tensor, got shape {x.shape}")
    if axis is not None and x.shape[axis] != size:
        what = "features" if axis == -1 else "channels"
        raise ValueError(f"{name}: input: expected {size} {what} (axis {axis}), got {x.shape[axis]} "
                         f"(input shape {x.shape})")
    if like is not None:
        if x.dtype != like.dtype:
            raise TypeError(f"{name}: input: expected dtype {like.dtype} (the layer's), got {x.dtype}")
        if x.device != like.device:
            raise RuntimeError(f"{name}: input: expected device '{like.device}' (the layer's), got '{x.device}'")
    return x
