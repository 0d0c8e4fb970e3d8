"""What a GAN variant is: its networks, its losses and its schedule, and nothing else.

A recipe subclass reads like the method section of its paper. It builds ``self.G``,
``self.D`` (and any extra network) with their optimizers in ``build``, says how to draw the
generator's inputs (``sample_latent``), and defines the two losses (``d_loss``, ``g_loss``).
Schedule details are class attributes and hooks: ``n_critic`` discriminator steps per generator
step, ``after_d_step`` (WGAN's weight clipping), and which networks the generator step leaves
untouched (``frozen_in_g_step``). The loop, logging, checkpoints and sampling live once, in
``tinygan.gan.trainer.Trainer``.

Recipes with more than one G and one D, two data streams or a schedule that changes over time
use the same loop through a few more hooks. The Trainer calls them; each has a default that does
nothing (or keeps the one-G-one-D behaviour), so a recipe defines only the hooks it needs:

* ``d_optimizers`` / ``g_optimizers``: the keys of ``optimizers()`` stepped after the
  discriminator's and the generator's backward (CycleGAN: both generators in one optimizer,
  both discriminators in another). Networks that share layers share the *same* Parameter
  objects; ``Module.parameters()`` lists a shared one once.
* ``current_phase()``: what the current phase of a staged schedule trains, a ``Phase`` of
  those two and ``frozen_in_g_step``. By default the class attributes; StackGAN returns its stage's.
* ``before_step(step, batch_size)``: called before every iteration with the generator steps
  done so far and the batch size (ProGAN's resolution and fade-in alpha, StackGAN's stage).
* ``after_d_step()``: after each discriminator update (WGAN's weight clipping).
* ``after_g_step(info)``: after each generator update, with that step's logged values; it may
  return more values to log (BEGAN's k_t update and its convergence measure).
* ``make_loader``: what the loop iterates over (two independent domains for the translation
  models); ``g_step_loss(real, labels)``: the generator step's loss, which by default draws
  fresh samples and a translation model overrides to translate the real batch.
* ``state_dict`` / ``load_state_dict``: the recipe's own state (numbers and arrays), saved in
  every checkpoint so that a resumed run continues exactly. Every network of every phase is
  built in ``build``, so a checkpoint always holds the same keys.
* ``sample_inputs(n, labels)``: what the generator is given for a sample grid, ``tinygan
  sample`` and ``tinygan eval``: noise from ``sample_latent`` by default, real images for the
  translation models. ``sample_images``: what a grid shows (``grid_columns``: its images per
  row); ``evaluate``: what ``tinygan eval`` reports (``reads_mnist_in_eval``: whether it reads
  MNIST test images, and so what ``tinygan eval --data`` applies to).
* ``d_loss_real`` / ``d_loss_fake``: the discriminator's loss split into its term on a real
  batch and its term on a fake batch, for the Keras schedule of the seed chapter's code
  (``TrainConfig(schedule="keras")``: one D update on each, in turn). A recipe that does not
  define them cannot train with that schedule, and says so.
* ``default_steps(batch_size)``: a recipe whose schedule has a length (ProGAN's growth,
  StackGAN's two stages) says how many generator steps ``tinygan train`` runs when neither
  --steps nor --epochs is given; ``length_options`` names the Config fields that do nothing but
  set that length (so that ``tinygan train`` refuses one given with a --steps it contradicts).

The latent: every recipe that draws noise draws z through ``sample_z`` (``config.latent``):
N(0, I), the papers' and the chapter's Keras code's choice, or U(-1, 1)^z_dim, the choice of the
seed's "GAN 101" (``--latent uniform --z-dim 256``).

Every recipe's configuration is a dataclass (``Config``): explicit, printable, saved in each
checkpoint so that ``tinygan sample`` can rebuild the networks, and each of its fields is a flag
of ``tinygan train``. A field every recipe inherits but one recipe has no use for (a translation
model draws no noise, so it has no z_dim; RMSprop has no betas) is named in the Config's
``unused`` with the reason: it is not shown as a flag, and setting it is an error.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

from tinygan import backend, random
from tinygan.tensor import Tensor, no_grad


@dataclasses.dataclass
class RecipeConfig:
    """Options every recipe has. Subclasses add their own fields."""

    z_dim: int = 100
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    latent: str = dataclasses.field(default="normal", metadata={
        "help": "normal: z ~ N(0, I); uniform: z ~ U(-1, 1), the seed's GAN 101 (with --z-dim 256)"})

    unused: ClassVar[dict] = {}   # field -> why this recipe has no use for it (not a flag; an error if set)

    def __post_init__(self):
        check_recipe_config(self)


LATENTS = ("normal", "uniform")


def check_recipe_config(config):
    """The checks of the options every recipe has (subclasses with their own __post_init__ call it)."""
    check_unused(config)
    if not isinstance(config.z_dim, int) or config.z_dim < 1:
        raise ValueError(f"z_dim: expected a positive integer, got {config.z_dim!r}")
    if config.latent not in LATENTS:
        raise ValueError(f"latent: expected one of {list(LATENTS)}, got {config.latent!r}")


def check_unused(config):
    """Refuse a value other than the default for a field the Config lists in ``unused``."""
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    for name, why in type(config).unused.items():
        if getattr(config, name) != defaults[name]:
            raise ValueError(f"{name}: not used by this recipe ({why}); got {getattr(config, name)!r}, "
                             f"leave it at {defaults[name]!r}")


def options(config_cls):
    """The fields of a recipe Config that are its options (flags of ``tinygan train``): all but
    the ``unused`` ones."""
    return [f for f in dataclasses.fields(config_cls) if f.name not in config_cls.unused]


class Phase(NamedTuple):
    """What one phase of a schedule trains: the optimizers stepped after the discriminator's and
    the generator's backward, and the networks whose weights the generator step leaves alone."""

    d_optimizers: tuple
    g_optimizers: tuple
    frozen_in_g_step: tuple


class Recipe:
    """Base class of the GAN variants."""

    name = "recipe"
    paper = ""                   # title and arXiv id
    loss_formulas = {}           # {"D": "...", "G": "..."}: the losses as formulas, for the card
    Config = RecipeConfig
    n_critic = 1                 # discriminator (critic) steps per generator step
    conditional = False          # does G take class labels?
    frozen_in_g_step = ("D",)    # networks whose weights get no gradient in the generator step
    d_optimizers = ("D",)        # optimizers stepped after the discriminator's backward
    g_optimizers = ("G",)        # optimizers stepped after the generator's backward
    tracked_scores = ("fid", "classifier_score", "classes_covered")  # of evaluate(), logged with --eval-every
    data_root = None             # the MNIST directory, for recipes that read images themselves (None: the default)
    reads_mnist_in_eval = False  # does evaluate() read MNIST test images (the others' real statistics ship)?
    length_options = ()          # Config fields that only set the length of default_steps (StackGAN's stage2_steps)
    default_ema = None           # decay of the running average of G's weights when --ema is not given (None: off)

    def __init__(self, config=None, device=None):
        self.config = config if config is not None else self.Config()
        if not isinstance(self.config, self.Config):
            raise TypeError(f"{self.name}: config: expected {self.Config.__name__}, got {type(self.config).__name__}")
        self.device = device or backend.get_default_device()
        self.build()

    # -- what a variant defines ------------------------------------------------------------
    def build(self):
        """Create the networks (on self.device) and their optimizers."""
        raise NotImplementedError

    def networks(self):
        """The trained modules by name (saved in checkpoints)."""
        return {"G": self.G, "D": self.D}

    def optimizers(self):
        return {"G": self.opt_g, "D": self.opt_d}

    def generators(self):
        """The networks that draw samples, by name: those of ``networks()`` named G... (G, G1, G2,
        G_AB, ...). The Trainer's running average of weights (``--ema``) averages these."""
        return {name: m for name, m in self.networks().items() if name.startswith("G")}

    def sample_latent(self, n, labels=None):
        """The generator's inputs for n samples, as a tuple (z by default, drawn by ``sample_z``)."""
        return (self.sample_z(n),)

    def generate(self, latent):
        """Images (N, 1, 28, 28) in [-1, 1] from the inputs ``sample_latent`` made."""
        return self.G(*latent)

    def d_loss(self, real, labels):
        """The discriminator's loss on a real batch (and fakes it draws itself): (loss, info)."""
        raise NotImplementedError

    def g_loss(self, n, labels):
        """The generator's loss on n fresh samples: (loss, info)."""
        raise NotImplementedError

    def d_loss_real(self, real, labels):
        """The discriminator's loss term on a real batch alone: (loss, info). Only the Keras
        schedule uses it; a recipe that supports that schedule defines it with ``d_loss_fake``."""
        raise NotImplementedError(f"the {self.name} recipe does not split its discriminator loss into a real "
                                  "and a fake term (d_loss_real / d_loss_fake), which schedule 'keras' needs")

    def d_loss_fake(self, fake, labels):
        """The discriminator's loss term on a batch of fakes alone (drawn by the Trainer): (loss, info)."""
        raise NotImplementedError(f"the {self.name} recipe does not split its discriminator loss into a real "
                                  "and a fake term (d_loss_real / d_loss_fake), which schedule 'keras' needs")

    def supports_split_d_loss(self):
        """Does this recipe define ``d_loss_real`` and ``d_loss_fake`` (the Keras schedule)?"""
        cls = type(self)
        return cls.d_loss_real is not Recipe.d_loss_real and cls.d_loss_fake is not Recipe.d_loss_fake

    def after_d_step(self):
        """Called after each discriminator update (WGAN clips the critic's weights here)."""

    def after_g_step(self, info):
        """Called after each generator update with the step's logged values (detached 0-d tensors,
        ``g_loss`` among them); returns a dict of more values to log (BEGAN updates k_t here)."""
        return {}

    def g_step_loss(self, real, labels):
        """The loss of one generator step, after the discriminator's steps on ``real``.

        By default: ``g_loss`` on as many fresh samples as the real batch had (with random labels
        for a conditional G). A recipe whose generator transforms real images (the translation
        models) overrides this and uses ``real``."""
        n = batch_size(real)
        labels = self.random_labels(n) if self.conditional else None
        return self.g_loss(n, labels)

    # -- hooks for schedules, data streams and recipe state (defaults: none) ---------------
    def make_loader(self, images, labels, batch_size, device):
        """What the training loop iterates over: batches ``(real, labels)`` of MNIST by default.
        ``images`` are uint8 (N, 28, 28), ``labels`` int (N,)."""
        from tinygan.data.loader import DataLoader
        return DataLoader(images, labels, batch_size=batch_size, device=device)

    def before_step(self, step, batch_size):
        """Called before each iteration with the number of generator steps done so far and the
        number of examples in a batch (the loader's ``batch_size``)."""

    def current_phase(self):
        """What the current phase of the schedule trains (a ``Phase``). By default the class
        attributes ``d_optimizers``, ``g_optimizers`` and ``frozen_in_g_step``; a staged recipe
        (StackGAN) returns the one of its current stage, which ``before_step`` sets."""
        return Phase(tuple(self.d_optimizers), tuple(self.g_optimizers), tuple(self.frozen_in_g_step))

    def default_steps(self, batch_size):
        """The length of the recipe's own schedule in generator steps (ProGAN's growth), used by
        ``tinygan train`` when neither --steps nor --epochs is given; None: train by epochs."""
        return None

    def state_dict(self):
        """The recipe's own training state beyond its networks and optimizers (a schedule's phase,
        a history buffer): a dict of JSON numbers/strings and arrays. Saved in every checkpoint."""
        return {}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned (arrays come back as NumPy arrays)."""
        if state:
            raise ValueError(f"{self.name}: state: expected an empty dict (this recipe keeps no state), "
                             f"got keys {sorted(state)}")

    def sample_inputs(self, n, labels=None):
        """The generator's inputs for n samples of a grid, ``tinygan sample`` or ``tinygan eval``:
        by default the noise of ``sample_latent``; a translation model returns real images."""
        return self.sample_latent(n, labels)

    def sample_images(self, latent):
        """The images of a sample grid (N, 1, H, W) for the fixed inputs ``latent``."""
        return self.generate(latent)

    def grid_columns(self, latent):
        """Images per row of the grid of ``sample_images(latent)`` (None: a square grid)."""
        return None

    def evaluate(self, n=10000, seed=0, data=None):
        """What ``tinygan eval`` reports: FID, classifier score and mode coverage of n samples.
        Recipes whose output is not one image per latent (pairs, translations) add their own."""
        from tinygan.metrics.evaluate import evaluate_recipe
        return evaluate_recipe(self, n=n, seed=seed, data=data)

    # -- helpers for variants ---------------------------------------------------------------
    def draw_fakes(self, n, labels=None):
        """n generated images for a discriminator step, without recording G's graph: the
        discriminator's loss does not train G, so its backward has no reason to go there."""
        with no_grad():
            return self.generate(self.sample_latent(n, labels))

    def randn(self, *shape):
        return Tensor(random.randn(*shape, device=self.device))

    def sample_z(self, n):
        """n noise vectors (n, z_dim): z ~ N(0, I), or U(-1, 1) with ``latent="uniform"``."""
        latent = getattr(self.config, "latent", "normal")
        if latent == "uniform":
            return Tensor(random.rand(n, self.config.z_dim, device=self.device) * 2 - 1)
        if latent != "normal":
            raise ValueError(f"{self.name}: latent: expected one of {list(LATENTS)}, got {latent!r}")
        return self.randn(n, self.config.z_dim)

    def random_labels(self, n):
        return random.randint(0, 10, (n,), device=self.device)

    def fixed_latent(self, n):
        """The latent batch of the sample grids: for a conditional GAN, rows of equal labels."""
        labels = None
        if self.conditional:
            xp = backend.xp_for(self.device)
            side = max(1, int(round(n ** 0.5)))
            labels = (xp.arange(n, dtype="int64") // side) % 10  # one digit per row of the square grid
        return self.sample_inputs(n, labels), labels

    def describe(self):
        """One line per network with its parameter count."""
        return "\n".join(f"{name}: {m.num_parameters():,} parameters" for name, m in self.networks().items())


def batch_size(real):
    """The number of examples in a real batch: a Tensor, or a tuple of them (one per domain)."""
    first = real[0] if isinstance(real, (tuple, list)) else real
    return first.shape[0]
