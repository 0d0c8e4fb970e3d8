"""GAN losses, written from logits (a discriminator's raw score) so they are numerically stable.

With D(x) = sigmoid(l(x)) the probability that x is real, log D = log_sigmoid(l) = -softplus(-l)
and log(1 - D) = log_sigmoid(-l) = -softplus(l): no sigmoid is ever rounded to 0 or 1 and then
logged. Every loss averages over the batch.

Discriminator / critic losses                   Generator losses
  d_loss_bce          -E log D(x) - E log(1 - D(G(z)))    g_loss_minimax         E log(1 - D(G(z)))
  d_loss_lsgan        1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2
                                                  g_loss_nonsaturating   -E log D(G(z))
  d_loss_wasserstein  E D(G(z)) - E D(x)          g_loss_max_likelihood  -1/2 E exp(l(G(z)))
  d_loss_hinge        E relu(1 - D(x)) + E relu(1 + D(G(z)))
                                                  g_loss_lsgan           1/2 E (D(G(z)) - c)^2
  gradient_penalty    E (||grad_x D(x_hat)||_2 - 1)^2  g_loss_wasserstein     -E D(G(z))  (also hinge's)
"""

from __future__ import annotations

from tinygan import random
from tinygan.ops import exp, mean, minimum, relu, softplus, sqrt, sum
from tinygan.tensor import Tensor, grad


def _logits(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor of discriminator outputs, got {type(x).__name__}")
    if x.ndim > 1 and x.size != x.shape[0]:
        raise ValueError(f"{name}: expected one score per sample, shape (N,) or (N, 1), got {x.shape}")
    return x


def bce_with_logits(logits, target):
    """Binary cross-entropy of sigmoid(logits) against a constant target in [0, 1]:
    mean( softplus(l) - target * l ), the stable form of -t log s(l) - (1 - t) log(1 - s(l))."""
    logits = _logits(logits, "bce_with_logits: logits")
    return mean(softplus(logits) - logits * target)


def d_loss_bce(real_logits, fake_logits):
    """The discriminator's cross-entropy: -E log D(x) - E log(1 - D(G(z)))
    = E softplus(-l(x)) + E softplus(l(G(z)))."""
    real_logits = _logits(real_logits, "d_loss_bce: real_logits")
    fake_logits = _logits(fake_logits, "d_loss_bce: fake_logits")
    return mean(softplus(-real_logits)) + mean(softplus(fake_logits))


def g_loss_minimax(fake_logits):
    """The original (saturating) generator cost: minimise E log(1 - D(G(z))) = -E softplus(l).

    Its gradient vanishes when D confidently rejects the fakes (l << 0), early in training."""
    return -mean(softplus(_logits(fake_logits, "g_loss_minimax: fake_logits")))


def g_loss_nonsaturating(fake_logits):
    """The non-saturating cost: minimise -E log D(G(z)) = E softplus(-l); strong gradients when D wins."""
    return mean(softplus(-_logits(fake_logits, "g_loss_nonsaturating: fake_logits")))


def g_loss_max_likelihood(fake_logits, max_logit=50.0):
    """The maximum-likelihood cost (Goodfellow 2016): minimise -1/2 E exp(sigma^-1(D(G(z)))) = -1/2 E exp(l).

    With an optimal D, its expected gradient is that of KL(p_data || p_g). exp(l) overflows
    float32 beyond l ~ 88, so logits are capped at ``max_logit`` (the gradient is 0 beyond it)."""
    fake_logits = _logits(fake_logits, "g_loss_max_likelihood: fake_logits")
    return mean(exp(minimum(fake_logits, max_logit))) * -0.5


def d_loss_lsgan(real_out, fake_out, a=0.0, b=1.0):
    """LSGAN's discriminator: 1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2 (D has a linear output)."""
    real_out = _logits(real_out, "d_loss_lsgan: real_out")
    fake_out = _logits(fake_out, "d_loss_lsgan: fake_out")
    return mean((real_out - b) ** 2) * 0.5 + mean((fake_out - a) ** 2) * 0.5


def g_loss_lsgan(fake_out, c=1.0):
    """LSGAN's generator: 1/2 E (D(G(z)) - c)^2."""
    return mean((_logits(fake_out, "g_loss_lsgan: fake_out") - c) ** 2) * 0.5


def d_loss_wasserstein(real_out, fake_out):
    """The critic's loss: minimise E D(G(z)) - E D(x), i.e. maximise the Wasserstein estimate
    E D(x) - E D(G(z)) over (approximately) 1-Lipschitz critics."""
    return mean(_logits(fake_out, "d_loss_wasserstein: fake_out")) - mean(_logits(real_out, "d_loss_wasserstein: real_out"))


def g_loss_wasserstein(fake_out):
    """The generator's Wasserstein loss: -E D(G(z)) (also the generator loss of the hinge GAN)."""
    return -mean(_logits(fake_out, "g_loss_wasserstein: fake_out"))


def d_loss_hinge(real_out, fake_out):
    """The hinge loss: E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    real_out = _logits(real_out, "d_loss_hinge: real_out")
    fake_out = _logits(fake_out, "d_loss_hinge: fake_out")
    return mean(relu(1.0 - real_out)) + mean(relu(1.0 + fake_out))


def interpolate(real, fake):
    """x_hat = e x + (1 - e) G(z), one e ~ U[0, 1] per sample: WGAN-GP's points between the
    distributions. A new leaf that requires grad (the gradient of the critic is taken there)."""
    if real.shape != fake.shape:
        raise ValueError(f"interpolate: real and fake must have one shape, got {real.shape} and {fake.shape}")
    e = random.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    return Tensor(e * real.data + (1.0 - e) * fake.data, requires_grad=True, name="x_hat")


def gradient_penalty(critic, real, fake):
    """WGAN-GP's penalty E (||grad_x D(x_hat)||_2 - 1)^2 at random interpolates x_hat.

    The gradient is taken with create_graph=True, so the penalty is a differentiable function
    of the critic's weights: minimising it backpropagates through the critic's backward pass
    (double backpropagation). The norm is per sample over the flattened gradient; a tiny
    constant under the square root keeps its derivative finite at 0.
    ``critic`` maps a batch of images to one score per sample (wrap extra inputs in a lambda).
    """
    x_hat = interpolate(real.detach(), fake.detach())
    scores = critic(x_hat)
    g = grad(sum(scores), x_hat, create_graph=True)
    axes = tuple(range(1, g.ndim))
    norms = sqrt(sum(g * g, axis=axes) + 1e-12)
    return mean((norms - 1.0) ** 2)


__all__ = [
    "bce_with_logits", "d_loss_bce", "d_loss_hinge", "d_loss_lsgan", "d_loss_wasserstein", "g_loss_lsgan",
    "g_loss_max_likelihood", "g_loss_minimax", "g_loss_nonsaturating", "g_loss_wasserstein", "gradient_penalty",
    "interpolate",
]
