"""Batches for training: images on the device, scaled to [-1, 1], reshuffled every epoch, resumable.

The whole set is converted to float32 once and stored on the device once (MNIST's 60,000
images take 188 MB), so a training step gathers its batch where the model is and nothing
crosses from host to device inside the loop.

The order of epoch ``e`` is a permutation drawn from a generator seeded with ``(seed, e)``. It
depends on nothing else, so a run resumed from ``state_dict()`` (seed, epoch, batch index: a few
ints) continues with exactly the batches it would have had.

``replacement=True`` draws every batch as ``batch_size`` indices uniform over the whole set, with
replacement (the seed chapter's Keras loop: ``idx = np.random.randint(0, N, batch_size)``):
batch ``b`` of "epoch" ``e`` comes from a generator seeded with ``(seed, e, b)``, so it too
resumes exactly. An "epoch" is then ``len(loader)`` such batches.
"""

from __future__ import annotations

import math

import numpy as np

from tinygan import backend
from tinygan import random as tg_random
from tinygan.tensor import Tensor


class DataLoader:
    """Iterate over ``(x, y)`` batches of uint8 images (and integer labels).

    ``x`` is a float32 Tensor of shape (B, C, H, W) on ``device`` (images of shape (N, H, W)
    get C = 1), scaled to the range of a tanh generator::

        x = u8 / 127.5 - 1        (0 -> -1 and 255 -> 1, exactly)

    ``y`` is an int64 array on the same device, or None without labels.

    ``shuffle`` draws a new order every epoch; ``drop_last`` leaves out a last batch smaller
    than ``batch_size`` (a GAN's batch statistics are then always over ``batch_size`` images).
    ``replacement`` draws each batch independently, with replacement (see the module docstring).
    ``seed`` fixes the order on its own; without it the seed is drawn once from tinygan's CPU
    generator, so ``tinygan.manual_seed`` fixes it.

    Iteration continues where the previous one stopped; a new epoch starts once the previous
    one has been consumed to its end. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, images, labels=None, batch_size=64, shuffle=True, drop_last=True, device=None, seed=None,
                 replacement=False):
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            raise TypeError(f"images: expected a uint8 numpy array, got "
                            f"{getattr(images, 'dtype', type(images).__name__)}")
        if images.ndim not in (3, 4) or len(images) == 0:
            raise ValueError(f"images: expected a non-empty array of shape (N, H, W) or (N, C, H, W), "
                             f"got {images.shape}")
        if labels is not None:
            if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
                raise TypeError(f"labels: expected an integer numpy array, got "
                                f"{getattr(labels, 'dtype', type(labels).__name__)}")
            if labels.shape != (len(images),):
                raise ValueError(f"labels: expected shape ({len(images)},) to match the images, got {labels.shape}")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
        if drop_last and batch_size > len(images):
            raise ValueError(f"batch_size: {batch_size} is more than the {len(images)} images, and "
                             "drop_last=True would leave no batch")
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise ValueError(f"seed: expected None or a non-negative integer, got {seed!r}")

        self.device = device or backend.get_default_device()
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.replacement = bool(replacement)
        x = (images[:, None] if images.ndim == 3 else images).astype(np.float32)
        x /= np.float32(127.5)
        x -= np.float32(1)
        self._x = backend.to_device(x, self.device)
        self._y = None if labels is None else backend.to_device(labels.astype(np.int64), self.device)
        self.seed = int(seed) if seed is not None else int(tg_random.generator("cpu").integers(2**63))
        self.epoch = 0  # the current epoch
        self.batch = 0  # the index in it of the next batch

    def __len__(self):
        n = len(self._x)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self, epoch):
        """The sample indices of ``epoch``, in order, on the device."""
        n = len(self._x)
        if not self.shuffle:
            return backend.xp_for(self.device).arange(n)
        permutation = np.random.Generator(np.random.PCG64([self.seed, epoch])).permutation(n)
        return backend.to_device(permutation, self.device)

    def _draw(self, epoch, batch):
        """The indices of one batch drawn with replacement, fixed by (seed, epoch, batch)."""
        index = np.random.Generator(np.random.PCG64([self.seed, epoch, batch])).integers(
            0, len(self._x), self.batch_size)
        return backend.to_device(index, self.device)

    def __iter__(self):
        if self.batch >= len(self):
            self.epoch += 1
            self.batch = 0
        order = None if self.replacement else self._order(self.epoch)
        while self.batch < len(self):
            if self.replacement:
                index = self._draw(self.epoch, self.batch)
            else:
                index = order[self.batch * self.batch_size:(self.batch + 1) * self.batch_size]
            self.batch += 1
            yield Tensor(self._x[index]), None if self._y is None else self._y[index]

    def state_dict(self):
        """Where the loader stands, as JSON-serialisable ints: enough to resume exactly."""
        return {"seed": self.seed, "epoch": self.epoch, "batch": self.batch,
                "batch_size": self.batch_size, "size": len(self._x), "replacement": self.replacement}

    def load_state_dict(self, state):
        """Continue from ``state_dict()``; the data set and batch size must be the same."""
        expected = {"size": len(self._x), "batch_size": self.batch_size, "replacement": self.replacement}
        for key, value in expected.items():
            if state.get(key, False if key == "replacement" else None) != value:
                raise ValueError(f"state: {key} is {state.get(key)!r}, this loader has {value}")
        if not (_is_int(state.get("seed")) and _is_int(state.get("epoch")) and _is_int(state.get("batch"))
                and state["seed"] >= 0 and state["epoch"] >= 0 and 0 <= state["batch"] <= len(self)):
            raise ValueError(f"state: expected non-negative integers seed, epoch and batch "
                             f"(batch <= {len(self)}), got {state!r}")
        self.seed, self.epoch, self.batch = int(state["seed"]), int(state["epoch"]), int(state["batch"])


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
