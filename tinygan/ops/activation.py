"""Nonlinearities: tanh, sigmoid, relu, leaky_relu, elu, selu, softplus, log_sigmoid, softmax, log_softmax, glu.

The ones whose derivative is a function of their output (tanh, sigmoid, softmax) write the
backward in terms of ``self.output``, a Tensor in the graph, so second derivatives are right.
The piecewise-linear ones multiply by a constant mask: their second derivative is 0.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.ops.math import exp
from tinygan.ops.reduce import sum
from tinygan.tensor import Function, wrap


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    def forward(self, x):
        return backend.array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output
        return gy * (1.0 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y).

    Computed with e = e^-|x|, which never overflows, as 1 / (1 + e) for x >= 0 and e / (1 + e)
    for x < 0: both are a few roundings from the true value, so y keeps its relative precision
    on both tails. (The form (1 + tanh(x/2)) / 2 cancels for negative x: in float32 it is 2.6%
    off at x = -15 and exactly 0 from x = -20 on, where y is 2e-9.)
    """

    def forward(self, x):
        xp = backend.array_module(x)
        e = xp.abs(x)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        y = xp.where(x >= 0, x.dtype.type(1), e)
        e += 1.0
        y /= e
        return y

    def backward(self, gy):
        y = self.output
        return gy * (y * (1.0 - y))


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 if x > 0 else 0."""

    def forward(self, x):
        return backend.array_module(x).maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * wrap((x > 0).astype(x.dtype))


class LeakyReLU(Function):
    """y = x if x > 0 else slope * x;  dy/dx = 1 if x > 0 else slope."""

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return backend.array_module(x).where(x > 0, x, x * self.slope)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * wrap(backend.array_module(x).where(x > 0, 1.0, self.slope).astype(x.dtype))


class ELU(Function):
    """y = scale * (x if x > 0 else alpha (e^x - 1));  dy/dx = scale if x > 0 else y + scale * alpha.

    ELU (Clevert et al. 2015) is scale = 1; SELU (Klambauer et al. 2017) is the scaled one below.
    The backward uses ``self.output`` on the negative side (its derivative there is y + scale alpha),
    so the second derivative, scale alpha e^x for x <= 0, comes out right."""

    def __init__(self, alpha, scale=1.0):
        self.alpha, self.scale = alpha, scale

    def forward(self, x):
        xp = backend.array_module(x)
        neg = xp.expm1(xp.minimum(x, 0))  # expm1: accurate near 0; the minimum: no overflow for large x
        neg *= self.alpha
        y = xp.where(x > 0, x, neg)
        if self.scale != 1.0:
            y *= self.scale
        return y

    def backward(self, gy):
        x = self.inputs[0].data
        pos = (x > 0).astype(x.dtype)
        # dy/dx = y * [x <= 0] + (scale [x > 0] + scale alpha [x <= 0]): the first term is in the graph
        const = pos * (self.scale - self.scale * self.alpha)
        const += self.scale * self.alpha
        return gy * (self.output * wrap(1.0 - pos) + wrap(const))


# SELU's constants (Klambauer et al. 2017, eq. 14): the fixed point mean 0, variance 1.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Softplus(Function):
    """y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (stable for any x);  dy/dx = sigmoid(x)."""

    def forward(self, x):
        xp = backend.array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class LogSigmoid(Function):
    """y = log sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|);  dy/dx = sigmoid(-x)."""

    def forward(self, x):
        xp = backend.array_module(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(-self.inputs[0])


class Softmax(Function):
    """y_i = e^(x_i - max x) / sum_j e^(x_j - max x);  dx = y * (gy - sum(gy * y))."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, gy):
        y = self.output
        return y * (gy - sum(gy * y, self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x);  dx = gy - softmax(x) * sum(gy) = gy - e^y * sum(gy)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        return gy - exp(self.output) * sum(gy, self.axis, keepdims=True)


def tanh(x):
    return Tanh()(as_tensor(x))


def sigmoid(x):
    return Sigmoid()(as_tensor(x))


def relu(x):
    return ReLU()(as_tensor(x))


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU(float(negative_slope))(as_tensor(x))


def elu(x, alpha=1.0):
    """ELU: x if x > 0 else alpha (e^x - 1)."""
    return ELU(float(alpha))(as_tensor(x))


def selu(x):
    """SELU: lambda * (x if x > 0 else alpha (e^x - 1)), lambda = 1.0507..., alpha = 1.6733...;
    keeps activations near mean 0 and variance 1 through a deep network (self-normalising)."""
    return ELU(SELU_ALPHA, SELU_SCALE)(as_tensor(x))


def softplus(x):
    return Softplus()(as_tensor(x))


def log_sigmoid(x):
    return LogSigmoid()(as_tensor(x))


def _axis(axis, ndim, name):
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis must be in [{-ndim}, {ndim - 1}] for a {ndim}-d tensor, got {axis}")
    return axis % ndim


def softmax(x, axis=-1):
    x = as_tensor(x)
    return Softmax(_axis(axis, x.ndim, "softmax"))(x)


def log_softmax(x, axis=-1):
    x = as_tensor(x)
    return LogSoftmax(_axis(axis, x.ndim, "log_softmax"))(x)


def glu(x, axis=1):
    """The gated linear unit (Dauphin et al. 2017): x split in halves (a, b) along ``axis``,

        y = a * sigmoid(b);   dy/da = sigmoid(b),  dy/db = a sigmoid(b) (1 - sigmoid(b)).

    A composition of getitem, sigmoid and mul, so its derivatives (of any order) are theirs."""
    x = as_tensor(x)
    axis = _axis(axis, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ValueError(f"glu: input: expected an even size along axis {axis} (two halves), got shape {x.shape}")
    half = x.shape[axis] // 2
    lead = (slice(None),) * axis
    return x[lead + (slice(0, half),)] * sigmoid(x[lead + (slice(half, None),)])
