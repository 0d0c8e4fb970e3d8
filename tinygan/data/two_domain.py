"""Batches from two image domains at once, each in its own order: ``((x_a, x_b), y_a)``.

The two-domain GANs see a batch of A and a batch of B in every step, drawn independently from
disjoint halves of the training images, so that no pair (x, T(x)) ever appears in the data.
``y_a`` are the labels of the batch of A when the loader was given them (CoGAN's domain
adaptation trains a classifier on them; no GAN loss reads them), None otherwise.

Each domain is a ``DataLoader`` of its own (device-resident float32 images in [-1, 1], a new
permutation every epoch from its own seed). An epoch is an epoch of A; B is read as an endless
stream beside it, so domains of different sizes work, and ``state_dict`` holds both loaders'
positions: a resumed run gets exactly the batches it would have had.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.data.loader import DataLoader
from tinygan.tensor import Tensor

_test_images = {}


class TwoDomainLoader:
    """Iterate over ``((x_a, x_b), y_a)``: one batch of each domain (uint8 images (N, H, W)) and the
    labels of A's batch (None without ``labels_a``)."""

    def __init__(self, images_a, images_b, batch_size=64, device=None, seed_a=None, seed_b=None, labels_a=None):
        self.a = DataLoader(images_a, labels_a, batch_size=batch_size, device=device, seed=seed_a)
        self.b = DataLoader(images_b, batch_size=batch_size, device=device, seed=seed_b)
        self.batch_size, self.device = self.a.batch_size, self.a.device

    @property
    def epoch(self):
        return self.a.epoch

    @property
    def batch(self):
        return self.a.batch

    def __len__(self):
        return len(self.a)

    def _stream_b(self):
        while True:
            yield from self.b

    def __iter__(self):
        stream_b = self._stream_b()
        for x_a, y_a in self.a:
            x_b, _ = next(stream_b)
            yield (x_a, x_b), y_a

    def state_dict(self):
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or set(state) != {"a", "b"}:
            raise ValueError(f"state: expected a dict with keys 'a' and 'b' (one per domain), got {state!r}")
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])


def mnist_test_images(root=None):
    """The 10,000 MNIST test images (uint8) and labels, loaded once per process: the inputs that
    translation models are sampled and evaluated on."""
    key = str(root)
    if key not in _test_images:
        from tinygan.data.mnist import load_mnist
        _test_images[key] = load_mnist("test", root=root)
    return _test_images[key]


def to_unit_range(images_u8, device):
    """uint8 (N, 28, 28) -> a float32 Tensor (N, 1, 28, 28) in [-1, 1], scaled as the DataLoader does."""
    x = images_u8[:, None].astype(np.float32)
    x /= np.float32(127.5)
    x -= np.float32(1)
    return Tensor(backend.to_device(x, device))


__all__ = ["TwoDomainLoader", "mnist_test_images", "to_unit_range"]
