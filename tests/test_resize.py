"""Resizing (tinygan.ops.resize) against naive per-pixel loops written from the definitions, its
first and second derivatives, and the 64x64 MNIST loader built on it."""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import gradcheck, gradgradcheck
from tinygan.data import DataLoader
from tinygan.data.resized import ResizedLoader

from helpers import tensor, to_np


def naive_bilinear(img, out_h, out_w):
    """Each output pixel samples the input at its centre mapped back, (i + 1/2) H/H' - 1/2, clamped
    to the image, and mixes the four neighbours by the fractional parts."""
    h, w = img.shape
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            sy = min(max((i + 0.5) * h / out_h - 0.5, 0), h - 1)
            sx = min(max((j + 0.5) * w / out_w - 0.5, 0), w - 1)
            y0, x0 = int(sy), int(sx)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            fy, fx = sy - y0, sx - x0
            out[i, j] = ((1 - fy) * (1 - fx) * img[y0, x0] + (1 - fy) * fx * img[y0, x1]
                         + fy * (1 - fx) * img[y1, x0] + fy * fx * img[y1, x1])
    return out


def naive_area(img, out_h, out_w):
    """Each output pixel is the mean of the input over its rectangle [i H/H', (i+1) H/H') x ...,
    each input pixel weighted by the area it shares with that rectangle."""
    h, w = img.shape
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            top, bottom = i * h / out_h, (i + 1) * h / out_h
            left, right = j * w / out_w, (j + 1) * w / out_w
            total = 0.0
            for y in range(int(top), min(math.ceil(bottom), h)):  # the rows and columns it touches
                for x in range(int(left), min(math.ceil(right), w)):
                    overlap = max(0.0, min(bottom, y + 1) - max(top, y)) * max(0.0, min(right, x + 1) - max(left, x))
                    total += overlap * img[y, x]
            out[i, j] = total / ((bottom - top) * (right - left))
    return out


NAIVE = {"bilinear": naive_bilinear, "area": naive_area}
SIZES = [((5, 7), (11, 4)), ((28, 28), (64, 64)), ((64, 64), (28, 28)), ((6, 6), (3, 3))]


@pytest.mark.parametrize("mode", ["bilinear", "area"])
@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: f"{s[0][0]}x{s[0][1]}to{s[1][0]}x{s[1][1]}")
def test_resize_matches_naive_loop(mode, sizes, device, rng):
    (h, w), (oh, ow) = sizes
    x = rng.standard_normal((2, 2, h, w))
    out = tg.resize(tensor(x, device), (oh, ow), mode)
    assert out.shape == (2, 2, oh, ow)
    for n in range(2):
        for c in range(2):
            np.testing.assert_allclose(to_np(out)[n, c], NAIVE[mode](x[n, c], oh, ow), rtol=1e-10, atol=1e-12)


def test_resize_known_cases(device, rng):
    x = rng.standard_normal((1, 2, 6, 4)).astype(np.float32)
    t = tensor(x, device)
    for mode in ("bilinear", "area"):
        np.testing.assert_allclose(to_np(tg.resize(t, (6, 4), mode)), x, rtol=1e-6)          # same size: identity
        assert tg.resize(t, 3, mode).dtype == np.float32
    area = x.reshape(1, 2, 3, 2, 2, 2).mean(axis=(3, 5))                                    # integer factor: pooling
    np.testing.assert_allclose(to_np(tg.resize(t, (3, 2), "area")), area, rtol=1e-5)
    const = tensor(np.full((1, 1, 5, 5), 0.7), device)
    for mode in ("bilinear", "area"):                                                       # rows sum to 1
        np.testing.assert_allclose(to_np(tg.resize(const, (13, 3), mode)), 0.7, rtol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "area", "bilinear_inverse"])
def test_resize_gradients(mode, device, rng):
    x = tensor(rng.standard_normal((1, 2, 4, 3)), device, requires_grad=True)
    size = (3, 2) if mode == "bilinear_inverse" else (7, 2)  # the inverse only goes down
    assert gradcheck(lambda a: tg.resize(a, size, mode), [x])
    assert gradgradcheck(lambda a: tg.resize(a, size, mode) ** 2, [x])


def test_bilinear_inverse_is_the_least_squares_inverse_of_the_enlargement(device, rng):
    """bilinear_inverse undoes bilinear enlargement exactly, and for any image y returns the x whose
    enlargement is nearest: the least-squares solution over the whole image, solved here directly
    with the Kronecker product of the two 1-d enlargements (vec(B_h x B_w^T) = (B_h kron B_w) vec x)."""
    small, big = (5, 4), (9, 7)
    x = rng.standard_normal((2, 1, *small))
    enlarged = tg.resize(tensor(x, device), big, "bilinear")
    np.testing.assert_allclose(to_np(tg.resize(enlarged, small, "bilinear_inverse")), x, rtol=1e-9, atol=1e-12)
    b_h = np.array([naive_bilinear(np.eye(small[0])[:, [j]], big[0], 1)[:, 0] for j in range(small[0])]).T
    b_w = np.array([naive_bilinear(np.eye(small[1])[[j]], 1, big[1])[0] for j in range(small[1])]).T
    y = rng.standard_normal((1, 1, *big))
    solution = np.linalg.lstsq(np.kron(b_h, b_w), y.reshape(-1), rcond=None)[0].reshape(small)
    np.testing.assert_allclose(to_np(tg.resize(tensor(y, device), small, "bilinear_inverse"))[0, 0], solution,
                               rtol=1e-9, atol=1e-12)
    const = tensor(np.full((1, 1, 64, 64), -0.3), device)                                  # rows sum to 1
    np.testing.assert_allclose(to_np(tg.resize(const, 28, "bilinear_inverse")), -0.3, rtol=1e-9)
    with pytest.raises(ValueError, match="out size <= in size"):
        tg.resize(tensor(x, device), 8, "bilinear_inverse")


def test_resize_bad_arguments():
    x = tg.Tensor(np.zeros((1, 1, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="mode"):
        tg.resize(x, 8, "cubic")
    with pytest.raises(ValueError, match="4-d"):
        tg.resize(tg.Tensor(np.zeros((4, 4), dtype=np.float32)), 8)
    with pytest.raises(ValueError, match="positive integers"):
        tg.resize(x, 0)


def test_resized_loader_keeps_order_and_state(device):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    labels = np.arange(10)
    plain = DataLoader(images, labels, batch_size=4, device=device, seed=3)
    big = ResizedLoader(DataLoader(images, labels, batch_size=4, device=device, seed=3), 64)
    assert len(big) == len(plain) == 2
    for (x, y), (xb, yb) in zip(plain, big):
        assert xb.shape == (4, 1, 64, 64) and xb.dtype == np.float32
        np.testing.assert_array_equal(to_np(y), to_np(yb))
        np.testing.assert_allclose(to_np(xb), to_np(tg.resize(x, 64)), rtol=1e-6)
    assert big.state_dict() == big.loader.state_dict() and big.epoch == big.loader.epoch
    with pytest.raises(ValueError, match="size"):
        ResizedLoader(plain, 0)


def test_resized_loader_leaves_grad_mode_alone():
    """The consumer of a batch (a training step) runs with gradients enabled, as with any loader."""
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    for _ in ResizedLoader(DataLoader(images, batch_size=2, seed=0), 32):
        assert tg.is_grad_enabled()
