"""The GAN variants by name, for the command line and for rebuilding a run from its checkpoint.

A recipe of your own joins them with ``register(MyGAN)``. The ``tinygan`` command also imports
the files or modules listed in ``$TINYGAN_RECIPES`` (separated by ``os.pathsep``) first, so that
``TINYGAN_RECIPES=my_gan.py tinygan train my_gan`` trains a recipe that lives outside the package.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

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

RECIPES = {cls.name: cls for cls in (VanillaGAN, DCGAN, ConditionalGAN, WGAN, WGANGP, LSGAN, InfoGAN, ProGAN,
                                     CoGAN, DiscoGAN, CycleGAN, BEGAN, StackGAN, StackGANpp, HRDCGAN)}


def get_recipe(name):
    """The recipe class called ``name``; a clear error listing the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown GAN variant {name!r}; expected one of: {', '.join(sorted(RECIPES))}") from None


def register(recipe_cls, replace=False):
    """Make ``recipe_cls`` known by its ``name`` (to ``tinygan train NAME``, ``list``, checkpoints).

    Returns the class, so it also works as a decorator. Registering another class under a taken
    name is an error unless ``replace=True``.
    """
    from tinygan.gan.recipe import Recipe
    if not (isinstance(recipe_cls, type) and issubclass(recipe_cls, Recipe)):
        raise TypeError(f"register: expected a subclass of tinygan.gan.Recipe, got {recipe_cls!r}")
    name = recipe_cls.name
    if not isinstance(name, str) or not name or name == Recipe.name or not name.replace("_", "").isalnum():
        raise ValueError(f"register: {recipe_cls.__name__}.name: expected a new name of letters, digits and _, "
                         f"got {name!r}")
    if name in RECIPES and RECIPES[name] is not recipe_cls and not replace:
        raise ValueError(f"register: the name {name!r} is taken by {RECIPES[name].__module__}."
                         f"{RECIPES[name].__name__}; choose another or pass replace=True")
    RECIPES[name] = recipe_cls
    return recipe_cls


def load_user_recipes(spec=None):
    """Import each file (``path/to/my_gan.py``) or module (``my_package.my_gan``) in ``spec``
    (default ``$TINYGAN_RECIPES``, separated by os.pathsep); they call ``register`` themselves."""
    spec = os.environ.get("TINYGAN_RECIPES", "") if spec is None else spec
    for item in filter(None, (s.strip() for s in spec.split(os.pathsep))):
        if item.endswith(".py"):
            path = Path(item)
            if not path.is_file():
                raise FileNotFoundError(f"TINYGAN_RECIPES: no such file: {item}")
            module_spec = importlib.util.spec_from_file_location(f"tinygan_user_{path.stem}", path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            importlib.import_module(item)
