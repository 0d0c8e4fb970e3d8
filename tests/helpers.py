"""Small helpers shared by the tests."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

from tinygan import Tensor, backend


def tensor(array, device="cpu", requires_grad=False, dtype=None):
    """A Tensor from a numpy array, on ``device``."""
    array = np.asarray(array) if dtype is None else np.asarray(array, dtype=dtype)
    return Tensor(backend.to_device(array, device), requires_grad=requires_grad)


def to_np(t):
    return t.numpy() if isinstance(t, Tensor) else backend.to_numpy(t)


SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name):
    """scripts/NAME.py as a module (with scripts/ on sys.path, for the scripts that import each other)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
