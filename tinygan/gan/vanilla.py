"""The vanilla GAN (Goodfellow et al., 2014) with the seed chapter's MLPs.

Generator: z (100) -> Dense 256 -> LeakyReLU(0.2) -> BatchNorm -> Dense 512 -> LeakyReLU -> BN
           -> Dense 1024 -> LeakyReLU -> BN -> Dense 784 -> tanh -> reshape (1, 28, 28)
Discriminator: flatten -> Dense 512 -> LeakyReLU(0.2) -> Dense 256 -> LeakyReLU -> Dense 1 (a logit)
Both trained with Adam(2e-4, beta1 = 0.5); z ~ N(0, I). (Keras' BatchNormalization(momentum=0.8)
keeps 0.8 of the old running statistics: PyTorch's, and tinygan's, momentum 0.2.)

The discriminator maximises log D(x) + log(1 - D(G(z))). For the generator the seed contrasts
three costs, selected by ``g_cost``:
    minimax          minimise log(1 - D(G(z)))       (saturates while D wins)
    non-saturating   minimise -log D(G(z))           (the default, and what the seed trains)
    max-likelihood   minimise -exp(sigma^-1(D(G(z)))) / 2
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.ops import mean, sigmoid
from tinygan.optim import Adam

G_COSTS = {
    "minimax": losses.g_loss_minimax,
    "non-saturating": losses.g_loss_nonsaturating,
    "max-likelihood": losses.g_loss_max_likelihood,
}


@dataclasses.dataclass
class VanillaConfig(RecipeConfig):
    g_cost: str = "non-saturating"   # minimax | non-saturating | max-likelihood
    bn_momentum: float = 0.2         # Keras momentum 0.8

    def __post_init__(self):
        super().__post_init__()
        if self.g_cost not in G_COSTS:
            raise ValueError(f"g_cost: expected one of {sorted(G_COSTS)}, got {self.g_cost!r}")


def mlp_generator(z_dim, bn_momentum, in_features=None):
    """The seed's MLP generator: three Dense-LeakyReLU-BatchNorm blocks, then Dense-tanh to an image."""
    widths = [in_features or z_dim, 256, 512, 1024]
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2), nn.BatchNorm1d(b, momentum=bn_momentum)]
    return nn.Sequential(*layers, nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))


def mlp_discriminator():
    """The seed's MLP discriminator, ending in a logit (the sigmoid lives in the loss)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                         nn.LeakyReLU(0.2), nn.Linear(256, 1))


class VanillaGAN(Recipe):
    name = "vanilla"
    paper = "Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)"
    Config = VanillaConfig
    loss_formulas = {
        "D": "-E_x[log D(x)] - E_z[log(1 - D(G(z)))],  D = sigmoid(logit)",
        "G (--g-cost non-saturating, default)": "-E_z[log D(G(z))]",
        "G (--g-cost minimax)": "E_z[log(1 - D(G(z)))]",
        "G (--g-cost max-likelihood)": "-1/2 E_z[exp(sigmoid^-1(D(G(z))))]",
    }

    def build(self):
        c = self.config
        self.G = mlp_generator(c.z_dim, c.bn_momentum).to(self.device)
        self.D = mlp_discriminator().to(self.device)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def d_loss(self, real, labels):
        fake = self.draw_fakes(real.shape[0])
        real_logits, fake_logits = self.D(real), self.D(fake)
        loss = losses.d_loss_bce(real_logits, fake_logits)
        return loss, {"d_loss": loss.detach(), "D(x)": mean(sigmoid(real_logits)).detach(),
                      "D(G(z))": mean(sigmoid(fake_logits)).detach()}

    # The Keras schedule's two updates (the seed's train_on_batch(real, ones), then (fake, zeros)).
    def d_loss_real(self, real, labels):
        logits = self.D(real)
        return losses.bce_with_logits(logits, 1.0), {"D(x)": mean(sigmoid(logits)).detach()}

    def d_loss_fake(self, fake, labels):
        logits = self.D(fake)
        return losses.bce_with_logits(logits, 0.0), {"D(G(z))": mean(sigmoid(logits)).detach()}

    def g_loss(self, n, labels):
        loss = G_COSTS[self.config.g_cost](self.D(self.generate(self.sample_latent(n))))
        return loss, {"g_loss": loss.detach()}
