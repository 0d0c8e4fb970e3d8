"""Padding layers: ReflectionPad2d (PyTorch's)."""

from __future__ import annotations

from tinygan.nn._checks import check_input
from tinygan.nn.module import Module
from tinygan.ops.padding import _check_padding, reflection_pad2d


class ReflectionPad2d(Module):
    """Pad the last two axes by reflection (the border mirrored, the edge pixel not repeated):
    ``padding`` an int or (left, right, top, bottom), each smaller than the side it pads. CycleGAN's
    generator pads this way before its 7x7 and 3x3 convolutions."""

    def __init__(self, padding):
        super().__init__()
        self.padding = _check_padding(padding, "ReflectionPad2d")

    def forward(self, x):
        check_input(self, x, ndim=(3, 4))
        return reflection_pad2d(x, self.padding)

    def extra_repr(self):
        return f"{self.padding}"
