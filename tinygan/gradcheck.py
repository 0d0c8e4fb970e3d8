"""Finite-difference checks of first and second derivatives.

``gradcheck(fn, inputs)`` compares the gradients autograd computes with central differences,

    dL/dx_i  ~  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),

where L = sum(fn(inputs) * v) for a fixed random v (a random projection of the output checks
the whole Jacobian with one backward pass, and differences of one scalar). It needs float64:
in float32 the rounding error of a difference quotient is larger than the quantities compared.

``gradgradcheck(fn, inputs)`` runs the same check on the function
``inputs -> sum_i sum(dL/dx_i * u_i)``, whose gradient exists only through double
backpropagation: it verifies the backward of every backward.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.tensor import Tensor, grad


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the finite difference."""


def _prepare(inputs):
    """Tensors to differentiate (float64, requires_grad) and the positions of the others."""
    tensors = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            if x.dtype.kind == "f" and x.dtype != np.float64:
                raise TypeError(f"inputs[{i}]: gradcheck needs float64 tensors, got {x.dtype} "
                                "(finite differences in float32 are too coarse to compare)")
            tensors.append(x)
        elif hasattr(x, "dtype") and x.dtype.kind == "f":
            tensors.append(Tensor(x.astype(np.float64), requires_grad=True))
        else:
            tensors.append(x)  # a constant argument: an integer array, a number, a flag
    diff = [i for i, x in enumerate(tensors) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("inputs: gradcheck needs at least one float64 Tensor with requires_grad=True")
    return tensors, diff


def _projection(out, seed):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(out.shape)
    return Tensor(backend.to_device(v.astype(out.dtype), out.device))


def _scalar(fn, tensors, v):
    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"fn: expected it to return a Tensor, got {type(out).__name__}")
    return (out * v).sum() if v is not None else out


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check d fn / d inputs against central differences; raise GradcheckError on a mismatch.

    ``inputs`` are float64 Tensors with requires_grad (arrays are wrapped), plus any constant
    arguments. ``fn`` must be deterministic. Returns True when every element agrees within
    ``atol + rtol * |numeric|``; otherwise the error names the input, the worst element's index,
    and both values.
    """
    tensors, diff = _prepare(inputs)
    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"fn: expected it to return a Tensor, got {type(out).__name__}")
    v = _projection(out, seed)
    loss = (out * v).sum()
    if loss.requires_grad:
        analytic = grad(loss, [tensors[i] for i in diff], allow_unused=True)
    else:  # the output does not depend on the inputs at all: every derivative is 0
        analytic = [None] * len(diff)

    for k, i in enumerate(diff):
        x = tensors[i]
        a = backend.to_numpy(analytic[k].data) if analytic[k] is not None else np.zeros(x.shape)
        numeric = np.zeros(x.shape)
        if not x.data.flags.c_contiguous:
            x.data = backend.array_module(x.data).ascontiguousarray(x.data)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
        num_flat = numeric.reshape(-1)
        for j in range(flat.size):
            orig = flat[j].item()
            # Recording stays on: gradgradcheck's fn takes a gradient inside.
            flat[j] = orig + eps
            plus = _scalar(fn, tensors, v).item()
            flat[j] = orig - eps
            minus = _scalar(fn, tensors, v).item()
            flat[j] = orig
            num_flat[j] = (plus - minus) / (2 * eps)
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            worst = np.unravel_index(np.argmax(err), err.shape)
            raise GradcheckError(
                f"gradient of input {i} (shape {x.shape}) is wrong at index {tuple(int(t) for t in worst)}: "
                f"analytic {a[worst]:.8g}, numeric {numeric[worst]:.8g} "
                f"(max abs difference {np.abs(a - numeric).max():.3g}; atol={atol}, rtol={rtol})")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: gradcheck of x -> sum_i <dL/dx_i, u_i> with L = <fn(x), v>.

    The inner gradient is taken with ``create_graph=True``, so the outer check exercises the
    backward of every Function's backward.
    """
    tensors, diff = _prepare(inputs)
    out = fn(*tensors)
    v = _projection(out, seed)
    rng = np.random.default_rng(seed + 1)
    us = [Tensor(backend.to_device(rng.standard_normal(tensors[i].shape), tensors[i].device)) for i in diff]

    def first_derivative_projected(*xs):
        loss = (fn(*xs) * v).sum()
        total = Tensor(np.zeros((), dtype=np.float64), device=loss.device)
        if not loss.requires_grad:
            return total
        grads = grad(loss, [xs[i] for i in diff], create_graph=True, allow_unused=True)
        for g, u in zip(grads, us):
            if g is not None:
                total = total + (g * u).sum()
        return total

    return gradcheck(first_derivative_projected, tensors, eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
