"""Moving a tensor between devices and changing its dtype, both differentiable."""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.tensor import Function


class ToDevice(Function):
    """y = x on another device; the gradient travels back to x's device."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return to_device(gy, self.src)


def to_device(x, device):
    x = as_tensor(x)
    backend._check_device_name(device)
    if x.device == device:
        return x
    return ToDevice(device)(x)


class AsType(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return astype(gy, self.src)


def astype(x, dtype):
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    return AsType(dtype)(x)
