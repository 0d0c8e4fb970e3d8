"""Layer-level functions: linear, embedding, dropout."""

from __future__ import annotations

import numpy as np

from tinygan import random
from tinygan.ops._util import as_tensor
from tinygan.ops.linalg import matmul
from tinygan.ops.reduce import sum
from tinygan.ops.shape import getitem, reshape, transpose
from tinygan.tensor import Function, Tensor, wrap


class Linear(Function):
    """y = x W^T + b for x (N, in), W (out, in), b (out,):

        dx = gy W,   dW = gy^T x,   db = sum_n gy.

    One op rather than transpose, matmul and add: dW = gy^T x comes out of one product already
    in W's shape, and one backward gives all three gradients.
    """

    def forward(self, x, w, b=None):
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, w = self.inputs[:2]
        needs = self.needs_input_grad
        gx = matmul(gy, w) if needs[0] else None
        gw = matmul(transpose(gy), x) if needs[1] else None
        gb = sum(gy, axis=0) if len(needs) == 3 and needs[2] else None
        return gx, gw, gb


def linear(x, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch; x is (..., in)."""
    x = as_tensor(x)
    lead = x.shape[:-1]
    if x.ndim != 2:  # fold leading axes into one batch axis
        x = reshape(x, (-1, x.shape[-1]))
    y = Linear()(x, weight) if bias is None else Linear()(x, weight, bias)
    return reshape(y, lead + (weight.shape[0],)) if len(lead) != 1 else y


def embedding(indices, weight):
    """Rows of ``weight`` picked by integer ``indices``; the gradient adds into those rows."""
    idx = indices.data if isinstance(indices, Tensor) else indices
    if not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices: expected an integer array, got {getattr(idx, 'dtype', type(idx).__name__)}")
    # Checked on the CPU only: on the GPU it would cost a device-to-host copy every step.
    if type(idx) is np.ndarray and idx.size and (int(idx.min()) < 0 or int(idx.max()) >= weight.shape[0]):
        raise ValueError(f"embedding: indices must be in [0, {weight.shape[0] - 1}], "
                         f"got values from {int(idx.min())} to {int(idx.max())}")
    return getitem(weight, idx)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout);
    the identity when not training."""
    x = as_tensor(x)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = random.rand(*x.shape, device=x.device, dtype=x.dtype) >= p
    mask = keep.astype(x.dtype)
    mask *= 1.0 / (1.0 - p)
    return x * wrap(mask)
