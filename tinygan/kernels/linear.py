"""Linear and MatMul: the matrix products split over the threads (``pool.matmul``); and Add.

``Linear``'s backward computes dW = gy^T x and dx = gy W at once, one product per thread
(``pool.matmuls``): a product split in two runs less efficiently than two whole ones. dW goes
first, on the calling thread, which starts at once (a pool thread starts ~50 us later): its
inner dimension is the batch, and it is the slower of the two.

y and dx come out in x's memory order. A flattened convolution activation has the batch
innermost (a column-major (N, F) view of a channels-first array); for it they are computed
transposed, y^T = W x^T and dx^T = W^T gy^T, which is the same arithmetic, so that no later op
has to copy them into order.

``Add``: big sums of equal shapes (gradients reaching a tensor by two paths) block by block
over the threads.
"""

from __future__ import annotations

from tinygan.backend import array_module
from tinygan.kernels import Example, register
from tinygan.kernels import pool
from tinygan.kernels.pool import elementwise, is_cpu, matmul, matmuls
from tinygan.ops.linalg import MatMul
from tinygan.ops.math import Add
from tinygan.ops.nn import Linear, linear


def batch_innermost(x):
    """A 2-D array stored column-major (the batch axis innermost), as a flattened conv activation is."""
    return x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous


def linear_forward(fn, x, w, b=None):
    y = matmul(w, x.T).T if batch_innermost(x) else matmul(x, w.T)  # (W x^T)^T: column-major like x
    if b is not None:
        y += b
    return y


def linear_backward(fn, gy):
    x, w = fn.inputs[0].data, fn.inputs[1].data
    needs = fn.needs_input_grad
    transposed = batch_innermost(x)  # dx^T = W^T gy^T, so that dx is column-major like x
    wanted = ([(gy.T, x)] if needs[1] else []) + ([(w.T, gy.T) if transposed else (gy, w)] if needs[0] else [])
    products = matmuls(*wanted)
    gw = products.pop(0) if needs[1] else None
    gx = None
    if needs[0]:
        gx = products.pop(0)
        gx = gx.T if transposed else gx
    gb = gy.sum(axis=0) if len(needs) == 3 and needs[2] else None
    return gx, gw, gb


def matmul_forward(fn, a, b):
    return matmul(a, b) if a.ndim == 2 and b.ndim == 2 else NotImplemented


def add_forward(fn, a, b):
    if a.shape != b.shape or a.size < pool.MIN_SIZE or not is_cpu(a, b):
        return NotImplemented
    xp = array_module(a)
    return elementwise(lambda a, b, y: xp.add(a, b, out=y), a, b)


register(Linear, forward=linear_forward, backward=linear_backward,
         examples=[Example(linear, ((9, 7), (5, 7), (5,))), Example(linear, ((6, 11), (1, 11))),
                   Example(linear, ((4, 3, 6), (8, 6), (8,)))])
register(MatMul, forward=matmul_forward, examples=[Example(lambda a, b: a @ b, ((7, 5), (5, 9))),
                                                   Example(lambda a, b: a @ b, ((6, 1), (1, 4)))])
register(Add, forward=add_forward, examples=[Example(lambda a, b: a + b, ((7, 13), (7, 13))),
                                             Example(lambda a, b: a + b, ((3, 5, 4, 6), (3, 5, 4, 6)))])
