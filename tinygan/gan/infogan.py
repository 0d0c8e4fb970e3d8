"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, 2016): disentangled codes, no labels.

The generator's input is split into incompressible noise z and a structured code c; the game is
regularised so that c stays readable in G(z, c), i.e. so that the mutual information I(c; G(z, c))
is high. I is bounded below with an auxiliary distribution Q(c | x) (a network):

    I(c; G(z, c)) >= E_{c, x = G(z, c)} log Q(c | x) + H(c) =: L_I(G, Q)
    min_{G, Q} max_D  V_GAN(D, G) - lambda L_I(G, Q),   lambda = 1.

For MNIST c holds one 10-way categorical code (Q: a softmax; -log Q is a cross-entropy) and two
continuous codes U[-1, 1] (Q: a Gaussian of fixed unit variance; -log Q is 1/2 (c - mu)^2 up to a
constant). Without labels, the categorical code tends to pick up the digit class and the
continuous ones rotation and width.

Networks (the paper's Table 1). G reads (z, one-hot c_cat, c_cont), 62 + 10 + 2 = 74 numbers:
    Dense 1024 -> BN -> ReLU -> Dense 7*7*128 -> BN -> ReLU -> ConvT(128, 64, 4, 2, 1) -> BN
    -> ReLU -> ConvT(64, 1, 4, 2, 1) -> tanh   (``blocks.infogan_generator``)
D and Q share a body, DCGAN's convolutional discriminator read out to 1024 features:
    Conv(1, 64, 4, 2, 1) -> LReLU(0.2) -> Conv(64, 128, 4, 2, 1) -> BN -> LReLU -> Dense 1024 -> LReLU
    D head: Dense 1 (a logit)      Q head: Dense 128 -> BN -> LReLU -> Dense 10 + 2
The paper also batch-normalises the 1024 features. Real and fake batches pass D separately
(as in every recipe here), and a batch-norm right before D's linear head then gives both
batches the same mean features, hence the same mean logit: D could tell them apart only
through the LeakyReLU, and it barely did (after 50 steps D(x) 0.52 vs D(G(z)) 0.47; without
that batch-norm 0.68 vs 0.32, G then drawing strokes rather than noise). So it is left out.
Q is almost free: one small head on D's features.

Schedule, as in the authors' code: lambda L_I is added to both losses. D, its body and the Q
head are one network ("D", with D's optimizer): its step minimises the GAN loss plus lambda L_I
on fakes drawn without G's graph, which trains Q. The generator step freezes that network and
minimises the non-saturating cost plus lambda L_I, which pulls G towards readable codes.
Adam with beta1 = 0.5: lr 1e-3 for G, 2e-4 for D and Q (``d_lr``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from tinygan import backend, nn, random
from tinygan.gan import losses
from tinygan.gan.blocks import infogan_generator, one_hot
from tinygan.gan.dcgan import conv_discriminator
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.nn.init import dcgan_init_
from tinygan.ops import concat, log_softmax, mean, sigmoid, sum
from tinygan.optim import Adam
from tinygan.tensor import Tensor, no_grad


@dataclasses.dataclass
class InfoGANConfig(RecipeConfig):
    z_dim: int = 62             # incompressible noise
    n_cat: int = 10             # values of the categorical code
    n_cont: int = 2             # continuous codes, U[-1, 1]
    lr: float = 1e-3            # G
    d_lr: float = 2e-4          # D and Q
    info_weight: float = 1.0    # lambda
    cont_weight: float = 1.0    # weight of the continuous codes' term inside L_I
    bn_momentum: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.n_cat, int) or self.n_cat < 2:
            raise ValueError(f"n_cat: expected an integer of at least 2, got {self.n_cat!r}")
        if not isinstance(self.n_cont, int) or self.n_cont < 1:
            raise ValueError(f"n_cont: expected a positive integer, got {self.n_cont!r}")
        if not (self.info_weight >= 0 and self.cont_weight >= 0):
            raise ValueError(f"info_weight, cont_weight: expected non-negative numbers, got "
                             f"{self.info_weight!r}, {self.cont_weight!r}")


class DiscriminatorQ(nn.Module):
    """The shared body with two heads: ``forward(x)`` -> (D's logit (N, 1), Q's outputs (N, n_cat + n_cont))."""

    def __init__(self, n_cat, n_cont, bn_momentum):
        super().__init__()
        self.body = nn.Sequential(*conv_discriminator(bn_momentum=bn_momentum, out_features=1024), nn.LeakyReLU(0.2))
        self.d_head = nn.Linear(1024, 1)
        self.q_head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128, momentum=bn_momentum),
                                    nn.LeakyReLU(0.2), nn.Linear(128, n_cat + n_cont))

    def forward(self, x):
        h = self.body(x)
        return self.d_head(h), self.q_head(h)


class InfoGAN(Recipe):
    name = "infogan"
    paper = "Chen et al. 2016, InfoGAN: Interpretable Representation Learning (arXiv:1606.03657)"
    Config = InfoGANConfig
    loss_formulas = {
        "D and Q": "-E_x[log D(x)] - E_(z,c)[log(1 - D(G(z,c)))] + lambda L_info",
        "G": "-E_(z,c)[log D(G(z,c))] + lambda L_info",
        "L_info": "CE(c_cat, Q_cat(G(z,c))) + w_cont 1/2 ||c_cont - Q_mu(G(z,c))||^2  (= -L_I + const);  lambda = info_weight, w_cont = cont_weight",
    }

    def build(self):
        c = self.config
        self.G = infogan_generator(c.z_dim + c.n_cat + c.n_cont, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.D = DiscriminatorQ(c.n_cat, c.n_cont, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.d_lr, betas=(c.beta1, c.beta2))

    def sample_latent(self, n, labels=None):
        """(z, c_cat, c_cont): z ~ N(0, I), c_cat uniform over n_cat (int64), c_cont ~ U[-1, 1]."""
        c = self.config
        cat = random.randint(0, c.n_cat, (n,), device=self.device)
        cont = random.rand(n, c.n_cont, device=self.device) * 2.0 - 1.0
        return self.sample_z(n), Tensor(cat), Tensor(cont)

    def generate(self, latent):
        z, cat, cont = latent
        return self.G(concat([z, one_hot(cat, self.config.n_cat), cont], axis=1))

    def info_loss(self, q_out, latent):
        """-L_I up to a constant: the categorical code's cross-entropy and the continuous codes'
        unit-variance Gaussian negative log-likelihood, 1/2 sum_j (c_j - mu_j)^2; batch means."""
        _, cat, cont = latent
        k = self.config.n_cat
        ce = -mean(sum(one_hot(cat, k) * log_softmax(q_out[:, :k], axis=1), axis=1))
        nll = mean(sum((q_out[:, k:] - cont) ** 2, axis=1)) * 0.5
        return ce, nll

    def d_loss(self, real, labels):
        latent = self.sample_latent(real.shape[0])
        with no_grad():
            fake = self.generate(latent)
        (real_logits, _), (fake_logits, q_out) = self.D(real), self.D(fake)
        ce, nll = self.info_loss(q_out, latent)
        gan = losses.d_loss_bce(real_logits, fake_logits)
        loss = gan + (ce + nll * self.config.cont_weight) * self.config.info_weight
        return loss, {"d_loss": gan.detach(), "D(x)": mean(sigmoid(real_logits)).detach(),
                      "D(G(z))": mean(sigmoid(fake_logits)).detach()}

    def g_loss(self, n, labels):
        latent = self.sample_latent(n)
        fake_logits, q_out = self.D(self.generate(latent))
        ce, nll = self.info_loss(q_out, latent)
        gan = losses.g_loss_nonsaturating(fake_logits)
        loss = gan + (ce + nll * self.config.cont_weight) * self.config.info_weight
        return loss, {"g_loss": gan.detach(), "info_cat": ce.detach(), "info_cont": nll.detach()}

    def code_grid(self, rows, cols, cont_index=0, z=None):
        """The latent batch of a rows x cols grid that walks the codes: row r has c_cat = r mod
        n_cat, column j sets continuous code ``cont_index`` to -1 + 2j/(cols-1); the other codes
        are 0 and the noise is one z for the whole grid (drawn unless given: z_dim numbers, on any device)."""
        c = self.config
        xp = backend.xp_for(self.device)
        n = rows * cols
        z = self.sample_z(1).data if z is None else backend.copy_to_device(z, self.device, np.float32)
        z = xp.repeat(z.reshape(1, c.z_dim).astype("float32"), n, axis=0)
        i = xp.arange(n)
        cont = xp.zeros((n, c.n_cont), dtype="float32")
        cont[:, cont_index] = xp.linspace(-1.0, 1.0, cols, dtype="float32")[i % cols]
        return Tensor(z), Tensor((i // cols) % c.n_cat), Tensor(cont)

    def fixed_latent(self, n):
        """A code walk (rows: categories, columns: the first continuous code) when n is square."""
        side = math.isqrt(n)
        if side * side != n:
            return super().fixed_latent(n)
        return self.code_grid(side, side), None
