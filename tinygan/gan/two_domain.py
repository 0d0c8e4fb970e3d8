"""What the two-domain recipes share: domain B's transform, the two data streams, MNIST test
images as sampling inputs, and the translation models' picture and evaluation.

Domain A is MNIST, domain B MNIST passed through a known transform (``tinygan.data.domains``:
negative, edges, rot90), chosen with ``--domain-b``. Every two-domain recipe trains on *disjoint
halves* of the training set (A: the first 30,000 training images, B: T of the last 30,000), as
the coupled-GAN authors split it, so that no pair (x, T(x)) exists in the data: CoGAN learns the
joint distribution, the translation models (DiscoGAN, CycleGAN) learn G_AB: A -> B and
G_BA: B -> A, from two unpaired streams. The loader also carries the labels of A (only CoGAN's
domain-adaptation classifier reads them).

A translation model's inputs for sample grids and evaluation are real images: ``sample_latent``
draws MNIST *test* images with tinygan's generator (x_a, and T of other test images for x_b).
"""

from __future__ import annotations

import dataclasses

from tinygan import random
from tinygan.data.domains import get_domain
from tinygan.data.two_domain import TwoDomainLoader, mnist_test_images, to_unit_range
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.tensor import no_grad

@dataclasses.dataclass
class TwoDomainConfig(RecipeConfig):
    domain_b: str = "negative"   # domain B = T(MNIST): negative, edges or rot90

    def __post_init__(self):
        get_domain(self.domain_b)


class TwoDomainRecipe(Recipe):
    """A recipe on two domains (A = MNIST, B = T(MNIST)); ``self.domain`` is T."""

    Config = TwoDomainConfig

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

    frozen_in_g_step = ("D_A", "D_B")
    tracked_scores = ("preservation_ab", "preservation_ba", "cycle_l1_a", "cycle_l1_b")

    def networks(self):
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}

    def translate(self, x_a, x_b):
        """(G_AB(x_a), G_BA(x_b))."""
        return self.G_AB(x_a), self.G_BA(x_b)

    def sample_latent(self, n, labels=None):
        """n MNIST test images x_a and T of n other test images x_b (Tensors), drawn with tinygan's
        generator; the inputs a translation model is sampled and evaluated on."""
        images, _ = mnist_test_images(self.data_root)
        idx = random.generator("cpu").permutation(len(images))
        if 2 * n > len(images):
            raise ValueError(f"n: expected at most {len(images) // 2} inputs per domain, got {n}")
        return to_unit_range(images[idx[:n]], self.device), to_unit_range(self.domain(images[idx[n:2 * n]]),
                                                                           self.device)

    def generate(self, latent):
        return self.G_AB(latent[0])

    def sample_images(self, latent):
        """Six rows of k = sqrt(n) columns: x_a, G_AB(x_a), G_BA(G_AB(x_a)), x_b, G_BA(x_b), G_AB(G_BA(x_b))."""
        from tinygan.ops import concat
        k = self.grid_columns(latent)
        x_a, x_b = latent[0][:k], latent[1][:k]
        with no_grad():
            fake_b, fake_a = self.translate(x_a, x_b)
            rows = [x_a, fake_b, self.G_BA(fake_b), x_b, fake_a, self.G_AB(fake_a)]
        return concat(rows, axis=0)

    def grid_columns(self, latent):
        return max(1, int(round(latent[0].shape[0] ** 0.5)))

    def evaluate(self, n=10000, seed=0, data=None):
        from tinygan.metrics.translation import evaluate_translation
        return evaluate_translation(self, n=min(n, 5000), seed=seed, data=data)


__all__ = ["TranslationRecipe", "TwoDomainConfig", "TwoDomainRecipe"]
