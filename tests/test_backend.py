"""The backend: devices, dtypes, seeding, and the errors for a missing GPU or mixed devices."""

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend
from tinygan import random as tg_random

from helpers import tensor


def test_tensor_basics():
    t = tg.Tensor([[1, 2], [3, 4.5]])
    assert t.shape == (2, 2) and t.dtype == np.float32 and t.device == "cpu" and t.ndim == 2
    assert t.item if t.size == 4 else False
    assert tg.Tensor(3.5).item() == 3.5
    assert tg.Tensor(np.arange(3)).dtype == np.int64  # an array keeps its dtype
    assert tg.Tensor(np.zeros(2), dtype=np.float32).dtype == np.float32
    assert "requires_grad=True" in repr(tg.Tensor([1.0], requires_grad=True))


def test_tensor_rejects_bad_data():
    with pytest.raises(TypeError, match="only floating-point"):
        tg.Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="got a Tensor"):
        tg.Tensor(tg.Tensor([1.0]))
    with pytest.raises(ValueError, match="device"):
        tg.Tensor([1.0], device="tpu")
    with pytest.raises(ValueError, match="one element"):
        tg.Tensor([1.0, 2.0]).item()


def test_array_module_travels_with_data(device):
    x = tensor(np.ones(3, np.float32), device)
    xp = backend.array_module(x.data)
    assert xp is backend.xp_for(device)
    assert tg.exp(x).device == device


def test_default_device_from_environment(monkeypatch):
    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("TINYGAN_DEVICE", "cpu")
    assert backend.get_default_device() == "cpu"
    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("TINYGAN_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="TINYGAN_DEVICE"):
        backend.get_default_device()
    monkeypatch.setattr(backend, "_default_device", None)


def test_missing_gpu_explains_what_to_install(monkeypatch):
    """Without CuPy (or without a GPU) asking for 'cuda' says what is missing and how to fix it."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", None)
    import builtins
    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name == "cupy" or name.startswith("cupy."):
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cupy)
    with pytest.raises(RuntimeError, match=r"pip install \"tinygan\[gpu\]\""):
        tg.Tensor([1.0], device="cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        tg.set_default_device("cuda")
    assert tg.get_default_device() == "cpu"


def _stand_in_cupy(monkeypatch):
    """Modules named cupy and cupyx (one GPU, an ndarray type, scatter_add recording its calls)
    in sys.modules, and tinygan's backend as before its first use of device 'cuda'."""
    import sys
    import types

    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    cupy.ndarray = type("ndarray", (), {"__module__": "cupy"})
    cupy.get_array_module = lambda x: cupy if isinstance(x, cupy.ndarray) else np
    cupyx = types.ModuleType("cupyx")
    cupyx.calls = []
    cupyx.scatter_add = lambda target, index, values: cupyx.calls.append((target, index, values))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupyx", None)
    monkeypatch.setattr(backend, "_cupy_error", None)
    return cupy, cupyx


def test_cupy_import_also_keeps_cupyx_for_scatter_add(monkeypatch):
    """The first use of device 'cuda' imports cupy and cupyx: an index gradient with repeated
    indices (scatter_add) needs cupyx."""
    cupy, cupyx = _stand_in_cupy(monkeypatch)
    assert backend.cupy_module() is cupy
    target = object()  # not a NumPy array: the GPU path
    assert backend.scatter_add(target, [0, 0], [1.0, 2.0]) is target
    assert cupyx.calls == [(target, [0, 0], [1.0, 2.0])]


def test_a_cupy_array_made_before_tinygans_first_gpu_use_is_on_cuda(monkeypatch):
    """CuPy is imported lazily; an array the user made with it first is still a 'cuda' array
    (not handed to NumPy, which CuPy refuses)."""
    cupy, _ = _stand_in_cupy(monkeypatch)
    a = cupy.ndarray()
    assert backend.device_of(a) == "cuda"
    assert backend.array_module(a) is cupy
    assert backend.device_of(np.zeros(2)) == "cpu" and backend.array_module([1.0]) is np


def test_gpu_info_names_the_gpu_and_the_versions(monkeypatch):
    cupy, _ = _stand_in_cupy(monkeypatch)
    cupy.__version__ = "13.3.0"
    props = {"name": b"NVIDIA H100 80GB HBM3", "totalGlobalMem": 85_045_870_592, "major": 9, "minor": 0}
    cupy.cuda.runtime.getDeviceProperties = lambda device: props
    cupy.cuda.runtime.runtimeGetVersion = lambda: 12060
    cupy.cuda.runtime.driverGetVersion = lambda: 12080
    assert backend.gpu_info() == {"gpu": "NVIDIA H100 80GB HBM3", "memory_gb": 79.2, "cupy": "13.3.0",
                                  "cuda_runtime": "12.6", "cuda_driver": "12.8"}


def test_gpu_info_without_a_gpu_says_what_is_missing(monkeypatch):
    cupy, _ = _stand_in_cupy(monkeypatch)
    cupy.cuda.runtime.getDeviceCount = lambda: 0
    with pytest.raises(RuntimeError, match="needs an NVIDIA GPU"):
        backend.gpu_info()


def test_mixing_devices_is_an_error():
    if not backend.gpu_available():
        pytest.skip("needs a second device: --device cuda on a machine with a GPU, or --device fakecuda")
    a = tg.Tensor([1.0, 2.0], device="cpu")
    b = tg.Tensor([1.0, 2.0], device="cuda")
    with pytest.raises(RuntimeError, match="one device"):
        a + b


def test_to_device_round_trip_and_gradient(device):
    x = tensor(np.array([1.0, 2.0], np.float32), "cpu", requires_grad=True)
    y = x.to(device)
    assert y.device == device
    (y * 3.0).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_manual_seed_fixes_draws(device):
    tg.manual_seed(7)
    a = backend.to_numpy(tg_random.randn(3, 4, device=device))
    b = backend.to_numpy(tg_random.rand(5, device=device))
    tg.manual_seed(7)
    np.testing.assert_array_equal(a, backend.to_numpy(tg_random.randn(3, 4, device=device)))
    np.testing.assert_array_equal(b, backend.to_numpy(tg_random.rand(5, device=device)))
    assert a.dtype == np.float32
    tg.manual_seed(8)
    assert not np.array_equal(a, backend.to_numpy(tg_random.randn(3, 4, device=device)))


def test_rng_state_round_trip():
    tg.manual_seed(3)
    tg_random.randn(10, device="cpu")
    state = tg_random.get_rng_state()
    expected = tg_random.randn(4, device="cpu")
    tg_random.randn(100, device="cpu")
    tg_random.set_rng_state(state)
    np.testing.assert_array_equal(tg_random.randn(4, device="cpu"), expected)


def test_manual_seed_rejects_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        tg.manual_seed(-1)
    with pytest.raises(ValueError, match="seed"):
        tg.manual_seed(1.5)


def test_default_dtype():
    backend.set_default_dtype(np.float64)
    try:
        assert tg.Tensor([1.0]).dtype == np.float64
    finally:
        backend.set_default_dtype(np.float32)
    with pytest.raises(ValueError, match="float32 or float64"):
        backend.set_default_dtype(np.int32)
