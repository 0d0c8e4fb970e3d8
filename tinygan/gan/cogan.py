"""Coupled GANs (Liu & Tuzel, 2016): a joint distribution of two domains from unpaired data.

Two GANs, one per domain, whose generators share their first layers and whose discriminators
share their last ones. The first layers of a generator decode high-level semantics (which digit,
its slant and thickness), the last ones render them in a domain's pixels; sharing the first
forces one z to mean the same digit in both domains. Sharing the discriminators' last layers
(high-level features) does the same on the other side and halves their parameters. Trained on
unpaired images of A and B, one z then draws a *pair*: (G_A(z), G_B(z)) show the same digit.

    h = g_shared(z);  G_A(z) = g_A(h),  G_B(z) = g_B(h)
    D_A(x) = f_shared(f_A(x)),  D_B(x) = f_shared(f_B(x))

    min_D  sum_{d in A,B}  -E log D_d(x_d) - E log(1 - D_d(G_d(z)))
    min_G  sum_{d in A,B}  -E log D_d(G_d(z))        (the non-saturating cost)

A shared layer is one Parameter object reached by both paths, so its gradient is the sum of the
two domains' gradients, as in the paper's weight-sharing constraint. The paper's MNIST networks,
scaled down for a CPU (the paper: 1024-512-256-128 transposed convolutions and a 20-50-500 LeNet):

    g_shared: z (64) -> Dense 64*7*7 -> BN -> ReLU -> ConvT(64, 32, 4, 2, 1) -> BN -> ReLU   (32, 14, 14)
    g_A, g_B: ConvT(32, 16, 4, 2, 1) -> BN -> ReLU -> Conv(16, 1, 3, 1, 1) -> tanh          (1, 28, 28)
    f_A, f_B: Conv(1, 32, 4, 2, 1) -> LReLU 0.2                                             (32, 14, 14)
    f_shared: Conv(32, 64, 4, 2, 1) -> BN -> LReLU 0.2 -> Dense 1                           one logit
Adam(2e-4, beta1 = 0.5) as in the paper; DCGAN's N(0, 0.02) weights.
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.two_domain import TwoDomainConfig, TwoDomainRecipe
from tinygan.nn.init import dcgan_init_
from tinygan.ops import stack, reshape
from tinygan.optim import Adam
from tinygan.tensor import no_grad


@dataclasses.dataclass
class CoGANConfig(TwoDomainConfig):
    z_dim: int = 64
    channels: int = 32          # width of the networks (g_shared ends with it, f_shared doubles it)
    bn_momentum: float = 0.1


class CoupledGenerator(nn.Module):
    """g_shared followed by one head per domain: ``forward(z) -> (G_A(z), G_B(z))``."""

    def __init__(self, z_dim, ch, bn_momentum):
        super().__init__()
        self.shared = nn.Sequential(
            nn.Linear(z_dim, 2 * ch * 7 * 7), nn.BatchNorm1d(2 * ch * 7 * 7, momentum=bn_momentum), nn.ReLU(),
            nn.Unflatten(1, (2 * ch, 7, 7)), nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1),
            nn.BatchNorm2d(ch, momentum=bn_momentum), nn.ReLU())
        self.head_a, self.head_b = (nn.Sequential(
            nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), nn.BatchNorm2d(ch // 2, momentum=bn_momentum), nn.ReLU(),
            nn.Conv2d(ch // 2, 1, 3, 1, 1), nn.Tanh()) for _ in range(2))

    def forward(self, z):
        h = self.shared(z)
        return self.head_a(h), self.head_b(h)


class CoupledDiscriminator(nn.Module):
    """One first layer per domain followed by f_shared: ``forward(x, domain)`` with domain "A" or "B"."""

    def __init__(self, ch, bn_momentum):
        super().__init__()
        self.first_a, self.first_b = (nn.Sequential(nn.Conv2d(1, ch, 4, 2, 1), nn.LeakyReLU(0.2)) for _ in range(2))
        self.shared = nn.Sequential(
            nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.BatchNorm2d(2 * ch, momentum=bn_momentum), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * ch * 7 * 7, 1))

    def forward(self, x, domain):
        if domain not in ("A", "B"):
            raise ValueError(f"CoupledDiscriminator: domain: expected 'A' or 'B', got {domain!r}")
        return self.shared((self.first_a if domain == "A" else self.first_b)(x))


class CoGAN(TwoDomainRecipe):
    name = "cogan"
    paper = "Liu & Tuzel 2016, Coupled Generative Adversarial Networks (arXiv:1606.07536)"
    Config = CoGANConfig
    disjoint_halves = False      # both streams shuffle the whole training set (A and T of it)
    tracked_scores = ("pair_consistency", "pair_consistency_kappa", "fid_a", "fid_b")
    loss_formulas = {
        "D": "sum_d [ -E log D_d(x_d) - E log(1 - D_d(G_d(z))) ],  d in {A, B}",
        "G": "sum_d -E log D_d(G_d(z))   (G_A, G_B share their first layers; D_A, D_B their last)",
    }

    def build(self):
        c = self.config
        self.G = CoupledGenerator(c.z_dim, c.channels, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.D = CoupledDiscriminator(c.channels, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def generate_pair(self, latent):
        return self.G(*latent)

    def generate(self, latent):
        return self.G(*latent)[0]

    def d_loss(self, real, labels):
        x_a, x_b = real
        with no_grad():
            fake_a, fake_b = self.generate_pair(self.sample_latent(x_a.shape[0]))
        loss_a = losses.d_loss_bce(self.D(x_a, "A"), self.D(fake_a, "A"))
        loss_b = losses.d_loss_bce(self.D(x_b, "B"), self.D(fake_b, "B"))
        loss = loss_a + loss_b
        return loss, {"d_loss": loss.detach(), "d_loss_a": loss_a.detach(), "d_loss_b": loss_b.detach()}

    def g_loss(self, n, labels):
        fake_a, fake_b = self.generate_pair(self.sample_latent(n))
        loss_a = losses.g_loss_nonsaturating(self.D(fake_a, "A"))
        loss_b = losses.g_loss_nonsaturating(self.D(fake_b, "B"))
        loss = loss_a + loss_b
        return loss, {"g_loss": loss.detach(), "g_loss_a": loss_a.detach(), "g_loss_b": loss_b.detach()}

    def sample_images(self, latent):
        """Pairs side by side: G_A(z_1), G_B(z_1), G_A(z_2), G_B(z_2), ..."""
        a, b = self.generate_pair(latent)
        pairs = stack([a, b], axis=1)                     # (N, 2, 1, 28, 28)
        return reshape(pairs, (2 * a.shape[0],) + tuple(a.shape[1:]))

    def grid_columns(self, latent):
        return 2 * max(1, int(round(latent[0].shape[0] ** 0.5)))

    def evaluate(self, n=10000, seed=0, data=None):
        from tinygan.metrics.translation import evaluate_pairs
        return evaluate_pairs(self, n=n, seed=seed, data=data)
