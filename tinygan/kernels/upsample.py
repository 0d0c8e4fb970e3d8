"""Nearest up-sampling and its adjoint, the block sum, with results in the input's memory order.

The textbook's results are row-major (N, C, H, W). After a convolution, whose output is stored
channels-first with the batch innermost (C, H, W, N), these keep that order, so that the next
convolution gathers its columns without first copying its input into it.
"""

from __future__ import annotations

from tinygan.backend import array_module
from tinygan.kernels import Example, register
from tinygan.ops.pool import BlockSum, UpsampleNearest, upsample_nearest


def empty_in_order_of(x, shape):
    """An empty array of ``shape`` (x.ndim axes) whose axes are laid out in memory as x's are."""
    order = sorted(range(x.ndim), key=lambda i: -abs(x.strides[i]))  # slowest-varying axis first
    empty = array_module(x).empty(tuple(shape[a] for a in order), dtype=x.dtype)
    return empty.transpose(tuple(order.index(a) for a in range(x.ndim)))


def upsample_forward(fn, x):
    (s, t), (n, c, h, w) = fn.scale, x.shape
    y = empty_in_order_of(x, (n, c, h * s, w * t))
    for a in range(s):
        for b in range(t):
            y[:, :, a::s, b::t] = x
    return y


def block_sum_forward(fn, x):
    s, t = fn.scale
    y = x[:, :, 0::s, 0::t].copy(order="K")
    for a in range(s):
        for b in range(t):
            if a or b:
                y += x[:, :, a::s, b::t]
    return y


register(UpsampleNearest, forward=upsample_forward,
         examples=[Example(lambda x: upsample_nearest(x, 2), ((3, 4, 5, 6),)),
                   Example(lambda x: upsample_nearest(x, (1, 3)), ((2, 3, 4, 5),))])
register(BlockSum, forward=block_sum_forward,
         examples=[Example(lambda x: BlockSum((2, 3))(x), ((3, 4, 6, 9),))])
