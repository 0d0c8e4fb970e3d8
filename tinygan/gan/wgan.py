"""The Wasserstein GAN (Arjovsky, Chintala & Bottou, 2017).

The critic f estimates the earth-mover distance through the Kantorovich-Rubinstein duality,

    W(p_data, p_g) = sup_{||f||_L <= 1}  E_x f(x) - E_z f(G(z)),

so it is trained to maximise E f(x) - E f(G(z)) (it scores, it does not classify: a linear
output, no sigmoid, no log) and the generator to minimise -E f(G(z)). The Lipschitz constraint
is enforced crudely: after every critic update each weight is clipped to [-c, c], c = 0.01.
Since the estimate is only meaningful for a well-trained critic, the critic takes n_critic = 5
steps per generator step, and momentum-free RMSprop (lr 5e-5) replaces Adam, which the authors
found unstable here. The estimate is logged as ``wasserstein``: unlike a GAN's losses it falls
as the samples improve.

Networks, ``networks``: ``dcgan`` (the default) is DCGAN's transposed-convolution generator and
its convolutional discriminator, whose last layer is already linear:
Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(64, 128, 4, 2, 1) -> BN -> LeakyReLU -> Dense 1. The critic keeps its batch-norm, as in the paper's DCGAN
experiments (its released code clips the batch-norm scale and shift with the other weights,
and so does this recipe). Left out: the paper's code also takes 100 critic steps per generator
step for the first 25 generator steps and every 500th one.
``mlp`` is the seed chapter's WGAN, which keeps its vanilla GAN's networks and changes only the
losses, the clipping, the critic steps and the optimizer: the MLP generator (Dense 256-512-1024
with LeakyReLU and batch-norm, tanh) and the MLP critic Dense 512 -> LeakyReLU -> Dense 256 ->
LeakyReLU -> Dense 1, linear (the paper also trained MLP critics, "with similar results").

RMSprop has no momentum, so the ``beta1``/``beta2`` every recipe's Config has are not used here
(``WGANConfig.unused``): they are not flags, and setting them is an error rather than silently ignored.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tinygan import backend
from tinygan.gan import losses
from tinygan.gan.dcgan import conv_discriminator, transposed_generator
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.gan.vanilla import mlp_discriminator, mlp_generator
from tinygan.nn.init import dcgan_init_
from tinygan.ops import mean
from tinygan.optim import RMSprop


@dataclasses.dataclass
class WGANConfig(RecipeConfig):
    lr: float = 5e-5            # RMSprop, both networks
    clip_value: float = 0.01    # critic weights are clipped to [-clip_value, clip_value]
    n_critic: int = 5           # critic steps per generator step
    bn_momentum: float = 0.2
    networks: str = "dcgan"     # dcgan (convolutional) | mlp (the seed chapter's MLPs)

    unused: ClassVar[dict] = {"beta1": "WGAN trains with RMSprop, which has no momentum",
                              "beta2": "WGAN trains with RMSprop, which has no momentum"}

    def __post_init__(self):
        super().__post_init__()
        if self.networks not in ("dcgan", "mlp"):
            raise ValueError(f"networks: expected 'dcgan' or 'mlp', got {self.networks!r}")
        if not self.clip_value > 0:
            raise ValueError(f"clip_value: expected a positive number, got {self.clip_value!r}")
        if not isinstance(self.n_critic, int) or self.n_critic < 1:
            raise ValueError(f"n_critic: expected a positive integer, got {self.n_critic!r}")


class WGAN(Recipe):
    name = "wgan"
    paper = "Arjovsky, Chintala & Bottou 2017, Wasserstein GAN (arXiv:1701.07875)"
    Config = WGANConfig
    loss_formulas = {
        "D (critic f)": "E_z[f(G(z))] - E_x[f(x)], then every weight clipped to [-c, c]",
        "G": "-E_z[f(G(z))]",
        "logged": "wasserstein = E_x[f(x)] - E_z[f(G(z))]",
    }

    def build(self):
        c = self.config
        self.n_critic = c.n_critic
        if c.networks == "mlp":
            self.G = mlp_generator(c.z_dim, c.bn_momentum).to(self.device)
            self.D = mlp_discriminator().to(self.device)
        else:
            self.G = transposed_generator(c.z_dim, c.bn_momentum).to(self.device).apply(dcgan_init_)
            self.D = conv_discriminator(bn_momentum=c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.opt_g = RMSprop(self.G.parameters(), lr=c.lr)
        self.opt_d = RMSprop(self.D.parameters(), lr=c.lr)
        self.after_d_step()  # the critic starts inside the clipping box too

    def d_loss(self, real, labels):
        fake = self.draw_fakes(real.shape[0])
        real_out, fake_out = self.D(real), self.D(fake)
        loss = losses.d_loss_wasserstein(real_out, fake_out)
        return loss, {"d_loss": loss.detach(), "wasserstein": -loss.detach(),
                      "D(x)": mean(real_out).detach(), "D(G(z))": mean(fake_out).detach()}

    # The Keras schedule's two updates (the seed's wasserstein_loss with labels -1 for real, 1 for fake).
    def d_loss_real(self, real, labels):
        out = self.D(real)
        return -mean(out), {"D(x)": mean(out).detach()}

    def d_loss_fake(self, fake, labels):
        out = self.D(fake)
        return mean(out), {"D(G(z))": mean(out).detach()}

    def g_loss(self, n, labels):
        loss = losses.g_loss_wasserstein(self.D(self.generate(self.sample_latent(n))))
        return loss, {"g_loss": loss.detach()}

    def after_d_step(self):
        """Weight clipping: every critic parameter into [-c, c], in place, on its own device."""
        c = self.config.clip_value
        for p in self.D.parameters():
            xp = backend.array_module(p.data)
            xp.clip(p.data, -c, c, out=p.data)
