"""Shape layers: Flatten, Unflatten and Reshape (Keras' Flatten and Reshape)."""

from __future__ import annotations

from tinygan.nn._checks import check_input
from tinygan.nn.module import Module


class Flatten(Module):
    """Merge the axes from ``start_dim`` on: (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim=1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        check_input(self, x)
        return x.reshape(x.shape[:self.start_dim] + (-1,))


class Unflatten(Module):
    """Split axis ``dim`` into ``sizes``: Unflatten(1, (128, 7, 7)) turns (N, 6272) into (N, 128, 7, 7)."""

    def __init__(self, dim, sizes):
        super().__init__()
        self.dim, self.sizes = dim, tuple(sizes)

    def forward(self, x):
        check_input(self, x)
        dim = self.dim % x.ndim
        size = 1
        for s in self.sizes:
            size *= s
        if x.shape[dim] != size:
            raise ValueError(f"Unflatten: input: expected axis {dim} of size {size} (= prod{self.sizes}), "
                             f"got shape {x.shape}")
        return x.reshape(x.shape[:dim] + self.sizes + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, sizes={self.sizes}"


class Reshape(Module):
    """Reshape every sample to ``shape`` (the batch axis is kept): Keras' Reshape."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape

    def forward(self, x):
        check_input(self, x)
        return x.reshape((x.shape[0],) + self.shape)

    def extra_repr(self):
        return f"{self.shape}"
