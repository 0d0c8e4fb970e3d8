"""Feature maps made from a flat array are stored as the convolutions store theirs.

A convolution's output is an (N, C, H, W) view of a channels-first (C, H, W, N) array (see
tinygan/ops/conv.py), and batch-norm, the activations and the next convolution read it fastest
in that order (batch-norm over a row-major (N, C, H, W) array takes about 2.5 times as long).
A DCGAN generator starts from a Linear projection of z, row-major (N, C*H*W), reshaped into
(N, C, H, W) maps: here that reshape copies the maps into the channels-first order once (split
over the threads by channel), instead of every op after it reading them against their grain.
The gradient comes back channels-first, and its reshape to (N, C*H*W) is then a free view
(column-major, which the Linear kernels take as they are).

Only this pattern is re-laid: a row-major 2-D array into maps of several channels that keep
its batch axis (a one-channel image is an output, not feature maps); any other reshape is the
textbook's view.
"""

from __future__ import annotations

from tinygan.backend import array_module
from tinygan.kernels import Example, pool, register
from tinygan.ops.shape import Reshape, reshape


def reshape_forward(fn, x):
    if x.ndim != 2 or len(fn.shape) != 4 or not x.flags.c_contiguous or not pool.is_cpu(x):
        return NotImplemented
    maps = x.reshape(fn.shape)
    n, c, h, w = maps.shape
    if n != x.shape[0] or c == 1:
        return NotImplemented
    fn.in_shape = x.shape  # what the textbook's backward reads
    out = array_module(x).empty((c, h, w, n), dtype=x.dtype)
    source = maps.transpose(1, 2, 3, 0)

    def copy(r):
        out[r[0]:r[1]] = source[r[0]:r[1]]
    pool.run(copy, pool.split(c, pool.threads_for(x.size, arrays=(x,))))
    return out.transpose(3, 0, 1, 2)


register(Reshape, forward=reshape_forward,
         examples=[Example(lambda x: reshape(x, (5, 3, 2, 4)), ((5, 24),)),
                   Example(lambda x: reshape(x, (4, 9)), ((4, 3, 3),))])
