"""Conditioning augmentation (Zhang et al. 2017, StackGAN, section 3.1).

A text (here: a label) embedding phi_t is a fixed vector, so a generator conditioned on it sees
one point per description: a sparse, discontinuous condition. Conditioning augmentation draws
the condition from a Gaussian around it instead,

    (mu, log sigma^2) = Linear(phi_t),      c_hat = mu + sigma * eps,   eps ~ N(0, I)

(the reparameterisation trick: c_hat is differentiable in mu and sigma), and keeps that Gaussian
close to the standard normal with the KL term the generator adds to its loss,

    D_KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2),

averaged over the batch. ``forward(phi, eps=None)`` returns (c_hat, kl); eps is drawn from
tinygan's generator when not given (pass it to make the sample a fixed function of the input).
The authors' code puts a ReLU (StackGAN) or GLU (StackGAN++) after the linear layer; the paper's
equations have none, and neither has this layer.
"""

from __future__ import annotations

from tinygan import random
from tinygan.nn._checks import check_input
from tinygan.nn._param import positive_int
from tinygan.nn.linear import Linear
from tinygan.nn.module import Module
from tinygan.ops import exp, mean, sum
from tinygan.tensor import Tensor


class ConditioningAugmentation(Module):
    """phi (N, in_features) -> (c_hat (N, c_dim), kl (a scalar)): c_hat = mu + exp(logvar / 2) * eps."""

    def __init__(self, in_features, c_dim):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "ConditioningAugmentation")
        self.c_dim = positive_int(c_dim, "c_dim", "ConditioningAugmentation")
        self.fc = Linear(in_features, 2 * c_dim)

    def forward(self, phi, eps=None):
        check_input(self, phi, ndim=2, axis=-1, size=self.in_features, like=self.fc.weight)
        n, k = phi.shape[0], self.c_dim
        if eps is None:
            eps = Tensor(random.randn(n, k, device=phi.device, dtype=phi.dtype))
        elif not isinstance(eps, Tensor) or eps.shape != (n, k):
            got = eps.shape if isinstance(eps, Tensor) else type(eps).__name__
            raise ValueError(f"ConditioningAugmentation: eps: expected a Tensor of shape {(n, k)}, got {got}")
        out = self.fc(phi)
        mu, logvar = out[:, :k], out[:, k:]
        c_hat = mu + exp(logvar * 0.5) * eps
        kl = mean(sum(mu * mu + exp(logvar) - 1.0 - logvar, axis=1)) * 0.5
        return c_hat, kl

    def extra_repr(self):
        return f"in_features={self.in_features}, c_dim={self.c_dim}"
