"""The convolutions' pieces and paths give the same numbers: im2col (the textbook's and the
kernels') against a naive loop, col2im as its adjoint; in tinygan.kernels, the banded column
matrix (for big layers) against the single one, and the fused per-position transposed
direction against GEMM + col2im. Each path is also gradient-checked."""

import numpy as np
import pytest

import tinygan as tg
from tinygan.kernels import conv as C
from tinygan.ops import conv as textbook

from helpers import tensor, to_np


def naive_im2col(x, k, s, p, d, oh, ow):
    """Row (c, kh, kw), column (i, j, n), written with plain loops."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.zeros((c, k, k, oh, ow, n))
    for ci in range(c):
        for a in range(k):
            for b in range(k):
                for i in range(oh):
                    for j in range(ow):
                        for m in range(n):
                            cols[ci, a, b, i, j, m] = xp[m, ci, i * s + a * d, j * s + b * d]
    return cols.reshape(c * k * k, oh * ow * n)


@pytest.mark.parametrize("module", [textbook, C], ids=["textbook", "kernels"])
@pytest.mark.parametrize("k,s,p,d", [(3, 1, 1, 1), (4, 2, 1, 1), (3, 2, 0, 2), (1, 1, 0, 1),
                                     (3, 1, 4, 1), (2, 3, 2, 2), (1, 2, 3, 1)])  # padding wider than the kernel
def test_im2col_matches_naive_loops(module, k, s, p, d):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    oh, ow = textbook.conv_output_size(7, k, s, p, d), textbook.conv_output_size(6, k, s, p, d)
    np.testing.assert_array_equal(module.im2col(x, (k, k), (s, s), (p, p), (d, d), (oh, ow)),
                                  naive_im2col(x, k, s, p, d, oh, ow))


@pytest.mark.parametrize("module", [textbook, C], ids=["textbook", "kernels"])
def test_col2im_is_the_adjoint_of_im2col(module):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 7))
    args = ((4, 4), (2, 2), (1, 1), (1, 1), (4, 3))
    cols = module.im2col(x, *args)
    y = rng.standard_normal(cols.shape)
    assert np.sum(cols * y) == pytest.approx(np.sum(x * module.col2im(y, x.shape, *args)), rel=1e-12)


@pytest.fixture(autouse=True)
def _kernels(kernels_on):
    """The kernels' paths are what these tests check, in a run with the kernels off too."""


def _conv_results(device, x, w, wt):
    xs = tensor(x, device, requires_grad=True)
    ws, wts = tensor(w, device, requires_grad=True), tensor(wt, device, requires_grad=True)
    y = tg.conv2d(xs, ws, 2, 1) + 0
    z = tg.conv_transpose2d(xs, wts, 2, 1, 1)
    ((y * y).sum() + (z * z).sum()).backward()
    return [to_np(a) for a in (y, z, xs.grad, ws.grad, wts.grad)]


def test_banded_columns_give_the_same_results(monkeypatch, device):
    rng = np.random.default_rng(2)
    x, w, wt = rng.standard_normal((3, 5, 9, 8)), rng.standard_normal((6, 5, 3, 3)), rng.standard_normal((5, 4, 3, 3))
    whole = _conv_results(device, x, w, wt)
    monkeypatch.setattr(C, "MAX_COLUMN_BYTES", 5 * 9 * 4 * 3 * 8)  # a band of one or two output rows
    assert len(C.row_bands((3, 5, 9, 8), (3, 3), (5, 4), 8)) > 2
    for a, b in zip(whole, _conv_results(device, x, w, wt)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("block", [10**9, 1], ids=["all rows", "a row at a time"])
def test_fused_and_col2im_transposed_kernels_agree(monkeypatch, device, block):
    rng = np.random.default_rng(3)
    x, w, wt = rng.standard_normal((2, 20, 6, 5)), rng.standard_normal((18, 20, 4, 4)), rng.standard_normal((20, 17, 4, 4))
    monkeypatch.setattr(C, "FUSED_MIN_CHANNELS", 1)
    monkeypatch.setattr(C, "FUSED_BLOCK_BYTES", block)
    fused = _conv_results(device, x, w, wt)
    monkeypatch.setattr(C, "FUSED_MIN_CHANNELS", 10**9)
    for a, b in zip(fused, _conv_results(device, x, w, wt)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("limit", [10**9, 600], ids=["one band", "banded"])
@pytest.mark.parametrize("fused", [1, 10**9], ids=["fused", "col2im"])
def test_gradients_of_every_path(monkeypatch, limit, fused, device):
    monkeypatch.setattr(C, "MAX_COLUMN_BYTES", limit)
    monkeypatch.setattr(C, "FUSED_MIN_CHANNELS", fused)
    monkeypatch.setattr(C, "FUSED_BLOCK_BYTES", limit)  # the fused kernel a few rows of g at a time, too
    rng = np.random.default_rng(4)
    x = tensor(rng.standard_normal((2, 3, 5, 6)), device, requires_grad=True)
    w = tensor(rng.standard_normal((4, 3, 3, 3)), device, requires_grad=True)
    wt = tensor(rng.standard_normal((3, 2, 3, 3)), device, requires_grad=True)
    assert tg.gradgradcheck(lambda a, b: tg.conv2d(a, b, 2, 1), [x, w])
    assert tg.gradgradcheck(lambda a, b: tg.conv_transpose2d(a, b, 2, 1, 1), [x, wt])


@pytest.mark.parametrize("transposed", [False, True])
def test_bias_is_added_per_channel_and_its_gradients_check(device, transposed):
    """conv2d / conv_transpose2d with bias=b: y = conv(x, w) + b[c] on channel c; gradients of
    first and second order by finite differences (the penalty of WGAN-GP reaches the bias)."""
    rng = np.random.default_rng(5)
    x = tensor(rng.standard_normal((2, 3, 5, 4)), device, requires_grad=True)
    w_shape = (3, 4, 3, 3) if transposed else (4, 3, 3, 3)
    w = tensor(rng.standard_normal(w_shape), device, requires_grad=True)
    b = tensor(rng.standard_normal(4), device, requires_grad=True)
    conv = tg.conv_transpose2d if transposed else tg.conv2d
    y = conv(x, w, 2, 1, bias=b)
    expected = to_np(conv(x, w, 2, 1)) + to_np(b).reshape(1, 4, 1, 1)
    np.testing.assert_allclose(to_np(y), expected, rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(lambda x, w, b: conv(x, w, 2, 1, bias=b), [x, w, b])
    assert tg.gradgradcheck(lambda x, w, b: conv(x, w, 2, 1, bias=b), [x, w, b])


def test_bias_of_the_wrong_shape_or_dtype_is_refused():
    x = tg.Tensor(np.zeros((1, 3, 5, 5), dtype=np.float32))
    w = tg.Tensor(np.zeros((4, 3, 3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"conv2d: bias: expected shape \(4,\) \(one per output channel\), got \(3,\)"):
        tg.conv2d(x, w, bias=tg.Tensor(np.zeros(3, dtype=np.float32)))
    with pytest.raises(TypeError, match="conv_transpose2d: bias and weight must have one dtype"):
        tg.conv_transpose2d(x, tg.Tensor(np.zeros((3, 2, 3, 3), dtype=np.float32)), bias=tg.Tensor(np.zeros(2)))
