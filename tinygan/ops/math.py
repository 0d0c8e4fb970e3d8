"""Elementwise arithmetic: add, sub, mul, div, neg, pow, exp, log, sqrt, abs, clip,
maximum, minimum, where.

Each Function's local derivative sits right next to its forward. Binary ops broadcast like
NumPy, and their backward sums each gradient back to its operand's shape with ``sum_to``.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.ops._util import as_tensor, pair
from tinygan.ops.reduce import broadcast_to, sum_to
from tinygan.tensor import Function, Tensor, wrap


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(gy, a.shape) if na else None), (sum_to(gy, b.shape) if nb else None)


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(gy, a.shape) if na else None), (sum_to(-gy, b.shape) if nb else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(gy * b, a.shape) if na else None), (sum_to(gy * a, b.shape) if nb else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = gy / b
        gb = sum_to(-(ga * a) / b, b.shape) if nb else None
        return (sum_to(ga, a.shape) if na else None), gb


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = x^c for a constant exponent c;  dy/dx = c * x^(c-1) (0 for c = 0, 1 for c = 1)."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        x = self.inputs[0]
        # c = 0 and c = 1 by name: c * x^(c-1) would be 0 * x^-1 = 0 * inf = NaN at x = 0
        # (first order for c = 0, second order for c = 1), where the derivative is 0.
        if self.c == 0:
            return wrap(backend.array_module(x.data).zeros(x.shape, dtype=x.dtype))
        if self.c == 1:
            return gy
        if self.c == 2:
            return gy * (x * 2.0)
        return gy * (pow(x, self.c - 1) * self.c)


class Exp(Function):
    """y = e^x;  dy/dx = y."""

    def forward(self, x):
        return backend.array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        return backend.array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2y)."""

    def forward(self, x):
        return backend.array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (self.output * 2.0)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at 0, a subgradient)."""

    def forward(self, x):
        return backend.array_module(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * wrap(backend.array_module(x).sign(x))


class Clip(Function):
    """y = min(max(x, low), high);  dy/dx = 1 inside [low, high], 0 outside."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        return backend.array_module(x).clip(x, self.low, self.high)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = backend.array_module(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * wrap(inside.astype(x.dtype))


class Maximum(Function):
    """y = max(a, b) elementwise; the gradient goes to the larger, split evenly on ties."""

    def forward(self, a, b):
        return backend.array_module(a).maximum(a, b)

    def backward(self, gy):
        return _split_by_mask(self, gy, lambda a, b: a > b)


class Minimum(Function):
    """y = min(a, b) elementwise; the gradient goes to the smaller, split evenly on ties."""

    def forward(self, a, b):
        return backend.array_module(a).minimum(a, b)

    def backward(self, gy):
        return _split_by_mask(self, gy, lambda a, b: a < b)


def _split_by_mask(fn, gy, wins):
    a, b = fn.inputs
    xp = backend.array_module(a.data)
    share = wins(a.data, b.data).astype(a.dtype) + (a.data == b.data).astype(a.dtype) * 0.5
    share = xp.broadcast_to(share, gy.shape)
    na, nb = fn.needs_input_grad
    ga = sum_to(gy * wrap(share), a.shape) if na else None
    gb = sum_to(gy * wrap(1.0 - share), b.shape) if nb else None
    return ga, gb


class Where(Function):
    """y = a where cond else b;  dy/da = cond, dy/db = not cond (cond is a constant mask)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return backend.array_module(a).where(self.cond, a, b)

    def backward(self, gy):
        a, b = self.inputs
        mask = backend.array_module(a.data).broadcast_to(self.cond, gy.shape).astype(a.dtype)
        na, nb = self.needs_input_grad
        ga = sum_to(gy * wrap(mask), a.shape) if na else None
        gb = sum_to(gy * wrap(1.0 - mask), b.shape) if nb else None
        return ga, gb


# ----------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------


def add(a, b):
    return Add()(*pair(a, b, "add"))


def sub(a, b):
    return Sub()(*pair(a, b, "sub"))


def mul(a, b):
    return Mul()(*pair(a, b, "mul"))


def div(a, b):
    return Div()(*pair(a, b, "div"))


def neg(x):
    return Neg()(as_tensor(x))


def pow(base, exponent):  # noqa: A001 (the NumPy name)
    """base ** exponent. A constant exponent is one op; a Tensor exponent is exp(b * log a) (a > 0)."""
    if isinstance(exponent, Tensor):
        base, exponent = pair(base, exponent, "pow")
        return exp(exponent * log(base))
    if not isinstance(exponent, (int, float, np.integer, np.floating)):
        raise TypeError(f"exponent: expected a number or a Tensor, got {type(exponent).__name__}")
    return Pow(float(exponent) if not float(exponent).is_integer() else int(exponent))(as_tensor(base, "base"))


def exp(x):
    return Exp()(as_tensor(x))


def log(x):
    return Log()(as_tensor(x))


def sqrt(x):
    return Sqrt()(as_tensor(x))


def abs(x):  # noqa: A001 (the NumPy name)
    return Abs()(as_tensor(x))


def clip(x, low=None, high=None):
    """min(max(x, low), high) with number bounds; the bounds take ``x``'s dtype, so a NumPy
    float64 bound does not turn a float32 tensor into float64."""
    x = as_tensor(x)
    if low is None and high is None:
        raise ValueError("clip: expected low, high or both, got neither")
    low, high = _bound(low, x, "low"), _bound(high, x, "high")
    if low is not None and high is not None and low > high:
        raise ValueError(f"clip: expected low <= high, got low={low}, high={high}")
    return Clip(low, high)(x)


def _bound(value, like, name):
    """A clip bound as a NumPy scalar of ``like``'s dtype (CuPy takes those too), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"clip: {name}: expected a real number or None, got {type(value).__name__}")
    return like.data.dtype.type(value)


def maximum(a, b):
    return Maximum()(*pair(a, b, "maximum"))


def minimum(a, b):
    return Minimum()(*pair(a, b, "minimum"))


def where(cond, a, b):
    """Elementwise ``a if cond else b``; ``cond`` is a boolean array or Tensor (not differentiated)."""
    a, b = pair(a, b, "where")
    cond = cond.data if isinstance(cond, Tensor) else cond
    xp = backend.array_module(a.data)
    cond = xp.asarray(cond, dtype=bool)
    shape = xp.broadcast_shapes(cond.shape, a.shape, b.shape)
    # Broadcast the operands up front, so that the output and both gradients have the full shape.
    return Where(cond)(broadcast_to(a, shape), broadcast_to(b, shape))
