"""Matrix product, batched and broadcasting like numpy.matmul.

For y = a @ b:  da = gy @ b^T,  db = a^T @ gy  (transposes of the last two axes), each summed
back over the batch axes that broadcasting added.
"""

from __future__ import annotations

from tinygan.ops._util import pair
from tinygan.ops.reduce import sum_to
from tinygan.ops.shape import reshape, swapaxes
from tinygan.tensor import Function


class MatMul(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(matmul(gy, swapaxes(b, -1, -2)), a.shape) if na else None
        gb = sum_to(matmul(swapaxes(a, -1, -2), gy), b.shape) if nb else None
        return ga, gb


def matmul(a, b):
    """a @ b for tensors of 1 or more dimensions (numpy.matmul semantics)."""
    a, b = pair(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: expected tensors with at least 1 dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    if a.ndim == 1:  # a vector on the left is a row: (n,) -> (1, n), then drop that axis
        # vector @ vector is the 0-d dot product; vector @ (..., n, m) is (..., m)
        return reshape(matmul(reshape(a, (1, -1)), b), () if b.ndim == 1 else b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:  # a vector on the right is a column
        return reshape(matmul(a, reshape(b, (-1, 1))), a.shape[:-1])
    return MatMul()(a, b)
