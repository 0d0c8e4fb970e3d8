"""Reflection padding (``tinygan.ops.reflection_pad2d``, ``nn.ReflectionPad2d``): the forward
against a loop over output pixels written here, first and second derivatives by central
differences in float64, on every test device, and the errors PyTorch gives for a padding that
the input is too small to reflect."""

import numpy as np
import pytest

import tinygan as tg
from tinygan import gradcheck, gradgradcheck, nn

from helpers import tensor, to_np

PADDINGS = [1, (2, 1, 0, 3), (0, 0, 1, 1), (3, 0, 2, 2)]


def _reflect(k, n):
    """The source index of padded position k (relative to the first real pixel) in a side of n."""
    if k < 0:
        return -k
    if k >= n:
        return 2 * (n - 1) - k
    return k


def naive_reflection_pad(x, padding):
    left, right, top, bottom = (padding,) * 4 if isinstance(padding, int) else padding
    h, w = x.shape[-2:]
    out = np.empty(x.shape[:-2] + (h + top + bottom, w + left + right), dtype=x.dtype)
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            out[..., i, j] = x[..., _reflect(i - top, h), _reflect(j - left, w)]
    return out


@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_a_loop(padding, dtype, device, rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    y = tg.reflection_pad2d(tensor(x, device), padding)
    assert y.dtype == dtype and y.device == device
    np.testing.assert_array_equal(to_np(y), naive_reflection_pad(x, padding))
    layer = nn.ReflectionPad2d(padding)
    np.testing.assert_array_equal(to_np(layer(tensor(x, device))), naive_reflection_pad(x, padding))


def test_the_row_by_hand():
    x = np.arange(4.0).reshape(1, 1, 1, 4)          # 0 1 2 3
    y = tg.reflection_pad2d(tg.Tensor(x), (3, 2, 0, 0)).numpy()[0, 0, 0]
    assert y.tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1]


@pytest.mark.parametrize("padding", PADDINGS, ids=str)
def test_gradcheck_and_gradgradcheck(padding, device, rng):
    x = tensor(rng.standard_normal((2, 2, 4, 5)), device, requires_grad=True)
    assert gradcheck(lambda a: tg.reflection_pad2d(a, padding), [x])
    assert gradgradcheck(lambda a: tg.reflection_pad2d(a, padding), [x])


def test_gradient_counts_every_copy(device):
    """dL/dx of sum(y) is how many times each pixel appears in the padded image."""
    x = tensor(np.zeros((1, 1, 3, 4)), device, requires_grad=True)
    tg.reflection_pad2d(x, (2, 1, 1, 2)).sum().backward()
    counts = np.zeros((3, 4))
    ones = naive_reflection_pad(np.arange(12.0).reshape(1, 1, 3, 4), (2, 1, 1, 2))
    for v in ones.ravel():
        counts.flat[int(v)] += 1
    np.testing.assert_array_equal(to_np(x.grad)[0, 0], counts)


@pytest.mark.parametrize("padding, message", [
    ((4, 0, 0, 0), "each must be smaller than the side it pads, got an input of height 3 and width 4"),
    ((0, 0, 3, 0), "each must be smaller than the side it pads"),
    ((1, 1, 1), "expected a non-negative int or 4 of them"),
    (-1, "expected a non-negative int or 4 of them"),
    ((1.0, 1, 1, 1), "expected a non-negative int or 4 of them"),
])
def test_bad_padding_gives_a_clear_error(padding, message):
    with pytest.raises(ValueError, match=message):
        tg.reflection_pad2d(tg.Tensor(np.zeros((1, 1, 3, 4))), padding)


def test_layer_errors():
    with pytest.raises(ValueError, match="ReflectionPad2d: padding: expected"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match="ReflectionPad2d: input: expected a 3-d or 4-d tensor"):
        nn.ReflectionPad2d(1)(tg.Tensor(np.zeros((4, 4))))
