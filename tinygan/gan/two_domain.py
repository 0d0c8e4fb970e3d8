"""What the two-domain recipes share: domain B's transform, the two data streams, MNIST test
images as sampling inputs, and the translation models' picture and evaluation.

Domain A is MNIST, domain B MNIST passed through a known transform (``tinygan.data.domains``:
negative, edges, rot90), chosen with ``--domain-b``. Every two-domain recipe trains on *disjoint
halves* of the training set (A: the first 30,000 training images, B: T of the last 30,000), as
the coupled-GAN authors split it, so that no pair (x, T(x)) exists in the data: CoGAN learns the
joint distribution, the translation models (DiscoGAN, CycleGAN) learn G_AB: A -> B and
G_BA: B -> A, from two unpaired streams. The loader also carries the labels of A (only CoGAN's
domain-adaptation classifier reads them).

A translation model's inputs for sample grids and evaluation are real images: ``sample_inputs``
draws MNIST *test* images with tinygan's generator (x_a, and T of other test images for x_b). It
draws no noise, so its Config has no use for z_dim and latent (``TranslationConfig.unused``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tinygan import random
from tinygan.data.domains import get_domain
from tinygan.data.two_domain import TwoDomainLoader, mnist_test_images, to_unit_range
from tinygan.gan.recipe import Recipe, RecipeConfig, check_recipe_config
from tinygan.tensor import no_grad


@dataclasses.dataclass
class TwoDomainConfig(RecipeConfig):
    domain_b: str = "negative"   # domain B = T(MNIST): negative, edges or rot90

    def __post_init__(self):
        check_recipe_config(self)
        get_domain(self.domain_b)


@dataclasses.dataclass
class TranslationConfig(TwoDomainConfig):
    """The options of a translation model: G maps an image to an image, so there is no noise."""

    unused: ClassVar[dict] = {"z_dim": "a translation model draws no noise: its inputs are images",
                              "latent": "a translation model draws no noise: its inputs are images"}


class TwoDomainRecipe(Recipe):
    """A recipe on two domains (A = MNIST, B = T(MNIST)); ``self.domain`` is T."""

    Config = TwoDomainConfig
    reads_mnist_in_eval = True   # domain B's real statistics (and a translation model's inputs) are test images

    @property
    def domain(self):
        return get_domain(self.config.domain_b)

    def make_loader(self, images, labels, batch_size, device):
        """Batches ((x_a, x_b), y_a) of disjoint halves: A = MNIST[:N/2], B = T(MNIST[N/2:]).

        Each domain is shuffled on its own; y_a are the labels of A's batch."""
        half = len(images) // 2
        return TwoDomainLoader(images[:half], self.domain(images[half:2 * half]), batch_size=batch_size,
                               device=device, labels_a=None if labels is None else labels[:half])


class TranslationRecipe(TwoDomainRecipe):
    """G_AB, G_BA, D_A, D_B; one optimizer "G" for both generators, one "D" for both discriminators."""

    Config = TranslationConfig
    frozen_in_g_step = ("D_A", "D_B")
    tracked_scores = ("preservation_ab", "preservation_ba", "cycle_l1_a", "cycle_l1_b")

    def networks(self):
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}

    def translate(self, x_a, x_b):
        """(G_AB(x_a), G_BA(x_b))."""
        return self.G_AB(x_a), self.G_BA(x_b)

    def sample_latent(self, n, labels=None):
        raise TypeError(f"{self.name}: a translation model draws no noise; its inputs are real images "
                        "(sample_inputs)")

    def sample_inputs(self, n, labels=None):
        """The inputs of a grid of about n images: k = round(sqrt(n)) MNIST test images x_a and T of k
        other test images x_b (Tensors), drawn with tinygan's generator; ``sample_images`` shows
        each with its translation and reconstruction, six rows of k."""
        k = max(1, int(round(n ** 0.5)))
        images, _ = mnist_test_images(self.data_root)
        if 2 * k > len(images):
            raise ValueError(f"n: expected at most {(len(images) // 2) ** 2} samples ({len(images) // 2} inputs "
                             f"per domain), got {n}")
        idx = random.generator("cpu").permutation(len(images))
        return to_unit_range(images[idx[:k]], self.device), to_unit_range(self.domain(images[idx[k:2 * k]]),
                                                                           self.device)

    def generate(self, latent):
        return self.G_AB(latent[0])

    def sample_images(self, latent):
        """Six rows of k columns: x_a, G_AB(x_a), G_BA(G_AB(x_a)), x_b, G_BA(x_b), G_AB(G_BA(x_b))."""
        from tinygan.ops import concat
        x_a, x_b = latent
        with no_grad():
            fake_b, fake_a = self.translate(x_a, x_b)
            rows = [x_a, fake_b, self.G_BA(fake_b), x_b, fake_a, self.G_AB(fake_a)]
        return concat(rows, axis=0)

    def grid_columns(self, latent):
        return latent[0].shape[0]

    def evaluate(self, n=10000, seed=0, data=None):
        from tinygan.metrics.translation import evaluate_translation
        return evaluate_translation(self, n=min(n, 5000), seed=seed, data=data)


__all__ = ["TranslationConfig", "TranslationRecipe", "TwoDomainConfig", "TwoDomainRecipe"]
