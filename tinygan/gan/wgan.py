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

Networks: DCGAN's transposed-convolution generator and its convolutional discriminator, whose
last layer is already linear: Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(64, 128, 4, 2, 1)
-> BN -> LeakyReLU -> Dense 1. The critic keeps its batch-norm, as in the paper's DCGAN
experiments (its released code clips the batch-norm scale and shift with the other weights,
and so does this recipe). Left out: the paper's code also takes 100 critic steps per generator
step for the first 25 generator steps and every 500th one.
"""

from __future__ import annotations

import dataclasses

from tinygan import backend
from tinygan.gan import losses
from tinygan.gan.dcgan import conv_discriminator, transposed_generator
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.nn.init import dcgan_init_
from tinygan.ops import mean
from tinygan.optim import RMSprop


@dataclasses.dataclass
class WGANConfig(RecipeConfig):
    lr: float = 5e-5            # RMSprop, both networks (beta1 and beta2 are not used)
    clip_value: float = 0.01    # critic weights are clipped to [-clip_value, clip_value]
    n_critic: int = 5           # critic steps per generator step
    bn_momentum: float = 0.2

    def __post_init__(self):
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

    def g_loss(self, n, labels):
        loss = losses.g_loss_wasserstein(self.D(self.generate(self.sample_latent(n))))
        return loss, {"g_loss": loss.detach()}

    def after_d_step(self):
        """Weight clipping: every critic parameter into [-c, c], in place, on its own device."""
        c = self.config.clip_value
        for p in self.D.parameters():
            xp = backend.array_module(p.data)
            xp.clip(p.data, -c, c, out=p.data)
