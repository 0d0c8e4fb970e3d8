"""HR-DCGAN: High-resolution DCGAN (Curto, Zarza, de la Torre, King & Lyu, 2017).

The paper keeps DCGAN's game and its all-convolutional networks and changes what makes them
converge at high resolution:

* **BS layers**: every hidden layer of both networks is a convolution followed by batch-norm and
  a SELU, the self-normalising activation of Klambauer et al. (2017),

      selu(x) = lambda x                 for x > 0
                lambda alpha (e^x - 1)   for x <= 0,    lambda = 1.0507..., alpha = 1.6733...,

  in place of DCGAN's ReLU (G) and LeakyReLU (D). SELU's fixed point (mean 0, variance 1) keeps
  the activations of the deeper networks that large images need well scaled, with batch-norm
  kept as well. As in DCGAN, G's input and D's first layer have no batch-norm.
* **Glasses**: the networks see the images enlarged by a "telescope" factor, so that the same
  filters resolve finer detail. Here MNIST's 28x28 digits are up-sampled to ``resolution`` = 64
  by bilinear interpolation (pixel centres aligned; ``tinygan.ops.resize``) as each batch is
  drawn; G and D work at 64x64, one stride-2 layer more than DCGAN's 28x28 networks.

For the project's 28x28 metrics and grids, ``generate`` takes G's 64x64 images back to 28x28 by
the least-squares inverse of the enlargement (``resize(..., "bilinear_inverse")``: the 28x28 image
whose bilinear enlargement is nearest to G's), clipped to the pixel range [-1, 1]: an enlarged
real digit comes back exactly, where area averaging would blur it (and cost real digits alone an
FID of 96). The game itself runs on the 64x64 images.

An enlarged real digit x = B y B^T (B: the 64x28 bilinear matrix) lies in a 784-dimensional
subspace of the 4096 pixels, so its off-subspace part x - P x, with P x = B (B^+ x B^+T) B^T, is
zero; anything G draws off that subspace marks it as fake to a D that learns to see it. With
``--d-projection true`` D sees P x for every image, real or generated (an experiment on that
cause, not the paper's method: the paper's large images have no such subspace).

Networks, c = ``channels`` (16 for a CPU, where the paper uses far wider ones):
    G: z (100) -> Dense 8c*4*4 -> BN -> SELU -> ConvT(8c, 4c, 4, 2, 1) -> BN -> SELU [8]
       -> ConvT(4c, 2c) -> BN -> SELU [16] -> ConvT(2c, c) -> BN -> SELU [32] -> ConvT(c, 1) -> tanh [64]
    D: Conv(1, c, 4, 2, 1) -> SELU [32] -> Conv(c, 2c) -> BN -> SELU [16] -> Conv(2c, 4c) -> BN -> SELU [8]
       -> Conv(4c, 8c) -> BN -> SELU [4] -> Dense 1 (a logit)
Loss: DCGAN's (binary cross-entropy for D, the non-saturating cost for G); Adam(2e-4, beta1 0.5),
weights N(0, 0.02) as in DCGAN.
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.nn.init import dcgan_init_
from tinygan.ops import clip, mean, resize, sigmoid
from tinygan.optim import Adam
from tinygan.tensor import no_grad


@dataclasses.dataclass
class HRDCGANConfig(RecipeConfig):
    resolution: int = 64      # the side G and D work at (the "glasses"); a multiple of 16
    channels: int = 16        # c: the widest layers have 8c
    bn_momentum: float = 0.2
    d_projection: bool = dataclasses.field(default=False, metadata={
        "help": "D sees every image projected onto the enlarged 28x28 images (an experiment, not the paper's)"})

    def __post_init__(self):
        if not isinstance(self.resolution, int) or self.resolution < 32 or self.resolution % 16:
            raise ValueError(f"resolution: expected a multiple of 16, at least 32, got {self.resolution!r}")
        if not isinstance(self.channels, int) or self.channels < 1:
            raise ValueError(f"channels: expected a positive integer, got {self.channels!r}")


def bs_generator(z_dim, c, side, bn_momentum):
    """DCGAN's transposed generator with BS (batch-norm + SELU) layers, from side/16 up to ``side``."""
    s = side // 16
    layers = [nn.Linear(z_dim, 8 * c * s * s), nn.Unflatten(1, (8 * c, s, s)),
              nn.BatchNorm2d(8 * c, momentum=bn_momentum), nn.SELU()]
    for a, b in ((8 * c, 4 * c), (4 * c, 2 * c), (2 * c, c)):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.BatchNorm2d(b, momentum=bn_momentum), nn.SELU()]
    return nn.Sequential(*layers, nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh())


def bs_discriminator(c, side, bn_momentum):
    """Four stride-2 convolutions (side -> side/16) with BS layers and a linear read-out."""
    layers = [nn.Conv2d(1, c, 4, 2, 1), nn.SELU()]
    for a, b in ((c, 2 * c), (2 * c, 4 * c), (4 * c, 8 * c)):
        layers += [nn.Conv2d(a, b, 4, 2, 1), nn.BatchNorm2d(b, momentum=bn_momentum), nn.SELU()]
    s = side // 16
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(8 * c * s * s, 1))


def project_to_enlargements(x):
    """P x = B (B^+ x B^+T) B^T: the nearest bilinear enlargement of a 28x28 image to each image of
    ``x`` (N, 1, side, side); x - P x is the part no enlarged digit has."""
    return resize(resize(x, 28, "bilinear_inverse"), x.shape[-1], "bilinear")


class HRDCGAN(Recipe):
    name = "hrdcgan"
    paper = "Curto, Zarza, de la Torre, King & Lyu 2017, High-resolution Deep Convolutional Generative " \
            "Adversarial Networks (arXiv:1711.06491)"
    Config = HRDCGANConfig
    loss_formulas = {"D": "-E[log D(x)] - E[log(1 - D(G(z)))]  (x: MNIST up-sampled to 64x64)",
                     "G": "-E[log D(G(z))]"}

    def build(self):
        c = self.config
        self.G = bs_generator(c.z_dim, c.channels, c.resolution, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.D = bs_discriminator(c.channels, c.resolution, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def make_loader(self, images, labels, batch_size, device):
        """MNIST batches enlarged to the training resolution by bilinear interpolation as each is drawn."""
        from tinygan.data.resized import ResizedLoader
        return ResizedLoader(super().make_loader(images, labels, batch_size, device), self.config.resolution)

    def generate_full(self, latent):
        """G's images at the training resolution (N, 1, 64, 64)."""
        return self.G(*latent)

    def generate(self, latent):
        """28x28 images for the metrics and grids: G's output taken back through the inverse of the
        data's enlargement, clip(B^+ G(z) B^+T, -1, 1)."""
        return clip(resize(self.generate_full(latent), 28, "bilinear_inverse"), -1.0, 1.0)

    def d_view(self, x):
        """What D is shown: the image itself, or with ``d_projection`` its projection onto the
        enlargements of 28x28 images (``project_to_enlargements``; P x = x for real ones)."""
        return project_to_enlargements(x) if self.config.d_projection else x

    def d_loss(self, real, labels):
        with no_grad():  # D's step does not train G: its fakes, at 64x64, carry no graph
            fake = self.generate_full(self.sample_latent(real.shape[0]))
        real_logits, fake_logits = self.D(self.d_view(real)), self.D(self.d_view(fake))
        loss = losses.d_loss_bce(real_logits, fake_logits)
        return loss, {"d_loss": loss.detach(), "D(x)": mean(sigmoid(real_logits)).detach(),
                      "D(G(z))": mean(sigmoid(fake_logits)).detach()}

    def g_loss(self, n, labels):
        loss = losses.g_loss_nonsaturating(self.D(self.d_view(self.generate_full(self.sample_latent(n)))))
        return loss, {"g_loss": loss.detach()}
