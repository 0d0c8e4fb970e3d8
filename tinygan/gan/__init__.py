"""GAN recipes (one file per variant), their losses, and the shared Trainer."""

from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.gan.registry import RECIPES, get_recipe, register
from tinygan.gan.trainer import TrainConfig, Trainer, TrainingDiverged, TrainingInterrupted
from tinygan.gan.began import BEGAN
from tinygan.gan.cgan import ConditionalGAN
from tinygan.gan.cogan import CoGAN
from tinygan.gan.cyclegan import CycleGAN
from tinygan.gan.dcgan import DCGAN
from tinygan.gan.discogan import DiscoGAN
from tinygan.gan.hrdcgan import HRDCGAN
from tinygan.gan.infogan import InfoGAN
from tinygan.gan.lsgan import LSGAN
from tinygan.gan.progan import ProGAN
from tinygan.gan.stackgan import StackGAN
from tinygan.gan.stackganpp import StackGANpp
from tinygan.gan.vanilla import VanillaGAN
from tinygan.gan.wgan import WGAN
from tinygan.gan.wgan_gp import WGANGP

__all__ = ["BEGAN", "CoGAN", "ConditionalGAN", "CycleGAN", "DCGAN", "DiscoGAN", "HRDCGAN", "InfoGAN", "LSGAN",
           "ProGAN", "RECIPES", "Recipe", "RecipeConfig", "StackGAN", "StackGANpp", "TrainConfig", "Trainer",
           "TrainingDiverged", "TrainingInterrupted", "VanillaGAN", "WGAN", "WGANGP", "get_recipe", "register"]
