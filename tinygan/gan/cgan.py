"""The conditional GAN (Mirza & Osindero, 2014): both players see the class label y.

The value function is the vanilla GAN's with every term conditioned on y:

    min_G max_D  E_x log D(x | y) + E_z log(1 - D(G(z | y) | y))

so D must reject a fake that is a poor digit and also one that is not the digit it claims to
be, and the trained G draws the digit it is asked for (``tinygan sample CKPT --label 3``).

How y enters, ``conditioning``:
    multiply  (the seed's Keras model, the default) G's input is z * Embedding(10, z_dim)(y); D's is
              flatten(x) * Embedding(10, 784)(y): a learned per-class gate on every input unit.
    concat    (the paper's) y as a one-hot vector joined to z, and to flatten(x).

Generator (the seed's): the vanilla MLP generator, except that the 512-unit layer has no
    batch-norm: Dense 256 -> LeakyReLU(0.2) -> BN -> Dense 512 -> LeakyReLU -> Dense 1024
    -> LeakyReLU -> BN -> Dense 784 -> tanh -> reshape (1, 28, 28)
Discriminator (the seed's): Dense 512 -> LeakyReLU(0.2) -> Dense 512 -> LeakyReLU -> Dropout(0.4)
    -> Dense 512 -> LeakyReLU -> Dropout(0.4) -> Dense 1 (a logit)
Adam(2e-4, beta1 = 0.5), the non-saturating generator cost. As in the seed, the D step labels
its fakes with the real batch's labels; the G step draws labels uniformly. The embeddings start
as Keras' do, U(-0.05, 0.05), not N(0, 1) (tinygan's and PyTorch's default): a gate of N(0, 1)
entries scrambles the image D sees, and after 600 steps such a run still draws many noise
images where the Keras start draws clear digits in every row.

Networks, ``networks``: ``mlp`` (the seed's, above) or ``dcgan``, a conditional DCGAN: DCGAN's
transposed-convolution generator fed the conditioned z (z * Embedding(y), or [z, one-hot(y)]),
and DCGAN's convolutional discriminator fed the conditioned image: x gated pixel by pixel by
Embedding(10, 784)(y) (multiply), or x with ten more input channels, one-hot(y) broadcast over the
28x28 plane (concat). Weights from N(0, 0.02) as in DCGAN; the game and the optimizers as above.
"""

from __future__ import annotations

import dataclasses

from tinygan import backend, nn
from tinygan.gan import losses
from tinygan.gan.blocks import one_hot, swap_layers
from tinygan.gan.dcgan import conv_discriminator, transposed_generator
from tinygan.nn.init import dcgan_init_
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.gan.vanilla import mlp_generator
from tinygan.ops import concat, mean, sigmoid
from tinygan.optim import Adam
from tinygan.tensor import Tensor

NUM_CLASSES = 10


@dataclasses.dataclass
class CGANConfig(RecipeConfig):
    conditioning: str = "multiply"   # multiply (the seed's) | concat (the paper's)
    bn_momentum: float = 0.2         # Keras momentum 0.8
    networks: str = "mlp"            # mlp (the seed's) | dcgan (a conditional DCGAN)

    def __post_init__(self):
        super().__post_init__()
        if self.conditioning not in ("multiply", "concat"):
            raise ValueError(f"conditioning: expected 'multiply' or 'concat', got {self.conditioning!r}")
        if self.networks not in ("mlp", "dcgan"):
            raise ValueError(f"networks: expected 'mlp' or 'dcgan', got {self.networks!r}")


class LabelConditioned(nn.Module):
    """``body(flatten(x) combined with y)``: x gated by a learned embedding of y, or joined to one-hot(y)."""

    def __init__(self, body, features, conditioning):
        super().__init__()
        self.conditioning = conditioning
        if conditioning == "multiply":
            self.embed = nn.Embedding(NUM_CLASSES, features)
            nn.init.uniform_(self.embed.weight, -0.05, 0.05)
        self.flatten = nn.Flatten()
        self.body = body

    def forward(self, x, labels):
        x = self.flatten(x)
        if self.conditioning == "multiply":
            return self.body(x * self.embed(labels))
        return self.body(concat([x, one_hot(labels, NUM_CLASSES)], axis=1))


class LabelPlanes(nn.Module):
    """``body([x, one-hot(y) as 10 constant planes])``: a convolutional D's concat conditioning."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x, labels):
        n, _, h, w = x.shape
        planes = one_hot(labels, NUM_CLASSES).reshape(n, NUM_CLASSES, 1, 1) * Tensor(
            backend.xp_for(x.device).ones((1, 1, h, w), dtype=x.dtype))
        return self.body(concat([x, planes], axis=1))


def cgan_discriminator(in_features):
    """The seed's conditional discriminator body: three Dense-512 blocks (dropout after the last two)."""
    return nn.Sequential(
        nn.Linear(in_features, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 512), nn.LeakyReLU(0.2), nn.Dropout(0.4),
        nn.Linear(512, 512), nn.LeakyReLU(0.2), nn.Dropout(0.4),
        nn.Linear(512, 1))


class ConditionalGAN(Recipe):
    name = "cgan"
    paper = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784)"
    Config = CGANConfig
    loss_formulas = {
        "D": "-E_(x,y)[log D(x|y)] - E_(z,y)[log(1 - D(G(z|y)|y))]",
        "G": "-E_(z,y)[log D(G(z|y)|y)]",
    }
    conditional = True

    def build(self):
        c = self.config
        extra = NUM_CLASSES if c.conditioning == "concat" else 0
        if c.networks == "dcgan":
            self._build_dcgan(extra)
            return
        body_g = swap_layers(mlp_generator(c.z_dim, c.bn_momentum, in_features=c.z_dim + extra),
                             nn.BatchNorm1d, lambda bn: None if bn.num_features == 512 else bn)
        self.G = LabelConditioned(body_g, c.z_dim, c.conditioning).to(self.device)
        self.D = LabelConditioned(cgan_discriminator(784 + extra), 784, c.conditioning).to(self.device)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def _build_dcgan(self, extra):
        c = self.config
        self.G = LabelConditioned(transposed_generator(c.z_dim + extra, c.bn_momentum), c.z_dim, c.conditioning)
        if c.conditioning == "multiply":
            body_d = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), conv_discriminator(1, c.bn_momentum))
            self.D = LabelConditioned(body_d, 784, "multiply")
        else:
            self.D = LabelPlanes(conv_discriminator(1 + NUM_CLASSES, c.bn_momentum))
        for net in (self.G, self.D):   # N(0, 0.02) for convolutions and batch-norm; embeddings keep U(-0.05, 0.05)
            net.to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def sample_latent(self, n, labels=None):
        """(z, y): z ~ N(0, I) and the digits to draw (uniform when ``labels`` is None)."""
        if labels is None:
            labels = self.random_labels(n)
        return self.sample_z(n), labels if isinstance(labels, Tensor) else Tensor(labels)

    def d_loss(self, real, labels):
        fake = self.draw_fakes(real.shape[0], labels)
        real_logits, fake_logits = self.D(real, labels), self.D(fake, labels)
        loss = losses.d_loss_bce(real_logits, fake_logits)
        return loss, {"d_loss": loss.detach(), "D(x)": mean(sigmoid(real_logits)).detach(),
                      "D(G(z))": mean(sigmoid(fake_logits)).detach()}

    # The Keras schedule's two updates (the seed's train_on_batch([real, y], ones), then ([fake, y], zeros)).
    def d_loss_real(self, real, labels):
        logits = self.D(real, labels)
        return losses.bce_with_logits(logits, 1.0), {"D(x)": mean(sigmoid(logits)).detach()}

    def d_loss_fake(self, fake, labels):
        logits = self.D(fake, labels)
        return losses.bce_with_logits(logits, 0.0), {"D(G(z))": mean(sigmoid(logits)).detach()}

    def g_loss(self, n, labels):
        z, y = self.sample_latent(n, labels)
        loss = losses.g_loss_nonsaturating(self.D(self.generate((z, y)), y))
        return loss, {"g_loss": loss.detach()}
