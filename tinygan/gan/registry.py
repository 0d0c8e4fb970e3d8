"""The GAN variants by name, for the command line and for rebuilding a run from its checkpoint."""

from __future__ import annotations

from tinygan.gan.began import BEGAN
from tinygan.gan.cgan import ConditionalGAN
from tinygan.gan.dcgan import DCGAN
from tinygan.gan.hrdcgan import HRDCGAN
from tinygan.gan.infogan import InfoGAN
from tinygan.gan.lsgan import LSGAN
from tinygan.gan.vanilla import VanillaGAN
from tinygan.gan.wgan import WGAN
from tinygan.gan.wgan_gp import WGANGP

RECIPES = {cls.name: cls for cls in (VanillaGAN, DCGAN, ConditionalGAN, WGAN, WGANGP, LSGAN, InfoGAN,
                                           BEGAN, HRDCGAN)}


def get_recipe(name):
    """The recipe class called ``name``; a clear error listing the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown GAN variant {name!r}; expected one of: {', '.join(sorted(RECIPES))}") from None
