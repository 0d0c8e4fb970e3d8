"""Reflection padding of images: the border mirrored, the edge pixel itself not repeated.

With padding p on the left of a row x_0, x_1, ..., x_{W-1}, the padded row is

    x_p, ..., x_2, x_1, | x_0, x_1, ..., x_{W-1} | x_{W-2}, x_{W-3}, ..., x_{W-1-q}

(q on the right), PyTorch's ``ReflectionPad2d`` and NumPy's ``pad(mode="reflect")``; CycleGAN's
generator pads this way so that its convolutions see no artificial black frame. Each padding
must be smaller than the side it pads: a reflection of p pixels needs p pixels beyond the edge.

The map is linear, so its derivative is its adjoint: ``ReflectionFold`` adds every padded
position's gradient back onto the pixel it copies (y = P x, dL/dx = P^T dL/dy). The two are each
other's backward, so derivatives of every order come from these two Functions.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.tensor import Function


def _check_padding(padding, name="reflection_pad2d"):
    """(left, right, top, bottom) from an int or a 4-tuple of non-negative ints."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        padding = (padding,) * 4
    if (not isinstance(padding, (tuple, list)) or len(padding) != 4
            or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in padding)):
        raise ValueError(f"{name}: padding: expected a non-negative int or 4 of them (left, right, top, "
                         f"bottom), got {padding!r}")
    return tuple(padding)


class ReflectionPad2d(Function):
    """y = x with its last two axes padded by reflection: padding = (left, right, top, bottom)."""

    def __init__(self, padding):
        self.padding = padding

    def forward(self, x):
        left, right, top, bottom = self.padding
        xp = backend.array_module(x)
        lead = ((0, 0),) * (x.ndim - 2)
        return xp.pad(x, lead + ((top, bottom), (left, right)), mode="reflect")

    def backward(self, gy):
        return ReflectionFold(self.padding)(gy)


class ReflectionFold(Function):
    """The adjoint of reflection padding: the centre of gy plus each padded band, mirrored back
    onto the pixels it was copied from (columns first, then rows)."""

    def __init__(self, padding):
        self.padding = padding

    def forward(self, gy):
        left, right, top, bottom = self.padding
        g = gy.copy()
        w = g.shape[-1] - left - right
        # padded column j < left copies column 2 left - j; column left + w + k copies left + w - 2 - k
        if left:
            g[..., left + 1:2 * left + 1] += g[..., :left][..., ::-1]
        if right:
            g[..., left + w - 1 - right:left + w - 1] += g[..., left + w:][..., ::-1]
        g = g[..., left:left + w]
        h = g.shape[-2] - top - bottom
        if top:
            g[..., top + 1:2 * top + 1, :] += g[..., :top, :][..., ::-1, :]
        if bottom:
            g[..., top + h - 1 - bottom:top + h - 1, :] += g[..., top + h:, :][..., ::-1, :]
        return backend.array_module(g).ascontiguousarray(g[..., top:top + h, :])

    def backward(self, ggx):
        return ReflectionPad2d(self.padding)(ggx)


def reflection_pad2d(x, padding):
    """Pad the last two axes of x (N, C, H, W) by reflection; ``padding``: an int or (left, right,
    top, bottom), each smaller than the side it pads (PyTorch's ``F.pad(x, padding, "reflect")``)."""
    x = as_tensor(x)
    padding = _check_padding(padding)
    if x.ndim < 2:
        raise ValueError(f"reflection_pad2d: input: expected at least 2 dimensions (..., H, W), got shape {x.shape}")
    left, right, top, bottom = padding
    h, w = x.shape[-2:]
    if max(left, right) >= w or max(top, bottom) >= h:
        raise ValueError(f"reflection_pad2d: padding {padding} (left, right, top, bottom): each must be smaller than "
                         f"the side it pads, got an input of height {h} and width {w}")
    if padding == (0, 0, 0, 0):
        return x
    return ReflectionPad2d(padding)(x)


__all__ = ["reflection_pad2d"]
