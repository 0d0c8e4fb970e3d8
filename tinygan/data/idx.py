"""The IDX file format of MNIST: read it strictly, write it.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the data in
C order. The magic is ``0x00 0x00 <dtype> <ndim>``; MNIST uses dtype ``0x08`` (uint8), so its
images are ``0x00000803`` (N x 28 x 28) and its labels ``0x00000801`` (N). The files usually
come gzip-compressed; a file is taken as gzip when it starts with the gzip magic ``1f 8b``.

Reading is strict because a damaged file must never become a silently shorter dataset: a bad
gzip stream, a wrong magic, a header promising more data than there is, or bytes left over
after the data, each raise ``DataError`` with the file's name in the message.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from tinygan.data.atomic import atomic_write
from tinygan.data.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
UINT8 = 0x08  # the only IDX dtype MNIST uses, and the only one read or written here


def decompress(data, source):
    """The IDX bytes inside ``data``: gunzipped when it starts with the gzip magic, else as is.

    ``source`` names the file in error messages.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # bad header or CRC, cut-off stream, bad deflate data
        raise DataError(f"{source}: corrupt gzip stream ({exc})") from exc


def parse_idx(raw, source, ndim=None):
    """The uint8 array held by the IDX bytes ``raw`` (an array that owns its memory).

    ``ndim`` (optional) is the number of dimensions expected, i.e. the magic number's last
    byte: 3 for MNIST images, 1 for labels. ``source`` names the file in error messages.
    """
    if len(raw) < 4:
        raise DataError(f"{source}: {len(raw)} bytes is too short for an IDX header (4-byte magic number)")
    magic = int.from_bytes(raw[:4], "big")
    expected = f"0x0000{UINT8:02X}{ndim:02X}" if ndim is not None else f"0x0000{UINT8:02X}NN"
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{source}: not an IDX file: magic number 0x{magic:08X}, expected {expected}")
    if raw[2] != UINT8:
        raise DataError(f"{source}: IDX dtype byte 0x{raw[2]:02X} is not supported, expected 0x{UINT8:02X} "
                        f"(uint8): magic number 0x{magic:08X}, expected {expected}")
    if raw[3] == 0 or (ndim is not None and raw[3] != ndim):
        raise DataError(f"{source}: IDX magic number 0x{magic:08X} is for {raw[3]}-dimensional data, expected {expected}")
    offset = 4 + 4 * raw[3]
    if len(raw) < offset:
        raise DataError(f"{source}: truncated IDX header: {raw[3]} dimensions need {offset} bytes, "
                        f"the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=raw[3], offset=4))
    size = math.prod(shape)  # Python ints: no overflow whatever the header says
    actual = len(raw) - offset
    if actual < size:
        raise DataError(f"{source}: truncated: the header promises shape {shape} ({size} bytes of data), "
                        f"the file holds {actual}")
    if actual > size:
        raise DataError(f"{source}: {actual - size} unexpected trailing bytes after the data of shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape).copy()


def read_idx(path, ndim=None):
    """Read a uint8 IDX file, gzip-compressed or not (see ``parse_idx`` for ``ndim``)."""
    path = Path(path)
    return parse_idx(decompress(path.read_bytes(), path), path, ndim)


def encode_idx(array):
    """The IDX bytes (header and data) of a uint8 array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array: expected a numpy array, got {type(array).__name__}")
    if array.dtype != np.uint8:
        raise TypeError(f"array: expected dtype uint8 (the IDX files here hold uint8), got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"array: an IDX file holds 1 to 255 dimensions, got shape {array.shape}")
    header = bytes([0, 0, UINT8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path, array):
    """Write a uint8 array as an IDX file, gzip-compressed when ``path`` ends with ``.gz``.

    The file is written atomically (see ``atomic``), and the gzip header carries no name or
    time stamp, so the same array always gives the same bytes.
    """
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with atomic_write(path) as f:
        f.write(data)
