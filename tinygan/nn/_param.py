"""Making parameters of a given shape on a device, before an initialiser fills them."""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.nn.module import Parameter


def empty_parameter(shape, device=None, dtype=None):
    device = device or backend.get_default_device()
    dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
    return Parameter(backend.xp_for(device).zeros(shape, dtype=dtype))


def empty_buffer(shape, fill, device=None, dtype=None):
    device = device or backend.get_default_device()
    dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
    return backend.xp_for(device).full(shape, fill, dtype=dtype)


def positive_int(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {name}: expected a positive integer, got {value!r}")
    return int(value)
