"""Fully connected layer: y = x W^T + b (Keras' Dense)."""

from __future__ import annotations

from tinygan.nn import init
from tinygan.nn._checks import check_input
from tinygan.nn._param import empty_parameter, positive_int
from tinygan.nn.module import Module
from tinygan.ops.nn import linear
from tinygan.tensor import Tensor


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features); x is (..., in_features)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        self.weight = empty_parameter((out_features, in_features), device, dtype)
        self.register_parameter("bias", empty_parameter((out_features,), device, dtype) if bias else None)
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        if isinstance(x, Tensor) and x.ndim < 1:  # before check_input, which reads x.shape[-1]
            raise ValueError(f"Linear: input: expected at least 1 dimension, got shape {x.shape}")
        check_input(self, x, axis=-1, size=self.in_features, like=self.weight)
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
