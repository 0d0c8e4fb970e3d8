"""Small helpers shared by the tests."""

import numpy as np

from tinygan import Tensor, backend


def tensor(array, device="cpu", requires_grad=False, dtype=None):
    """A Tensor from a numpy array, on ``device``."""
    array = np.asarray(array) if dtype is None else np.asarray(array, dtype=dtype)
    return Tensor(backend.to_device(array, device), requires_grad=requires_grad)


def to_np(t):
    return t.numpy() if isinstance(t, Tensor) else backend.to_numpy(t)
