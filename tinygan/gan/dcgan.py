"""DCGAN (Radford, Metz & Chintala, 2015) for 28x28 MNIST, in the seed's form and the paper's.

The paper's rules: no pooling (strided convolutions down-sample in D, the generator
up-samples), batch-norm in both networks (not on G's output or D's input), no hidden dense
layers, ReLU in G with tanh at its output, LeakyReLU(0.2) in D; Adam(2e-4, beta1 = 0.5) and
weights drawn from N(0, 0.02).

Generator, ``generator="upsample"`` (the seed's Keras model):
    z -> Dense 128*7*7 + ReLU -> reshape -> UpSampling2D -> Conv 3x3 128 -> BN -> ReLU
      -> UpSampling2D -> Conv 3x3 64 -> BN -> ReLU -> Conv 3x3 1 -> tanh
Generator, ``generator="transposed"`` (the paper's fractionally-strided convolutions, the default):
    z -> Dense 128*7*7 -> reshape -> BN -> ReLU -> ConvT(128, 64, 4, 2, 1) -> BN -> ReLU
      -> ConvT(64, 1, 4, 2, 1) -> tanh
What each costs, in FLOPs (2 per multiply-add) per sample, for one generator forward pass:

    layer                          upsample (the seed's)            transposed (the paper's)
    Dense 100 -> 128*7*7           2*100*6272          =   1.25 M   the same                =  1.25 M
    14x14, 128 -> 128, 3x3 conv    2*9*128*128*14*14   =  57.80 M   ConvT 7->14, 128 -> 64, 4x4:
                                                                      2*128*64*16*7*7       = 12.85 M
    28x28, 128 -> 64, 3x3 conv     2*9*128*64*28*28    = 115.61 M   ConvT 14->28, 64 -> 1, 4x4:
                                                                      2*64*1*16*14*14       =  0.40 M
    28x28, 64 -> 1, 3x3 conv       2*9*64*28*28        =   0.90 M
    total                                                175.57 M                             14.50 M

so about 12x (175.6 / 14.5 = 12.1) per generator forward: 11.2 GFLOP against 0.93 GFLOP at batch
64 (its 3x3 convolutions run at 14x14 and 28x28 with 128 channels). A whole training step also
runs the discriminator, which both share, so the step-time ratio is smaller: about 1.3 s
against 0.2 s per step at batch 64 in the runs of docs/variants.md on a 2-core CPU. The transposed form is
the default so that `tinygan train dcgan` shows digits within minutes; `--generator upsample`
trains the seed's.

Discriminator (both): Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(64, 128, 4, 2, 1) -> BN
    -> LeakyReLU(0.2) -> flatten -> Dense 1 (a logit; the only dense layer is the read-out).
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan.vanilla import VanillaConfig, VanillaGAN
from tinygan.nn.init import dcgan_init_
from tinygan.optim import Adam


@dataclasses.dataclass
class DCGANConfig(VanillaConfig):
    generator: str = "transposed"  # transposed (the paper's) | upsample (the seed's)

    def __post_init__(self):
        super().__post_init__()
        if self.generator not in ("upsample", "transposed"):
            raise ValueError(f"generator: expected 'upsample' or 'transposed', got {self.generator!r}")


def upsample_generator(in_features, bn_momentum):
    return nn.Sequential(
        nn.Linear(in_features, 128 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
        nn.Upsample(2), nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128, momentum=bn_momentum), nn.ReLU(),
        nn.Upsample(2), nn.Conv2d(128, 64, 3, padding=1), nn.BatchNorm2d(64, momentum=bn_momentum), nn.ReLU(),
        nn.Conv2d(64, 1, 3, padding=1), nn.Tanh())


def transposed_generator(in_features, bn_momentum):
    return nn.Sequential(
        nn.Linear(in_features, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128, momentum=bn_momentum),
        nn.ReLU(), nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64, momentum=bn_momentum), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())


def conv_discriminator(in_channels=1, bn_momentum=0.2, out_features=1):
    """Two stride-2 convolutions (28 -> 14 -> 7) and a linear read-out."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128, momentum=bn_momentum), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, out_features))


class DCGAN(VanillaGAN):
    """The vanilla GAN's game (its d_loss and g_loss, the generator cost selectable) with the
    paper's convolutional networks."""

    name = "dcgan"
    paper = "Radford, Metz & Chintala 2015, Unsupervised Representation Learning with DCGANs (arXiv:1511.06434)"
    Config = DCGANConfig

    def build(self):
        c = self.config
        make_g = upsample_generator if c.generator == "upsample" else transposed_generator
        self.G = make_g(c.z_dim, c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.D = conv_discriminator(bn_momentum=c.bn_momentum).to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
