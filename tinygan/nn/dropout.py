"""Dropout: zero each element with probability p in training (scaling the rest by 1/(1-p))."""

from __future__ import annotations

from tinygan.nn.module import Module
from tinygan.ops.nn import dropout


class Dropout(Module):
    """Inverted dropout; the identity in eval mode. Masks come from tinygan's seeded generator."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p: expected a probability in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
