"""ProGAN's growing generator and discriminator (Karras et al. 2018, section 2 and appendix A).

Both networks are built for every resolution at once, 4x4 up to 4 * 2^(levels - 1); which part
runs is an argument of ``forward``: ``level`` (0 = 4x4, 1 = 8x8, ...) and the fade-in ``alpha``.
Every Linear and Conv2d has an equalized learning rate; weights are never re-initialised.

Generator (channels c_0..c_L per resolution; PN = pixel norm, LReLU = leaky ReLU 0.2):
    z -> PN -> Dense c_0*4*4 -> LReLU -> PN -> Conv 3x3 -> LReLU -> PN                 (4x4)
      -> [Upsample x2 -> Conv 3x3 -> LReLU -> PN -> Conv 3x3 -> LReLU -> PN] per level
    to_rgb[l]: Conv 1x1 (gain 1, a linear output)
    fade-in at level l:  (1 - alpha) * upsample(to_rgb[l-1](h)) + alpha * to_rgb[l](block[l](h))
Discriminator (the mirror image):
    from_rgb[l]: Conv 1x1 -> LReLU
    block[l]:    Conv 3x3 -> LReLU -> Conv 3x3 -> LReLU -> AvgPool 2x2            (levels >= 1)
    block[0]:    MinibatchStdDev(4) -> Conv 3x3 -> LReLU -> Dense c_0 -> LReLU -> Dense 1 (gain 1)
    fade-in at level l:  (1 - alpha) * from_rgb[l-1](avgpool(x)) + alpha * block[l](from_rgb[l](x))
The paper's 4x4 "Conv 4x4" layers on 1x1 and 4x4 maps are the dense layers above.
"""

from __future__ import annotations

import math

from tinygan import nn
from tinygan.nn import equalized_lr as eq
from tinygan.ops import avg_pool2d, upsample_nearest

LINEAR_GAIN = 1.0  # to_rgb and D's read-out feed no activation


def _conv(c_in, c_out, k, gain=math.sqrt(2.0)):
    return eq(nn.Conv2d(c_in, c_out, k, padding=k // 2), gain)


def _act():
    return nn.LeakyReLU(0.2)


def _check_level(level, alpha, levels):
    if not (isinstance(level, int) and 0 <= level < levels):
        raise ValueError(f"level: expected an integer in [0, {levels - 1}], got {level!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")


class ProGenerator(nn.Module):
    def __init__(self, z_dim, channels, out_channels=1):
        super().__init__()
        self.z_dim, self.channels = z_dim, tuple(channels)
        c0 = channels[0]
        self.latent_norm = nn.PixelNorm()
        blocks = [nn.Sequential(eq(nn.Linear(z_dim, c0 * 16)), nn.Unflatten(1, (c0, 4, 4)), _act(), nn.PixelNorm(),
                                _conv(c0, c0, 3), _act(), nn.PixelNorm())]
        for c_prev, c in zip(channels[:-1], channels[1:]):
            blocks.append(nn.Sequential(nn.Upsample(2), _conv(c_prev, c, 3), _act(), nn.PixelNorm(),
                                        _conv(c, c, 3), _act(), nn.PixelNorm()))
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = nn.ModuleList([_conv(c, out_channels, 1, LINEAR_GAIN) for c in channels])

    @property
    def levels(self):
        return len(self.channels)

    def forward(self, z, level, alpha=1.0):
        """Images at resolution 4 * 2^level, the newest block faded in with weight ``alpha``."""
        _check_level(level, alpha, self.levels)
        h = self.blocks[0](self.latent_norm(z))
        for i in range(1, level):
            h = self.blocks[i](h)
        if level == 0:
            return self.to_rgb[0](h)
        new = self.to_rgb[level](self.blocks[level](h))
        if alpha >= 1.0:
            return new
        old = upsample_nearest(self.to_rgb[level - 1](h), 2)
        return old * (1.0 - alpha) + new * alpha


class ProDiscriminator(nn.Module):
    def __init__(self, channels, in_channels=1, group_size=4):
        super().__init__()
        self.channels = tuple(channels)
        c0 = channels[0]
        blocks = [nn.Sequential(nn.MinibatchStdDev(group_size), _conv(c0 + 1, c0, 3), _act(), nn.Flatten(),
                                eq(nn.Linear(c0 * 16, c0)), _act(), eq(nn.Linear(c0, 1), LINEAR_GAIN))]
        for c_prev, c in zip(channels[:-1], channels[1:]):
            blocks.append(nn.Sequential(_conv(c, c, 3), _act(), _conv(c, c_prev, 3), _act(), nn.AvgPool2d(2)))
        self.blocks = nn.ModuleList(blocks)
        self.from_rgb = nn.ModuleList([nn.Sequential(_conv(in_channels, c, 1), _act()) for c in channels])

    @property
    def levels(self):
        return len(self.channels)

    def forward(self, x, level, alpha=1.0):
        """One score per image of resolution 4 * 2^level (the newest block faded in with ``alpha``)."""
        _check_level(level, alpha, self.levels)
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level](h)
            if alpha < 1.0:
                old = self.from_rgb[level - 1](avg_pool2d(x, 2))
                h = old * (1.0 - alpha) + h * alpha
        for i in range(level - 1, 0, -1):
            h = self.blocks[i](h)
        return self.blocks[0](h)
