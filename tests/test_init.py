"""Initialisers: sample statistics on large tensors against the formulas in tinygan/nn/init.py.

The tolerances are 6 standard errors of the statistic for the tensor's size n (for n = 250 000:
1.2% of the std for the mean, 0.85% for the std of a normal): they do not fail by chance, and
they do not pass a formula off by a factor like sqrt(2) or a swapped fan_in / fan_out (41%).
"""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, nn
from tinygan.nn import init

from helpers import to_np

SQUARE = (500, 500)            # fan_in = fan_out = 500
CONV = (128, 64, 5, 5)         # fan_in = 64 * 25 = 1600, fan_out = 128 * 25 = 3200 (204 800 samples)


def _param(shape, device, dtype=np.float32):
    return nn.Parameter(backend.xp_for(device).zeros(shape, dtype=dtype))


def _check_normal(w, mean, std):
    w = to_np(w).astype(np.float64)
    n = w.size
    assert abs(w.mean() - mean) < 6 * std / math.sqrt(n), f"mean {w.mean()} vs {mean}"
    assert abs(w.std() - std) < 6 * std / math.sqrt(2 * n), f"std {w.std()} vs {std}"


def _check_uniform(w, low, high):
    w = to_np(w).astype(np.float64)
    n, width = w.size, high - low
    std = width / math.sqrt(12)
    assert w.min() >= low and w.max() <= high
    # n >= 65 536 draws come within 0.1% of each bound (missing one has probability < e^-32)
    assert w.min() < low + 1e-3 * width and w.max() > high - 1e-3 * width
    assert abs(w.mean() - (low + high) / 2) < 6 * std / math.sqrt(n)
    assert abs(w.std() - std) < 6 * std * math.sqrt(0.8 / (4 * n))  # se of a uniform's sample std


def test_fan_in_and_fan_out():
    assert init.calculate_fan_in_and_fan_out(_param((7, 3), "cpu")) == (3, 7)
    assert init.calculate_fan_in_and_fan_out(_param(CONV, "cpu")) == (1600, 3200)
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.calculate_fan_in_and_fan_out(_param((5,), "cpu"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform(dtype, device):
    w = _param(SQUARE, device, dtype)
    assert init.uniform_(w, -0.3, 0.7) is w
    assert w.dtype == dtype and w.device == device
    _check_uniform(w, -0.3, 0.7)
    _check_uniform(init.uniform_(_param(SQUARE, device)), 0.0, 1.0)  # default U(0, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal(dtype, device):
    w = _param(SQUARE, device, dtype)
    assert init.normal_(w, 2.0, 0.5) is w
    assert w.dtype == dtype and w.device == device
    _check_normal(w, 2.0, 0.5)
    _check_normal(init.normal_(_param(SQUARE, device)), 0.0, 1.0)


def test_constants(device):
    w = _param((3, 4), device)
    np.testing.assert_array_equal(to_np(init.constant_(w, 2.5)), 2.5)
    np.testing.assert_array_equal(to_np(init.ones_(w)), 1.0)
    np.testing.assert_array_equal(to_np(init.zeros_(w)), 0.0)
    assert w.dtype == np.float32


@pytest.mark.parametrize("shape", [SQUARE, CONV], ids=["square", "conv"])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(shape, gain, device):
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(_param(shape, "cpu"))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    _check_uniform(init.xavier_uniform_(_param(shape, device), gain), -a, a)
    _check_normal(init.xavier_normal_(_param(shape, device), gain), 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


@pytest.mark.parametrize("shape", [SQUARE, CONV], ids=["square", "conv"])
@pytest.mark.parametrize("a", [0.0, 0.2, math.sqrt(5)])
def test_kaiming(shape, a, device):
    fan_in, _ = init.calculate_fan_in_and_fan_out(_param(shape, "cpu"))
    gain = math.sqrt(2.0 / (1.0 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in)
    _check_uniform(init.kaiming_uniform_(_param(shape, device), a), -bound, bound)
    _check_normal(init.kaiming_normal_(_param(shape, device), a), 0.0, gain / math.sqrt(fan_in))


def test_kaiming_uses_fan_in_not_fan_out(device):
    """CONV has fan_out = 2 fan_in: with the wrong fan the std would be off by sqrt(2)."""
    w = init.kaiming_normal_(_param(CONV, device))
    assert abs(to_np(w).std() - math.sqrt(2.0 / 1600)) < 0.01 * math.sqrt(2.0 / 1600)


@pytest.mark.parametrize("make, fan_in", [
    (lambda d: nn.Linear(400, 300, device=d), 400),
    (lambda d: nn.Conv2d(16, 512, (3, 5), device=d), 16 * 15),
    (lambda d: nn.ConvTranspose2d(256, 16, 4, device=d), 16 * 16),  # weight (256, 16, 4, 4): fan_in = 16 * 16
], ids=["linear", "conv2d", "conv_transpose2d"])
def test_pytorch_default_bounds(make, fan_in, device):
    """Linear and convolutions start from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = weight.shape[1] * prod(kernel), weights and biases alike (PyTorch's default)."""
    layer = make(device)
    assert layer.weight.shape[1] * math.prod(layer.weight.shape[2:]) == fan_in
    bound = 1.0 / math.sqrt(fan_in)
    _check_uniform(layer.weight, -bound, bound)
    b = to_np(layer.bias).astype(np.float64)
    assert b.min() >= -bound and b.max() <= bound
    assert b.max() - b.min() > bound  # spread over the range, not a constant
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32


def test_norm_layers_start_at_identity():
    bn, ln = nn.BatchNorm2d(6), nn.LayerNorm((2, 3))
    for layer in (bn, ln):
        np.testing.assert_array_equal(layer.weight.numpy(), 1.0)
        np.testing.assert_array_equal(layer.bias.numpy(), 0.0)
    np.testing.assert_array_equal(bn.running_mean, 0.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)


def _dcgan_like(device=None):
    return nn.Sequential(
        nn.ConvTranspose2d(64, 64, 4, device=device), nn.BatchNorm2d(4000, device=device), nn.ReLU(),
        nn.Conv2d(64, 64, 4, device=device), nn.Linear(300, 300, device=device),
        nn.BatchNorm1d(10, affine=False, device=device), nn.LayerNorm(5, device=device))


def test_dcgan_init(device):
    net = _dcgan_like(device)
    assert (to_np(net[3].bias) != 0).any()  # the default bias is not zero: the test below can fail
    assert net.apply(init.dcgan_init_) is net
    for i in (0, 3, 4):
        _check_normal(net[i].weight, 0.0, 0.02)
        np.testing.assert_array_equal(to_np(net[i].bias), 0.0)
    bn = to_np(net[1].weight).astype(np.float64)  # N(1, 0.02^2), 4000 samples: se of the mean 3e-4
    assert abs(bn.mean() - 1.0) < 0.002 and abs(bn.std() - 0.02) < 0.002
    np.testing.assert_array_equal(to_np(net[1].bias), 0.0)
    # layers dcgan_init_ does not know keep their own initialisation
    np.testing.assert_array_equal(to_np(net[6].weight), 1.0)
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_manual_seed_fixes_the_weights(device):
    tg.manual_seed(42)
    a = _dcgan_like(device).apply(init.dcgan_init_).state_dict()
    tg.manual_seed(42)
    b = _dcgan_like(device).apply(init.dcgan_init_).state_dict()
    tg.manual_seed(43)
    c = _dcgan_like(device).apply(init.dcgan_init_).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["0.weight"], c["0.weight"])
    assert not np.array_equal(a["4.weight"], c["4.weight"])
    # and the default initialisation too
    tg.manual_seed(7)
    x = nn.Linear(20, 10).state_dict()
    tg.manual_seed(7)
    y = nn.Linear(20, 10).state_dict()
    np.testing.assert_array_equal(x["weight"], y["weight"])
    np.testing.assert_array_equal(x["bias"], y["bias"])
