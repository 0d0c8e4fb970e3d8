"""The four MNIST files: their names, how copies spell them, and the checksum of their content.

The checksums are SHA-256 digests of the *decompressed* IDX bytes. The ``.gz`` bytes differ
between copies (each mirror, or a re-compressed local copy, makes its own gzip wrapper); the
IDX content inside is canonical, so that is what is checked, whatever the source.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tinygan.data.errors import DataError
from tinygan.data.idx import decompress, parse_idx

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NAMES = SPLITS["train"] + SPLITS["test"]

SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def ndim_of(name):
    """3 for an images file (N x 28 x 28), 1 for a labels file (N)."""
    return 3 if "-images-" in name else 1


def spellings(name):
    """The file names a copy of ``name`` may have, in the order they are looked for.

    The mirrors call it ``train-images-idx3-ubyte.gz``; other copies (the shared one among
    them) ``train-images.idx3-ubyte.gz``; either may also be stored uncompressed.
    """
    dotted = name.replace("-idx", ".idx")
    return (name + ".gz", name, dotted + ".gz", dotted)


def verify(data, name, source):
    """The array in ``data`` (the bytes of a copy of the file ``name``), checked against MNIST.

    The IDX structure is checked first (so a damaged file says how it is damaged), then the
    SHA-256 of the decompressed content. ``source`` names the copy in error messages.
    """
    raw = decompress(data, source)
    array = parse_idx(raw, source, ndim_of(name))
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[name]:
        raise DataError(f"{source}: checksum mismatch: the SHA-256 of its decompressed content is {digest}, "
                        f"the canonical {name} has {SHA256[name]} (a damaged or different file)")
    return array


def read_verified(path, name):
    """Read the file at ``path`` as a copy of ``name`` and verify it (see ``verify``)."""
    path = Path(path)
    return verify(path.read_bytes(), name, path)
