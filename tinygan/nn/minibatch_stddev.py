"""Minibatch standard deviation (Karras et al. 2018, section 3).

A discriminator that sees one image at a time cannot tell that a generator makes the same image
over and over. ProGAN gives its last block one more feature map: how much the batch varies.
The batch is split into groups of G (= group_size) images; for a group,

    s[c, h, w] = sqrt( (1/G) sum_g (x[g, c, h, w] - mean_g x[., c, h, w])^2 + 1e-8 )

is averaged over (c, h, w) into one number, which becomes a constant map (1, H, W) appended to
every image of that group: (N, C, H, W) -> (N, C + 1, H, W). As in the authors' code, image n
belongs to group n mod (N / G) (the batch is reshaped to (G, N / G, C, H, W)), and G is
min(group_size, N); N must be a multiple of G.
"""

from __future__ import annotations

from tinygan.nn._checks import check_input
from tinygan.nn.module import Module
from tinygan.ops import broadcast_to, concat, mean, reshape, sqrt


def minibatch_stddev(x, group_size=4, eps=1e-8):
    """Append the per-group mean standard deviation of x as one more channel (see the module)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g:
        raise ValueError(f"minibatch_stddev: input: expected a batch size divisible by the group size {g}, "
                         f"got {n} (shape {x.shape})")
    m = n // g
    y = reshape(x, (g, m, c, h, w))
    y = y - mean(y, axis=0, keepdims=True)
    std = sqrt(mean(y * y, axis=0) + eps)                  # (M, C, H, W)
    s = mean(std, axis=(1, 2, 3), keepdims=True)           # (M, 1, 1, 1)
    s = broadcast_to(reshape(s, (1, m, 1, 1, 1)), (g, m, 1, h, w))
    return concat([x, reshape(s, (n, 1, h, w))], axis=1)


class MinibatchStdDev(Module):
    """(N, C, H, W) -> (N, C + 1, H, W): the group's mean standard deviation as an extra channel."""

    def __init__(self, group_size=4, eps=1e-8):
        super().__init__()
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            raise ValueError(f"MinibatchStdDev: group_size: expected a positive integer, got {group_size!r}")
        self.group_size, self.eps = group_size, float(eps)

    def forward(self, x):
        check_input(self, x, ndim=4)
        return minibatch_stddev(x, self.group_size, self.eps)

    def extra_repr(self):
        return f"group_size={self.group_size}"
