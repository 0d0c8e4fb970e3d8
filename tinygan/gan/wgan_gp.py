"""WGAN with a gradient penalty (Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, 2017).

Weight clipping keeps WGAN's critic Lipschitz only by crippling it (it drifts towards very
simple functions, or its gradients explode or vanish). The optimal critic has gradient norm 1
almost everywhere between the two distributions, so the paper penalises the norm's distance
from 1 at random points on the lines joining real and generated samples:

    L_D = E f(G(z)) - E f(x) + lambda E (||grad_x_hat f(x_hat)||_2 - 1)^2,
    x_hat = e x + (1 - e) G(z),  e ~ U[0, 1] per sample,  lambda = 10.

The penalty is a function of a gradient, so minimising it backpropagates through the critic's
backward pass (``losses.gradient_penalty``: ``grad(..., create_graph=True)``, then backward).
The generator's loss stays -E f(G(z)). n_critic = 5 and Adam(1e-4, betas (0.5, 0.9)), the
authors' MNIST code: with the penalty, momentum is safe again (Algorithm 1 lists beta1 = 0:
pass --beta1 0).

Networks: DCGAN's transposed-convolution generator, and DCGAN's convolutional critic with its
batch-norm replaced by layer-norm over (C, H, W): batch-norm makes each score depend on the
whole batch, which breaks the per-sample penalty (the paper recommends no normalisation or
layer-norm in the critic):
    Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(64, 128, 4, 2, 1) -> LayerNorm((128, 7, 7))
    -> LeakyReLU -> Dense 1
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.blocks import swap_layers
from tinygan.gan.dcgan import conv_discriminator, transposed_generator
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.nn.init import dcgan_init_
from tinygan.ops import mean
from tinygan.optim import Adam


@dataclasses.dataclass
class WGANGPConfig(RecipeConfig):
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    gp_weight: float = 10.0     # lambda
    n_critic: int = 5           # critic steps per generator step
    bn_momentum: float = 0.2    # the generator's batch-norm

    def __post_init__(self):
        super().__post_init__()
        if not self.gp_weight >= 0:
            raise ValueError(f"gp_weight: expected a non-negative number, got {self.gp_weight!r}")
        if not isinstance(self.n_critic, int) or self.n_critic < 1:
            raise ValueError(f"n_critic: expected a positive integer, got {self.n_critic!r}")


def layer_norm_critic():
    """DCGAN's discriminator with layer-norm in place of its batch-norm (the 128 x 7 x 7 maps)."""
    return swap_layers(conv_discriminator(), nn.BatchNorm2d, lambda bn: nn.LayerNorm((bn.num_features, 7, 7)))


class WGANGP(Recipe):
    name = "wgan_gp"
    paper = "Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)"
    Config = WGANGPConfig
    loss_formulas = {
        "D (critic f)": "E_z[f(G(z))] - E_x[f(x)] + lambda E_x_hat[(||grad_x_hat f(x_hat)||_2 - 1)^2]",
        "x_hat": "e x + (1 - e) G(z),  e ~ U[0, 1] per sample;  lambda = gp_weight = 10",
        "G": "-E_z[f(G(z))]",
    }

    def build(self):
        c = self.config
        self.n_critic = c.n_critic
        self.G = transposed_generator(c.z_dim, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.D = layer_norm_critic().to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def d_loss(self, real, labels):
        fake = self.draw_fakes(real.shape[0])
        real_out, fake_out = self.D(real), self.D(fake)
        w_loss = losses.d_loss_wasserstein(real_out, fake_out)
        gp = losses.gradient_penalty(self.D, real, fake)
        loss = w_loss + gp * self.config.gp_weight
        return loss, {"d_loss": loss.detach(), "wasserstein": -w_loss.detach(), "gp": gp.detach(),
                      "D(x)": mean(real_out).detach(), "D(G(z))": mean(fake_out).detach()}

    def g_loss(self, n, labels):
        loss = losses.g_loss_wasserstein(self.D(self.generate(self.sample_latent(n))))
        return loss, {"g_loss": loss.detach()}
