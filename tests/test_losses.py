"""GAN losses against values computed by hand, their gradients by finite differences, and the
gradient penalty's double backpropagation."""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.gan import losses

from helpers import tensor, to_np

REAL = np.array([2.0, -1.0, 0.5])   # discriminator logits / critic scores for a real batch
FAKE = np.array([-3.0, 0.25, 1.0])


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def t(values, device="cpu", requires_grad=False):
    return tensor(np.asarray(values, dtype=np.float64), device, requires_grad=requires_grad)


def test_d_loss_bce_by_hand(device):
    expected = -np.mean(np.log(_sig(REAL))) - np.mean(np.log(1 - _sig(FAKE)))
    assert losses.d_loss_bce(t(REAL, device), t(FAKE, device)).item() == pytest.approx(expected, rel=1e-12)


def test_generator_costs_by_hand(device):
    d = _sig(FAKE)
    assert losses.g_loss_minimax(t(FAKE, device)).item() == pytest.approx(np.mean(np.log(1 - d)), rel=1e-12)
    assert losses.g_loss_nonsaturating(t(FAKE, device)).item() == pytest.approx(-np.mean(np.log(d)), rel=1e-12)
    # sigma^-1(D) is the logit itself: -1/2 E exp(l)
    assert losses.g_loss_max_likelihood(t(FAKE, device)).item() == pytest.approx(-0.5 * np.mean(np.exp(FAKE)), rel=1e-12)


def test_bce_with_logits_by_hand(device):
    target = np.array([1.0, 0.0, 0.3])
    s = _sig(REAL)
    expected = -np.mean(target * np.log(s) + (1 - target) * np.log(1 - s))
    assert losses.bce_with_logits(t(REAL, device), t(target, device)).item() == pytest.approx(expected, rel=1e-12)


def test_lsgan_losses_by_hand(device):
    a, b, c = -1.0, 1.0, 0.0
    d = losses.d_loss_lsgan(t(REAL, device), t(FAKE, device), a=a, b=b).item()
    assert d == pytest.approx(0.5 * np.mean((REAL - b) ** 2) + 0.5 * np.mean((FAKE - a) ** 2), rel=1e-12)
    assert losses.g_loss_lsgan(t(FAKE, device), c=c).item() == pytest.approx(0.5 * np.mean((FAKE - c) ** 2), rel=1e-12)


def test_wasserstein_and_hinge_by_hand(device):
    assert losses.d_loss_wasserstein(t(REAL, device), t(FAKE, device)).item() == pytest.approx(FAKE.mean() - REAL.mean())
    assert losses.g_loss_wasserstein(t(FAKE, device)).item() == pytest.approx(-FAKE.mean())
    hinge = np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE))
    assert losses.d_loss_hinge(t(REAL, device), t(FAKE, device)).item() == pytest.approx(hinge)


def test_minimax_saturates_where_non_saturating_does_not():
    """The seed's point: when D confidently rejects a fake (logit -10), the minimax cost's
    gradient almost vanishes while the non-saturating cost's does not."""
    grads = {}
    for name, fn in (("minimax", losses.g_loss_minimax), ("non-saturating", losses.g_loss_nonsaturating)):
        x = t([-10.0], requires_grad=True)
        fn(x).backward()
        grads[name] = abs(x.grad.item())
    assert grads["minimax"] < 1e-4 and grads["non-saturating"] > 0.99


@pytest.mark.parametrize("fn", [
    lambda r, f: losses.d_loss_bce(r, f), lambda r, f: losses.g_loss_minimax(f),
    lambda r, f: losses.g_loss_nonsaturating(f), lambda r, f: losses.g_loss_max_likelihood(f),
    lambda r, f: losses.d_loss_lsgan(r, f), lambda r, f: losses.g_loss_lsgan(f),
    lambda r, f: losses.d_loss_wasserstein(r, f), lambda r, f: losses.d_loss_hinge(r, f),
], ids=["d_bce", "g_minimax", "g_nonsat", "g_ml", "d_ls", "g_ls", "d_w", "d_hinge"])
def test_loss_gradients(fn, device):
    assert tg.gradcheck(fn, [t(REAL + 0.01, device, True), t(FAKE + 0.02, device, True)])


def test_losses_are_stable_for_extreme_logits():
    big = t([1e4, -1e4])
    for value in (losses.d_loss_bce(big, big), losses.g_loss_minimax(big), losses.g_loss_nonsaturating(big),
                  losses.g_loss_max_likelihood(big)):
        assert math.isfinite(value.item())


def test_losses_reject_a_score_map():
    with pytest.raises(ValueError, match="one score per sample"):
        losses.d_loss_bce(t(np.zeros((4, 3))), t(np.zeros((4, 3))))


def test_interpolates_lie_between_real_and_fake(device):
    real = t(np.ones((16, 1, 2, 2)), device)
    fake = t(np.zeros((16, 1, 2, 2)), device)
    x_hat = losses.interpolate(real, fake)
    v = to_np(x_hat)
    assert x_hat.requires_grad and x_hat.is_leaf
    assert (v >= 0).all() and (v <= 1).all()
    assert np.allclose(v, v[:, :, :1, :1])  # one weight per sample, shared by its pixels
    assert len(np.unique(v[:, 0, 0, 0])) == 16


def test_gradient_penalty_of_a_linear_critic_is_exact(device):
    """D(x) = <w, x>: the gradient is w at every point, so the penalty is (|w| - 1)^2."""
    w = t(np.array([[0.6], [0.8], [1.2], [-0.4]]), device, requires_grad=True)
    critic = lambda x: x.reshape(x.shape[0], -1) @ w  # noqa: E731
    real, fake = t(np.ones((5, 1, 2, 2)), device), t(np.zeros((5, 1, 2, 2)), device)
    gp = losses.gradient_penalty(critic, real, fake)
    norm = np.linalg.norm(to_np(w))
    assert gp.item() == pytest.approx((norm - 1) ** 2, rel=1e-9)
    gp.backward()  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    np.testing.assert_allclose(to_np(w.grad), 2 * (norm - 1) * to_np(w) / norm, rtol=1e-9)


def test_gradient_penalty_gradcheck_through_a_conv_critic(device):
    """The penalty's gradient w.r.t. the critic's weights needs the backward of every backward
    (conv, LeakyReLU, LayerNorm, linear): checked against finite differences."""
    critic = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.LeakyReLU(0.2), nn.LayerNorm((2, 3, 3)), nn.Flatten(),
                           nn.Linear(18, 1)).double().to(device)
    rng = np.random.default_rng(0)
    real = t(rng.standard_normal((3, 1, 5, 5)), device)
    fake = t(rng.standard_normal((3, 1, 5, 5)), device)

    def penalty(*params):
        tg.manual_seed(5)  # the same interpolation weights at every evaluation
        return losses.gradient_penalty(critic, real, fake)

    assert tg.gradcheck(penalty, list(critic.parameters()), atol=1e-6, rtol=1e-4)
