"""Layer-level functions: linear, embedding, dropout."""

from __future__ import annotations

import numpy as np

from tinygan import parallel, random
from tinygan.ops._util import as_tensor
from tinygan.ops.linalg import matmul
from tinygan.ops.reduce import sum
from tinygan.ops.shape import getitem, reshape, transpose
from tinygan.tensor import Function, Tensor, count_flops, is_grad_enabled, wrap


class Linear(Function):
    """y = x W^T + b for x (N, in), W (out, in), b (out,):

        dx = gy W,   dW = gy^T x,   db = sum_n gy.

    One op instead of transpose + matmul + add: dW comes out of one GEMM already in W's
    (row-major) layout, which keeps the optimizer's in-place updates on contiguous memory.

    y and dx come out in x's memory order. A flattened convolution activation has the batch
    innermost (column-major (N, F)); for it they are computed transposed, y^T = W x^T and
    dx^T = W^T gy^T, which is the same arithmetic, so that no later op copies them into order.
    ``batch_innermost`` asks for a column-major y whatever x's order (see nn.Linear).
    """

    def __init__(self, batch_innermost=False):
        self.batch_innermost = batch_innermost

    def forward(self, x, w, b=None):
        if self.batch_innermost or _batch_innermost(x):
            y = parallel.matmul(w, x.T).T  # (W x^T)^T: column-major like x
        else:
            y = parallel.matmul(x, w.T)  # x @ w.T, split over the CPU threads when big (tinygan.parallel)
        if b is not None:
            y += b
        return y

    def flops(self, xs, y):
        return 2 * y.size * xs[0].shape[-1]

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        needs = self.needs_input_grad
        if not is_grad_enabled():  # no graph of the gradient wanted: the same formulas on raw arrays
            return self._raw_backward(gy.data, x.data, w.data, needs)
        gx = matmul(gy, w) if needs[0] else None
        gw = matmul(transpose(gy), x) if needs[1] else None
        grads = (gx, gw)
        if len(self.inputs) == 3:
            grads += (sum(gy, axis=0) if needs[2] else None,)
        return grads

    def _raw_backward(self, gy, x, w, needs):
        # dW and dx are independent products: computed at once, one per thread (parallel.matmuls).
        # dW = gy^T x first: its inner dimension is the batch, and it runs ~10% slower than dx.
        transposed = _batch_innermost(x)  # dx^T = W^T gy^T, so that dx is column-major like x
        wanted = ([(gy.T, x)] if needs[1] else []) + ([(w.T, gy.T) if transposed else (gy, w)] if needs[0] else [])
        products = parallel.matmuls(*wanted)
        count_flops(len(wanted) * 2 * gy.size * x.shape[1])  # for tinygan.profile: what matmul Functions would count
        gw = wrap(products.pop(0)) if needs[1] else None
        gx = None
        if needs[0]:
            gx = products.pop(0)
            gx = wrap(gx.T if transposed else gx)
        grads = (gx, gw)
        if len(self.inputs) == 3:
            grads += (wrap(gy.sum(axis=0)) if needs[2] else None,)
        return grads


def _batch_innermost(x):
    """A 2-D array stored column-major (the batch axis innermost), as a flattened conv activation is."""
    return x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous


def linear(x, weight, bias=None, batch_innermost=False):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch; x is (..., in).
    ``batch_innermost``: y stored column-major (the same values; see nn.Linear)."""
    x = as_tensor(x)
    lead = x.shape[:-1]
    if x.ndim != 2:  # fold leading axes into one batch axis
        x = reshape(x, (-1, x.shape[-1]))
    fn = Linear(batch_innermost)
    y = fn(x, weight) if bias is None else fn(x, weight, bias)
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
