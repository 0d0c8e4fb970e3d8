"""The layers StackGAN and StackGAN++ add: ResidualBlock and ConditioningAugmentation.

First and second derivatives by central differences (float64) with respect to the input and
every parameter; forward values against a naive reference written here (the block) and the
closed-form Gaussian KL (conditioning augmentation, with a fixed eps so it is deterministic).
"""

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, gradcheck, gradgradcheck, nn

from helpers import tensor, to_np


def _block(device, mode="train"):
    tg.manual_seed(0)
    block = nn.ResidualBlock(2).to(device).double()
    rng = np.random.default_rng(1)
    for bn in (block.body[1], block.body[4]):  # affine parameters and running statistics away from (1, 0)
        bn.weight.data[...] = backend.to_device(rng.uniform(0.5, 1.5, 2), device)
        bn.bias.data[...] = backend.to_device(rng.uniform(-0.5, 0.5, 2), device)
        bn.running_mean = backend.to_device(rng.normal(0, 1, 2), device)
        bn.running_var = backend.to_device(rng.uniform(0.5, 2.0, 2), device)
    return block.train(mode == "train")


def _x(device, shape=(3, 2, 4, 4), seed=2):
    return tensor(np.random.default_rng(seed).standard_normal(shape), device, requires_grad=True)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_residual_block_gradcheck(mode, device):
    block = _block(device, mode)
    assert gradcheck(lambda x, *p: block(x), [_x(device), *block.parameters()])


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_residual_block_gradgradcheck(mode, device):
    block = _block(device, mode)
    assert gradgradcheck(lambda x, *p: block(x), [_x(device), *block.parameters()])


def _naive_conv3x3(x, w):
    """Direct loops: out[n, o, i, j] = sum_{c, a, b} xpad[n, c, i + a, j + b] w[o, c, a, b]."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], h, wd))
    for i in range(h):
        for j in range(wd):
            out[:, :, i, j] = np.einsum("ncab,ocab->no", xp[:, :, i:i + 3, j:j + 3], w)
    return out


def test_residual_block_forward_matches_a_naive_reference(device):
    block = _block(device, "eval")
    x = to_np(_x(device))
    bn1, bn2 = block.body[1], block.body[4]

    def bn(h, m):
        scale = to_np(m.weight.data) / np.sqrt(to_np(m.running_var) + m.eps)
        return (h - to_np(m.running_mean)[:, None, None]) * scale[:, None, None] + to_np(m.bias.data)[:, None, None]

    h = np.maximum(bn(_naive_conv3x3(x, to_np(block.body[0].weight.data)), bn1), 0)
    expected = np.maximum(x + bn(_naive_conv3x3(h, to_np(block.body[3].weight.data)), bn2), 0)
    np.testing.assert_allclose(to_np(block(tensor(x, device))), expected, rtol=1e-10, atol=1e-12)


def _ca(device):
    tg.manual_seed(0)
    ca = nn.ConditioningAugmentation(5, 3).to(device).double()
    rng = np.random.default_rng(3)
    ca.fc.weight.data[...] = backend.to_device(rng.normal(0, 0.5, (6, 5)), device)
    return ca


def test_conditioning_augmentation_gradcheck(device):
    ca = _ca(device)
    eps = tensor(np.random.default_rng(4).standard_normal((4, 3)), device)

    def both(phi, *params):  # c_hat and kl in one output, so the check covers both
        c_hat, kl = ca(phi, eps)
        return tg.ops.concat([c_hat.reshape(-1), kl.reshape(1)])
    phi = _x(device, (4, 5))
    assert gradcheck(both, [phi, *ca.parameters()])
    assert gradgradcheck(both, [phi, *ca.parameters()])


def test_conditioning_augmentation_forward_and_kl_closed_form(device):
    ca = _ca(device)
    phi = to_np(_x(device, (4, 5)))
    eps = np.random.default_rng(4).standard_normal((4, 3))
    c_hat, kl = ca(tensor(phi, device), tensor(eps, device))
    out = phi @ to_np(ca.fc.weight.data).T + to_np(ca.fc.bias.data)
    mu, sigma2 = out[:, :3], np.exp(out[:, 3:])
    np.testing.assert_allclose(to_np(c_hat), mu + np.sqrt(sigma2) * eps, rtol=1e-12)
    # KL(N(mu, sigma^2) || N(0, 1)) per dimension: log(1 / sigma) + (sigma^2 + mu^2) / 2 - 1/2
    closed = (np.log(1 / np.sqrt(sigma2)) + (sigma2 + mu ** 2) / 2 - 0.5).sum(axis=1).mean()
    np.testing.assert_allclose(float(to_np(kl)), closed, rtol=1e-12)


def test_conditioning_augmentation_kl_is_zero_at_the_prior_and_draws_its_own_eps(device):
    ca = _ca(device)
    ca.fc.weight.data[...] = 0
    ca.fc.bias.data[...] = 0
    phi = tensor(np.ones((2000, 5)), device)
    tg.manual_seed(5)
    c_hat, kl = ca(phi)
    assert float(to_np(kl)) == 0.0
    samples = to_np(c_hat)
    assert abs(samples.mean()) < 0.05 and abs(samples.std() - 1) < 0.05  # c_hat ~ N(0, I)


def test_errors_name_the_argument(device):
    ca = _ca(device)
    with pytest.raises(ValueError, match="eps: expected a Tensor of shape"):
        ca(tensor(np.ones((2, 5)), device), tensor(np.ones((2, 4)), device))
    with pytest.raises(ValueError, match="ConditioningAugmentation: input: expected 5 features"):
        ca(tensor(np.ones((2, 4)), device))
    with pytest.raises(ValueError, match="ResidualBlock: input: expected 2 channels"):
        _block(device)(tensor(np.ones((1, 3, 4, 4)), device))
    with pytest.raises(ValueError, match="c_dim"):
        nn.ConditioningAugmentation(5, 0)
