"""The least-squares GAN (Mao, Li, Xie, Lau, Wang & Smolley, 2017), as the seed article builds it.

The sigmoid cross-entropy of a GAN barely moves a fake that D already classifies as real, even
when it lies far from the data: its gradient vanishes there. LSGAN replaces it with squared
errors to target codes: a for fake, b for real, and c, the value G wants D to believe,

    min_D  1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2
    min_G  1/2 E (D(G(z)) - c)^2,

which penalises samples by their distance from the decision boundary and pulls them towards
it. With b - c = 1 and b - a = 2 this minimises the Pearson chi^2 divergence; the 0-1 coding
used here (a = 0, b = c = 1) is the paper's other choice and the seed's. D has a linear output.

Networks (the seed article's, a CS231n exercise):
    G: 96-d Gaussian noise -> the InfoGAN MNIST generator (``blocks.infogan_generator``):
       Dense 1024 -> BN -> ReLU -> Dense 7*7*128 -> BN -> ReLU -> ConvT(128, 64, 4, 2, 1) -> BN
       -> ReLU -> ConvT(64, 1, 4, 2, 1) -> tanh
    D: "two convolutions, a max-pool and two dense layers" with LeakyReLU(0.01):
       Conv(1, 32, 5) -> LReLU -> Conv(32, 64, 5) -> LReLU -> MaxPool 2 -> Dense 1024 -> LReLU -> Dense 1
       (28 -> 24 -> 20 -> 10: the dense layer reads 64*10*10 = 6400 features)
Adam(2e-4, beta1 = 0.5) with DCGAN's N(0, 0.02) weights, the settings of the other convolutional
recipes here; the article's notebook uses lr 1e-3 (--lr 1e-3), which in short runs here made D
win faster without changing anything else.
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.blocks import infogan_generator
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.nn.init import dcgan_init_
from tinygan.ops import mean
from tinygan.optim import Adam


@dataclasses.dataclass
class LSGANConfig(RecipeConfig):
    z_dim: int = 96
    a: float = 0.0              # D's target for fakes
    b: float = 1.0              # D's target for reals
    c: float = 1.0              # the value G wants D to give its fakes
    bn_momentum: float = 0.2


def lsgan_discriminator():
    """The seed article's D: two 5x5 convolutions, one 2x2 max-pool, two dense layers."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.LeakyReLU(0.01), nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 10 * 10, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 1))


class LSGAN(Recipe):
    name = "lsgan"
    paper = "Mao et al. 2017, Least Squares Generative Adversarial Networks (arXiv:1611.04076)"
    Config = LSGANConfig
    loss_formulas = {
        "D": "1/2 E_x[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2]",
        "G": "1/2 E_z[(D(G(z)) - c)^2]",
        "codes": "a = 0 (fake), b = 1 (real), c = 1 (what G wants D to say)",
    }

    def build(self):
        c = self.config
        self.G = infogan_generator(c.z_dim, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.D = lsgan_discriminator().to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def d_loss(self, real, labels):
        fake = self.draw_fakes(real.shape[0])
        real_out, fake_out = self.D(real), self.D(fake)
        loss = losses.d_loss_lsgan(real_out, fake_out, a=self.config.a, b=self.config.b)
        return loss, {"d_loss": loss.detach(), "D(x)": mean(real_out).detach(), "D(G(z))": mean(fake_out).detach()}

    def g_loss(self, n, labels):
        loss = losses.g_loss_lsgan(self.D(self.generate(self.sample_latent(n))), c=self.config.c)
        return loss, {"g_loss": loss.detach()}
