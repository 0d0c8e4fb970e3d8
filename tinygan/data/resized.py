"""MNIST at another resolution: each batch of a DataLoader resized on the device as it is drawn.

    loader = ResizedLoader(DataLoader(images, labels, batch_size=64), size=64)   # (64, 1, 64, 64)

Resizing per batch (two small matrix products, ``tinygan.ops.resize``) keeps the stored set at
28x28: MNIST at 64x64 in float32 would take 1 GB. The wrapped loader keeps the order, the epochs
and the resume state; this wrapper only adds the interpolation (bilinear by default).
"""

from __future__ import annotations

from tinygan.ops.resize import MODES, resize
from tinygan.tensor import no_grad


class ResizedLoader:
    """Iterate over ``(resize(x, size, mode), y)`` for the batches ``(x, y)`` of ``loader``."""

    def __init__(self, loader, size, mode="bilinear"):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size: expected a positive integer, got {size!r}")
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
        self.loader, self.size, self.mode = loader, size, mode

    def __iter__(self):
        for x, y in self.loader:
            with no_grad():
                big = resize(x, self.size, self.mode)
            yield big, y  # outside no_grad: the training step that consumes it records its graph

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):  # epoch, batch, batch_size, state_dict, load_state_dict: the wrapped loader's
        if name == "loader":
            raise AttributeError(name)
        return getattr(self.loader, name)


__all__ = ["ResizedLoader"]
