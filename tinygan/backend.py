"""The array-module switch: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op asks ``array_module(x)`` for the module that owns its input arrays, so the same code
runs on both devices ("the array module travels with the data"). CuPy is optional: it is
imported the first time something asks for the GPU, and a missing CuPy or a missing GPU is an
error that says what to install.

Devices are named ``"cpu"`` and ``"cuda"``. The default device comes from
``set_default_device`` or the ``TINYGAN_DEVICE`` environment variable; the default dtype is
float32 (float64 is only for gradient checks).
"""

from __future__ import annotations

import os

import numpy as np

DEVICES = ("cpu", "cuda")

_cupy = None            # the cupy module once imported successfully (or the module given to use_gpu_array_module)
_cupyx = None           # and its companion with scatter_add (cupyx)
_cupy_error = None      # why it could not be imported (an error message), once tried
_default_dtype = np.dtype(np.float32)
_default_device = None  # resolved lazily so that TINYGAN_DEVICE is read at first use


def _check_device_name(device):
    if device not in DEVICES:
        raise ValueError(f"device: expected one of {DEVICES}, got {device!r}")
    return device


def cupy_module():
    """Return the cupy module, or raise a RuntimeError that says how to get it working."""
    global _cupy, _cupyx, _cupy_error
    if _cupy is not None:
        return _cupy
    if _cupy_error is None:
        try:
            import cupy
        except ImportError as exc:  # CuPy is an optional extra
            _cupy_error = (
                f"device 'cuda' needs CuPy, which is not installed ({exc}). "
                "Install it with `pip install \"tinygan[gpu]\"` (a CuPy wheel for CUDA 12, "
                "cupy-cuda12x) or pick the CuPy wheel matching your CUDA version."
            )
        else:
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as exc:  # no driver, no GPU
                count, why = 0, f"{type(exc).__name__}: {exc}"
            else:
                why = "the CUDA runtime reports 0 devices"
            if count == 0:
                _cupy_error = (
                    f"device 'cuda' needs an NVIDIA GPU, but none is usable ({why}). "
                    "Use device 'cpu', or run on a machine with a GPU and a working driver."
                )
            else:
                import cupyx
                _cupy, _cupyx = cupy, cupyx
                return cupy
    raise RuntimeError(_cupy_error)


def use_gpu_array_module(module, extras=None):
    """Make ``module`` the array module of device 'cuda' in place of CuPy; ``None`` goes back
    to importing CuPy on first use.

    ``module`` must offer the part of CuPy's API that tinygan uses (``ndarray``, ``asarray``,
    ``get_array_module``, ``random.RandomState`` and the NumPy-like routines) and ``extras`` the
    part of cupyx (``scatter_add``). It exists for the test suite, which runs everything on a
    CPU stand-in that enforces CuPy's rules (tests/fakecupy.py, ``pytest --device fakecuda``);
    the library itself has no code path of its own for it.
    """
    global _cupy, _cupyx, _cupy_error
    if module is not None and not all(hasattr(module, a) for a in ("ndarray", "asarray", "get_array_module")):
        raise TypeError(f"use_gpu_array_module: expected a module with CuPy's API (ndarray, asarray, "
                        f"get_array_module), got {module!r}")
    if module is not None and not hasattr(extras, "scatter_add"):
        raise TypeError(f"use_gpu_array_module: extras: expected an object with scatter_add (cupyx's API), "
                        f"got {extras!r}")
    _cupy, _cupyx, _cupy_error = module, extras, None


def gpu_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        cupy_module()
    except RuntimeError:
        return False
    return True


def _gpu_module_for(x):
    """The GPU array module if ``x`` may be one of its arrays, else None. CuPy is imported at the
    first use of device 'cuda', so a CuPy array made by the user before that is recognised by
    its type's module, and CuPy is imported then."""
    if _cupy is None and type(x).__module__.partition(".")[0] == "cupy":
        cupy_module()
    return _cupy


def array_module(x):
    """The module (numpy or cupy) that owns array ``x``; numpy for anything that is not a cupy array."""
    if type(x) is np.ndarray or _gpu_module_for(x) is None:
        return np
    return _cupy.get_array_module(x)


def device_of(array):
    """'cpu' for a numpy array, 'cuda' for a cupy array."""
    if type(array) is np.ndarray or _gpu_module_for(array) is None or not isinstance(array, _cupy.ndarray):
        return "cpu"
    return "cuda"


def gpu_info():
    """What device 'cuda' is: ``{"gpu", "memory_gb", "cupy", "cuda_runtime", "cuda_driver"}`` (GPU 0's
    name and memory, CuPy's version, CUDA's versions as "12.4"). Raises ``cupy_module``'s error
    where CuPy or a GPU is missing."""
    xp = cupy_module()
    props = xp.cuda.runtime.getDeviceProperties(0)
    name = props["name"]  # bytes in CuPy
    return {"gpu": name.decode() if isinstance(name, bytes) else str(name),
            "memory_gb": round(props.get("totalGlobalMem", 0) / 2**30, 1),
            "cupy": getattr(xp, "__version__", "?"),
            "cuda_runtime": _cuda_version(xp.cuda.runtime.runtimeGetVersion()),
            "cuda_driver": _cuda_version(xp.cuda.runtime.driverGetVersion())}


def _cuda_version(number):
    """CUDA's integer version (12040) as text ("12.4")."""
    return f"{number // 1000}.{number % 1000 // 10}"


def xp_for(device):
    """The array module of a device name."""
    device = _check_device_name(device)
    return np if device == "cpu" else cupy_module()


def to_device(array, device):
    """Move (or keep) an array on ``device``; returns the same object when it is already there."""
    device = _check_device_name(device)
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return cupy_module().asarray(array)


def copy_to_device(value, device, dtype=None):
    """A new array on ``device`` (in ``dtype``, default: the value's) holding ``value``: a host or
    device array or a list. It never shares memory with ``value`` (load_state_dict's copies)."""
    device = _check_device_name(device)
    if device == "cpu" and device_of(value) != "cpu":
        host = value.get()  # already a fresh host copy
        return host if dtype is None else host.astype(dtype, copy=False)
    return xp_for(device).array(value, dtype=dtype)


def to_numpy(array):
    """A numpy array on the host, whatever the device."""
    return array if type(array) is np.ndarray else to_device(array, "cpu")


def get_default_device():
    global _default_device
    if _default_device is None:
        env = os.environ.get("TINYGAN_DEVICE", "cpu").strip() or "cpu"
        if env not in DEVICES:
            raise ValueError(f"TINYGAN_DEVICE: expected one of {DEVICES}, got {env!r}")
        _default_device = env
    return _default_device


def set_default_device(device):
    """Set the device new tensors and parameters go to when none is named."""
    global _default_device
    device = _check_device_name(device)
    if device == "cuda":
        cupy_module()  # fail now, with the install hint, not at the first op
    _default_device = device


def get_default_dtype():
    return _default_dtype


def set_default_dtype(dtype):
    """float32 (the default) or float64."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    _default_dtype = dtype


def scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices summed (np.add.at on either device)."""
    if type(target) is np.ndarray:
        np.add.at(target, index, values)
    else:
        cupy_module()
        _cupyx.scatter_add(target, index, values)
    return target
