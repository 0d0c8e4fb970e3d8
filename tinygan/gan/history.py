"""The history of generated images that CycleGAN's discriminators see (Shrivastava et al. 2017).

Updating a discriminator only on the newest fakes lets the two players chase each other in
circles: D forgets what the generator produced a few hundred steps ago, and the generator
returns there. Shrivastava et al. ("Learning from Simulated and Unsupervised Images through
Adversarial Training", arXiv:1612.07828) keep a buffer of past fakes; CycleGAN keeps 50 and,
for every new fake in a batch:

    while the buffer holds fewer than ``size`` images:  store it, and show it to D;
    otherwise, with probability 1/2:  show D a stored image picked uniformly, and put the new
                                      one in its place;
               else:                  show D the new image.

The coin flips and picks come from tinygan's CPU generator (saved in checkpoints), one flip and
one pick per image whatever the buffer holds, so the random stream does not depend on the
buffer's fill. The stored images are recipe state (``state_dict``): a resumed run sees the same
history it would have seen.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend, random
from tinygan.tensor import Tensor


class HistoryBuffer:
    """A buffer of at most ``size`` past images; ``query(fakes)`` returns what D should see."""

    def __init__(self, size=50):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"HistoryBuffer: size: expected a non-negative integer, got {size!r}")
        self.size = int(size)
        self.images = None  # (size, C, H, W) on the images' device, the first ``count`` filled
        self.count = 0

    def __len__(self):
        return self.count

    def query(self, fakes):
        """A batch of the same shape as ``fakes`` (a Tensor, treated as a constant), mixing the new
        images with stored ones as described above; the buffer is updated in place."""
        data = fakes.data if isinstance(fakes, Tensor) else fakes
        if self.size == 0:
            return Tensor(data)
        xp = backend.array_module(data)
        if self.images is None:
            self.images = xp.zeros((self.size,) + tuple(data.shape[1:]), dtype=data.dtype)
        elif self.images.shape[1:] != data.shape[1:]:
            raise ValueError(f"HistoryBuffer.query: fakes: expected images of shape {self.images.shape[1:]}, "
                             f"got {tuple(data.shape[1:])}")
        n = data.shape[0]
        coins = random.rand(n, device="cpu", dtype="float64")
        picks = random.randint(0, self.size, (n,), device="cpu")
        out = data.copy()
        for i in range(n):
            if self.count < self.size:
                self.images[self.count] = data[i]
                self.count += 1
            elif coins[i] < 0.5:
                j = int(picks[i])
                out[i] = self.images[j]
                self.images[j] = data[i]
        return Tensor(out)

    def state_dict(self):
        """{"count": int, "images": the stored images (count, C, H, W)} (arrays on the host)."""
        if self.images is None:
            return {"count": 0}
        return {"count": self.count, "images": backend.to_numpy(self.images[:self.count]).copy()}

    def load_state_dict(self, state, device="cpu"):
        count = int(state.get("count", 0))
        if not 0 <= count <= self.size:
            raise ValueError(f"HistoryBuffer: state: count: expected 0..{self.size}, got {count}")
        self.count = count
        if count == 0:
            self.images = None
            return
        stored = np.asarray(state["images"])
        if stored.shape[0] != count:
            raise ValueError(f"HistoryBuffer: state: images: expected {count} images, got shape {stored.shape}")
        images = np.zeros((self.size,) + stored.shape[1:], dtype=stored.dtype)
        images[:count] = stored
        self.images = backend.to_device(images, device)


__all__ = ["HistoryBuffer"]
