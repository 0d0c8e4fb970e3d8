"""Checkers of the layers' chapters (4-5): convolution's sizes and its adjoint, layer-norm's
backward, batch-norm's running statistics."""

from __future__ import annotations

import numpy as np

import tinygan as tg
from tinygan import nn
from tinygan.exercises._grading import Wrong, answering, at, compare, describe, exercise, number, to_array
from tinygan.ops import layer_norm
from tinygan.tensor import Tensor

# ----------------------------------------------------------------------------------------------
# Chapter 4: convolution
# ----------------------------------------------------------------------------------------------

# (size, kernel, stride, padding, dilation): DCGAN's layers, LSGAN's, odd sizes, dilation
SIZE_CASES = [(28, 4, 2, 1, 1), (14, 4, 2, 1, 1), (28, 5, 1, 0, 1), (7, 3, 1, 1, 1), (7, 3, 2, 0, 1),
              (10, 3, 2, 1, 2), (9, 2, 3, 0, 1), (5, 5, 1, 2, 1), (12, 3, 1, 0, 3), (6, 1, 1, 0, 1)]


@exercise("conv_output_size", 4, "a convolution's output size from size, kernel, stride, padding and dilation")
def check_conv_output_size(answer):
    """Against the size of tinygan's conv2d output, on ten layers."""
    if not callable(answer):
        raise Wrong(f"expected a function conv_output_size(size, kernel, stride, padding, dilation), got "
                    f"{describe(answer)}")
    for size, k, s, p, d in SIZE_CASES:
        y = tg.conv2d(Tensor(np.zeros((1, 1, size, size))), Tensor(np.zeros((1, 1, k, k))), stride=s, padding=p,
                      dilation=d)
        expected = y.shape[2]
        case = f"size {size}, kernel {k}, stride {s}, padding {p}, dilation {d}"
        with answering("your conv_output_size"):
            got = answer(size, k, s, p, d)
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if isinstance(got, (float, np.floating)) and float(got) == expected:
                raise Wrong(f"for {case} your function returns {got!r}, a float: a size is an int")
            raise Wrong(f"for {case} your function returns {describe(got)}; conv2d's output has {expected} rows")
        if got != expected:
            raise Wrong(f"for {case} your function gives {got}; conv2d's output has {expected} rows")
    return f"your sizes agree with conv2d's outputs on {len(SIZE_CASES)} layers, dilation included."


# (N, C, H, W) of the input, O, kernel, stride, padding: overlapping windows, stride 2, and a last
# row no window reaches (5x5, kernel 2, stride 2: the transposed convolution's output_padding = 1)
COL2IM_CASES = [((2, 3, 6, 6), 4, 3, 1, 1), ((2, 2, 7, 7), 3, 3, 2, 1), ((1, 2, 5, 5), 3, 2, 2, 0)]


@exercise("col2im", 4, "col2im, the adjoint of the chapter's im2col: columns back to an image, overlaps summed")
def check_col2im(answer):
    """col2im(w^T @ gy) must be the transposed convolution of gy with w (tinygan's conv_transpose2d)."""
    if not callable(answer):
        raise Wrong(f"expected a function col2im(cols, x_shape, kernel, stride, padding), got {describe(answer)}")
    rng = np.random.default_rng(4)
    for x_shape, o, k, s, p in COL2IM_CASES:
        n, c, h, w_ = x_shape
        oh, ow = (h + 2 * p - k) // s + 1, (w_ + 2 * p - k) // s + 1
        w = rng.standard_normal((o, c, k, k))
        gy = rng.standard_normal((n, o, oh, ow))
        # w_mat^T @ gy_mat, laid out as the chapter's im2col: rows (c, p, q), columns (n, i, j)
        cols = w.reshape(o, c * k * k).T @ gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
        pad_h, pad_w = h - ((oh - 1) * s - 2 * p + k), w_ - ((ow - 1) * s - 2 * p + k)
        expected = tg.conv_transpose2d(Tensor(gy), Tensor(w), stride=s, padding=p,
                                       output_padding=(pad_h, pad_w)).numpy()
        case = f"an input of shape {x_shape}, kernel {k}, stride {s}, padding {p}"
        with answering("your col2im"):
            got = answer(cols.copy(), x_shape, k, s, p)
        got = to_array(got, f"for {case}, what your col2im returned", x_shape)
        compare(got, expected, "x", f"for {case}, col2im(w^T @ gy) should be the transposed convolution of gy; your ",
                rtol=1e-9, atol=1e-9)
    return ("col2im of w^T @ gy equals tinygan's conv_transpose2d for overlapping windows, stride 2, and a row no "
            "window reaches: it is im2col's adjoint.")


# ----------------------------------------------------------------------------------------------
# Chapter 5: normalisation
# ----------------------------------------------------------------------------------------------


@exercise("layernorm_backward", 5, "layer-norm's dx in closed form (each sample over its features)")
def check_layernorm_backward(answer):
    """``answer(x, w, gy, eps) -> dx`` for y = xhat * w + b over the last axis, against autograd
    through tinygan's layer_norm."""
    if not callable(answer):
        raise Wrong(f"expected a function layernorm_backward(x, w, gy, eps), got {describe(answer)}")
    rng = np.random.default_rng(5)
    x, w, gy = rng.standard_normal((4, 6)) * 2 + 1, rng.standard_normal(6), rng.standard_normal((4, 6))
    eps = 1e-5
    X = Tensor(x, requires_grad=True)
    layer_norm(X, (6,), Tensor(w), Tensor(np.zeros(6)), eps).backward(Tensor(gy))
    with answering("your layernorm_backward"):
        got = answer(x.copy(), w.copy(), gy.copy(), eps)
    got = to_array(got, "the dx your function returned", x.shape)
    compare(got, X.grad.numpy(), "dx", "for x of shape (4, 6) normalised over its 6 features, your ", rtol=1e-6,
            atol=1e-9)
    return "dx agrees with autograd through tinygan's layer_norm (each row sums to zero, as it must)."


@exercise("running_statistics", 5, "batch-norm's running mean and variance after one training batch")
def check_running_statistics(answer):
    """``answer(running_mean, running_var, x, momentum) -> (mean, var)`` against BatchNorm1d's
    buffers after one forward pass in training mode."""
    if not callable(answer):
        raise Wrong(f"expected a function running_statistics(running_mean, running_var, x, momentum), got "
                    f"{describe(answer)}")
    rng = np.random.default_rng(6)
    for momentum, n in ((0.1, 8), (0.2, 5)):
        x = rng.standard_normal((n, 3)) * np.array([1.0, 3.0, 0.5]) + np.array([0.0, 2.0, -1.0])
        bn = nn.BatchNorm1d(3, momentum=momentum, dtype=np.float64)
        bn.running_mean[...] = [0.5, -0.2, 1.0]
        bn.running_var[...] = [2.0, 0.7, 1.3]
        start = (bn.running_mean.copy(), bn.running_var.copy())
        bn(Tensor(x))
        with answering("your running_statistics"):
            got = answer(start[0].copy(), start[1].copy(), x.copy(), momentum)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong(f"your function returned {describe(got)}; expected a pair (running_mean, running_var)")
        where = f"with momentum {momentum} and a batch of {n}, "
        for name, value, expected in (("running_mean", got[0], bn.running_mean),
                                      ("running_var", got[1], bn.running_var)):
            value = to_array(value, f"your {name}", (3,))
            index = next((i for i in range(3) if not np.isclose(value[i], expected[i], rtol=1e-9, atol=1e-12)), None)
            if index is not None:
                raise Wrong(f"{where}your {name}{at((index,))} is {number(value[index])}, BatchNorm1d's is "
                            f"{number(expected[index])} (it started at {number(start[name == 'running_var'][index])}, "
                            f"and the batch's values of that feature are {np.round(x[:, index], 3).tolist()})")
    return "your running mean and variance match BatchNorm1d's after a training batch, for two momenta."


__all__ = ["COL2IM_CASES", "SIZE_CASES"]
