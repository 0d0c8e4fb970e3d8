"""Download the MNIST files from the public mirrors into the cache.

Each file is downloaded whole into memory (the largest is 10 MB), verified (IDX structure and
SHA-256 of its content, see ``catalog``), and only then written to the cache, atomically: the
cache never holds a partial or unverified file under a name the next run would trust. Mirrors
are tried in order with a short timeout, so a machine without internet fails in seconds.
"""

from __future__ import annotations

import sys
from http.client import HTTPException
from pathlib import Path
from urllib.request import urlopen

from tinygan.data.atomic import atomic_write
from tinygan.data.catalog import verify
from tinygan.data.errors import DataError, DownloadError

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
TIMEOUT_S = 10      # for the connection and for each read
CHUNK = 1 << 16
BAR_WIDTH = 30


def download(url, out=None):
    """The bytes at ``url``, with a progress bar on ``out`` (stderr by default)."""
    out = out or sys.stderr
    label = url.rsplit("/", 1)[-1]
    chunks, done = [], 0
    try:
        with urlopen(url, timeout=TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(CHUNK):
                chunks.append(chunk)
                done += len(chunk)
                out.write("\r" + _progress(label, done, total))
                out.flush()
    finally:
        if done:
            out.write("\n")
    if total and done != total:
        raise DownloadError(f"{url}: the connection closed after {done} of {total} bytes")
    return b"".join(chunks)


def _progress(label, done, total):
    if not total:
        return f"downloading {label} {done / 1e6:.1f} MB"
    filled = BAR_WIDTH * done // total
    return (f"downloading {label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{100 * done // total:3d}% {done / 1e6:.1f}/{total / 1e6:.1f} MB")


def fetch(name, directory):
    """Download ``name`` (e.g. ``"train-images-idx3-ubyte"``) from the first mirror with a verified
    copy, save it as ``directory/name.gz`` and return its array; ``DownloadError`` says why each
    mirror failed."""
    reasons = []
    for mirror in MIRRORS:
        url = f"{mirror}{name}.gz"
        try:
            data = download(url)
            array = verify(data, name, url)
        except (OSError, HTTPException, DataError) as exc:  # URLError, HTTPError, timeouts, cut-off reads
            reasons.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        with atomic_write(Path(directory) / f"{name}.gz") as f:
            f.write(data)
        return array
    raise DownloadError("; ".join(reasons))
