"""DiscoGAN (Kim, Cha, Kim, Lee & Kim, 2017): discovering cross-domain relations without pairs.

Two generators, G_AB: A -> B and G_BA: B -> A, and one discriminator per domain. A GAN loss alone
would let G_AB map every x_A to any plausible B image (or all to one: mode collapse); DiscoGAN
couples two translation GANs so that each must be undone by the other. With x_BA = G_BA(x_B),
x_AB = G_AB(x_A) and the reconstructions x_ABA = G_BA(x_AB), x_BAB = G_AB(x_BA):

    L_CONST_A = d(x_ABA, x_A),   L_CONST_B = d(x_BAB, x_B)      d: the mean squared error
    L_GAN_B   = -E log D_B(x_AB),   L_GAN_A = -E log D_A(x_BA)
    L_G = L_GAN_B + L_CONST_A + L_GAN_A + L_CONST_B
    L_D = L_D_A + L_D_B,   L_D_d = -E log D_d(x_d) - E log(1 - D_d(fake_d))

(the paper's equations 3-7: the reconstruction loss enters with weight 1, the distance is the
MSE). Adam(2e-4, betas (0.5, 0.999)) as in the paper; one optimizer holds both generators and
one both discriminators, since each loss is a sum over the two directions. This follows the
paper's equations; the authors' code trains otherwise: its generator loss mixes 0.1 of the GAN
loss with 0.9 of a feature-matching loss, its reconstruction weight is 0.01 at first and 0.5
later, and it steps D only every third iteration.

Networks: the paper's encoder-decoder (4x4 stride-2 convolutions with LeakyReLU and batch-norm,
then transposed convolutions) with two down-sampling steps fewer (the paper's take 64x64 images
through four, these take 28x28 images through two):

    G: Conv(1, c, 4, 2, 1) -> LReLU -> Conv(c, 2c, 4, 2, 1) -> BN -> LReLU          (2c, 7, 7)
       -> ConvT(2c, c, 4, 2, 1) -> BN -> ReLU -> ConvT(c, 1, 4, 2, 1) -> tanh        (1, 28, 28)
    D: Conv(1, c, 4, 2, 1) -> LReLU -> Conv(c, 2c, 4, 2, 1) -> BN -> LReLU -> Dense 1
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.two_domain import TranslationConfig, TranslationRecipe
from tinygan.nn.init import dcgan_init_
from tinygan.ops import mean
from tinygan.optim import Adam
from tinygan.tensor import no_grad


@dataclasses.dataclass
class DiscoGANConfig(TranslationConfig):
    channels: int = 32           # c, the width of the first layer
    bn_momentum: float = 0.1


def disco_generator(c, bn_momentum):
    return nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c, momentum=bn_momentum), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c, momentum=bn_momentum), nn.ReLU(),
        nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh())


def disco_discriminator(c, bn_momentum):
    return nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c, momentum=bn_momentum), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * c * 7 * 7, 1))


def mse(x, y):
    """E (x - y)^2 over every value."""
    return mean((x - y) ** 2)


class DiscoGAN(TranslationRecipe):
    name = "discogan"
    paper = ("Kim et al. 2017, Learning to Discover Cross-Domain Relations with Generative Adversarial "
             "Networks (arXiv:1703.05192)")
    Config = DiscoGANConfig
    loss_formulas = {
        "D": "[-E log D_A(x_A) - E log(1 - D_A(G_BA(x_B)))] + [-E log D_B(x_B) - E log(1 - D_B(G_AB(x_A)))]",
        "G": "-E log D_B(G_AB(x_A)) - E log D_A(G_BA(x_B)) + E (G_BA(G_AB(x_A)) - x_A)^2 "
             "+ E (G_AB(G_BA(x_B)) - x_B)^2",
    }

    def build(self):
        c = self.config
        self.G_AB, self.G_BA = (disco_generator(c.channels, c.bn_momentum).to(self.device).apply(dcgan_init_)
                                for _ in range(2))
        self.D_A, self.D_B = (disco_discriminator(c.channels, c.bn_momentum).to(self.device).apply(dcgan_init_)
                              for _ in range(2))
        betas = (c.beta1, c.beta2)
        self.opt_g = Adam(list(self.G_AB.parameters()) + list(self.G_BA.parameters()), lr=c.lr, betas=betas)
        self.opt_d = Adam(list(self.D_A.parameters()) + list(self.D_B.parameters()), lr=c.lr, betas=betas)

    def d_loss(self, real, labels):
        x_a, x_b = real
        with no_grad():
            x_ab, x_ba = self.translate(x_a, x_b)
        loss_a = losses.d_loss_bce(self.D_A(x_a), self.D_A(x_ba))
        loss_b = losses.d_loss_bce(self.D_B(x_b), self.D_B(x_ab))
        loss = loss_a + loss_b
        return loss, {"d_loss": loss.detach(), "d_loss_a": loss_a.detach(), "d_loss_b": loss_b.detach()}

    def g_step_loss(self, real, labels):
        """Both generators on the real batches: L_GAN_B + L_CONST_A + L_GAN_A + L_CONST_B."""
        x_a, x_b = real
        x_ab, x_ba = self.translate(x_a, x_b)
        const_a, const_b = mse(self.G_BA(x_ab), x_a), mse(self.G_AB(x_ba), x_b)
        gan_b = losses.g_loss_nonsaturating(self.D_B(x_ab))
        gan_a = losses.g_loss_nonsaturating(self.D_A(x_ba))
        loss = gan_b + const_a + gan_a + const_b
        return loss, {"g_loss": loss.detach(), "gan_a": gan_a.detach(), "gan_b": gan_b.detach(),
                      "const_a": const_a.detach(), "const_b": const_b.detach()}

