"""The CPU stand-in for CuPy (tests/fakecupy.py) must refuse what CuPy refuses; if it ever became
permissive, ``pytest --device fakecuda`` would stop catching host/device slips. These tests run
in every mode and use the module directly (installing it only where they say so)."""

import numpy as np
import pytest

import fakecupy as cp
import tinygan as tg
from tinygan import backend
from tinygan import random as tg_random


@pytest.fixture
def x():
    return cp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))


# -- no implicit conversion to NumPy ---------------------------------------------------------------


@pytest.mark.parametrize("convert", [np.asarray, np.array, np.ascontiguousarray, lambda a: np.array2string(a),
                                     lambda a: np.savez(__import__("io").BytesIO(), a=a),
                                     lambda a: np.asarray([a, a]), lambda a: np.float32(1) * np.ones(3) + a])
def test_implicit_conversion_to_numpy_is_refused(x, convert):
    refused = "Implicit conversion to a NumPy array is not allowed|Unsupported type|no implementation found"
    with pytest.raises(TypeError, match=refused):
        convert(x)


def test_the_refusal_is_cupys_message(x):
    for convert in (np.asarray, np.array, lambda a: np.asarray(a, dtype=np.float64), lambda a: np.ones(3)[a]):
        with pytest.raises(TypeError, match=r"Implicit conversion to a NumPy array is not allowed\. Please use "
                                            r"`\.get\(\)`"):
            convert(x)


def test_explicit_conversions_are_allowed(x):
    host = x.get()
    assert type(host) is np.ndarray and np.array_equal(host, np.arange(6).reshape(2, 3))
    host[0, 0] = 99  # a copy
    assert x[0, 0].item() == 0.0
    assert type(cp.asnumpy(x)) is np.ndarray
    assert float(x.sum()) == 15.0 and int(x[1, 2]) == 5 and x.max().item() == 5.0
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert "5." in repr(x) and f"{x.sum():.1f}" == "15.0"
    with pytest.raises(TypeError):
        float(x)  # more than one element, as in NumPy


# -- no mixing with host arrays --------------------------------------------------------------------


@pytest.mark.parametrize("mix", [lambda a, h: a + h, lambda a, h: h + a, lambda a, h: a * h, lambda a, h: h @ a.T,
                                 lambda a, h: a < h, lambda a, h: a == h, lambda a, h: cp.exp(h),
                                 lambda a, h: cp.maximum(a, h), lambda a, h: cp.concatenate([a, h]),
                                 lambda a, h: np.concatenate([a, h]), lambda a, h: cp.where(a > 1, a, h),
                                 lambda a, h: cp.exp(a, out=h), lambda a, h: cp.add(a, [1.0, 2.0, 3.0])])
def test_mixing_with_host_arrays_is_refused(x, mix):
    host = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="Unsupported type"):
        mix(x, host)


def test_in_place_update_from_a_host_array_is_refused(x):
    with pytest.raises(TypeError, match="Unsupported type"):
        x += np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray"):
        x[:] = np.ones((2, 3), np.float32)  # CuPy fills a basic slice from scalars only
    x[:, 0] = 7.0  # scalars are fine
    x[np.array([0, 1]), 1] = np.array([8.0, 9.0])  # index arrays and advanced-index values copy over, as in CuPy
    assert x.tolist() == [[7, 8, 2], [7, 9, 5]]


def test_scalars_mix_freely_and_keep_the_dtype(x):
    y = x * 2 + np.float32(1) - 0.5
    assert isinstance(y, cp.ndarray) and y.dtype == np.float32
    assert (x / np.float64(2.0)).dtype == np.float64  # NumPy's promotion rules, unchanged


# -- NumPy routines dispatch to the device, reductions stay there ------------------------------------


def test_numpy_functions_dispatch_to_the_device(x):
    for y in (np.exp(x), np.concatenate([x, x]), np.maximum(x, 1.0), np.sum(x, axis=0), np.linalg.norm(x)):
        assert isinstance(y, cp.ndarray)
    assert np.shape(x) == (2, 3)
    assert cp.get_array_module(x) is cp and cp.get_array_module(np.ones(2)) is np


def test_reductions_and_scalar_indexing_return_0d_device_arrays(x):
    for y in (x.sum(), x.max(), x.mean(), x[1, 2], cp.sum(x), np.max(x)):
        assert isinstance(y, cp.ndarray) and y.ndim == 0


# -- NumPy-only routines are absent ------------------------------------------------------------------


def test_numpy_only_routines_are_refused(x):
    with pytest.raises(TypeError):
        np.add.at(x, ([0, 0], [1, 1]), 1.0)
    assert not hasattr(cp.add, "at")
    with pytest.raises(TypeError):
        np.lib.stride_tricks.as_strided(x, shape=(2, 2), strides=(4, 4))
    with pytest.raises(TypeError):
        np.lib.stride_tricks.sliding_window_view(x, 2, axis=1)
    for name in ("lib.sliding_window_view", "savez", "load", "array2string", "vectorize", "fft"):
        with pytest.raises(AttributeError):
            getattr(cp, name)
    windows = cp.lib.stride_tricks.as_strided(x, shape=(2, 2), strides=(12, 4))  # CuPy has this one
    assert isinstance(windows, cp.ndarray) and windows.tolist() == [[0, 1], [3, 4]]


def test_looking_up_numpy_names_leaves_the_builtins_of_the_stand_in_alone(x):
    """`cp.any` and the like must not become globals of fakecupy, where they would shadow the
    builtins its own code calls (``any`` decides whether an index is advanced)."""
    for name in ("any", "all", "max", "min", "sum", "round"):
        assert callable(getattr(cp, name))
    with pytest.raises(ValueError, match="fill"):
        x[0] = np.ones(3, np.float32)
    np.any(x)  # NumPy's dispatch looks the name up too
    with pytest.raises(ValueError, match="fill"):
        x[0] = np.ones(3, np.float32)


def test_scatter_add_sums_repeated_indices_and_checks_the_dtype():
    a = cp.zeros(4, dtype=np.float32)
    cp.cupyx.scatter_add(a, cp.asarray(np.array([1, 1, 3])), cp.asarray(np.array([1.0, 2.0, 5.0], np.float32)))
    assert a.tolist() == [0, 3, 0, 5]
    with pytest.raises(TypeError, match="scatter_add only supports"):
        cp.cupyx.scatter_add(cp.zeros(4, dtype=np.int64), cp.asarray(np.array([1])), 1)
    with pytest.raises(TypeError):
        cp.cupyx.scatter_add(np.zeros(4, np.float32), [1], 1.0)


# -- the device: synchronisation, properties, memory pool (for the GPU scripts) -------------------------


def test_memory_pool_counts_live_buffers_and_keeps_its_peak():
    pool = cp.get_default_memory_pool()
    pool.free_all_blocks()
    base = pool.used_bytes()
    a = cp.zeros((1000,), dtype=np.float32)
    view, twice = a[10:], a * 2  # a view shares a's buffer; the product has its own
    assert pool.used_bytes() - base == 8000 and pool.total_bytes() >= pool.used_bytes()
    del a, view
    assert pool.used_bytes() - base == 4000  # the buffer went with its last view
    assert pool.total_bytes() - base >= 8000 and pool.free_bytes() >= 4000  # the pool keeps what it held
    pool.free_all_blocks()
    assert pool.total_bytes() == pool.used_bytes() and pool.free_bytes() == 0
    del twice


def test_device_api_has_cupys_names():
    cp.cuda.Device().synchronize()
    cp.cuda.Device(0).synchronize()
    with pytest.raises(ValueError, match="one device"):
        cp.cuda.Device(1)
    props = cp.cuda.runtime.getDeviceProperties(0)
    assert props["name"] == b"fakecuda (CPU stand-in)" and cp.cuda.runtime.getDeviceCount() == 1
    assert cp.cuda.runtime.runtimeGetVersion() == cp.cuda.runtime.driverGetVersion() == 0


# -- random: CuPy's API, its own stream ----------------------------------------------------------------


def test_random_state_has_cupys_api_and_its_own_stream():
    g = cp.random.RandomState(0)
    z = g.standard_normal(size=(3, 2), dtype=np.float32)
    assert isinstance(z, cp.ndarray) and z.dtype == np.float32 and z.shape == (3, 2)
    assert g.random_sample(size=(4,), dtype=np.float32).dtype == np.float32
    assert g.randint(0, 10, size=(5,), dtype=np.int64).dtype == np.int64
    assert sorted(g.permutation(5).tolist()) == [0, 1, 2, 3, 4]
    assert not hasattr(g, "integers") and not hasattr(g, "random")  # NumPy Generator names, not CuPy's
    host = np.random.Generator(np.random.PCG64(0)).standard_normal(size=(3, 2), dtype=np.float32)
    assert not np.array_equal(z.get(), host)
    assert np.array_equal(cp.random.RandomState(0).standard_normal(size=(3, 2), dtype=np.float32).get(), z.get())
    with pytest.raises(TypeError):
        g.standard_normal(size=2, dtype=np.int32)


# -- plugged into tinygan ----------------------------------------------------------------------------


def test_installed_stand_in_is_device_cuda(fake_cuda):
    assert cp.installed() and backend.gpu_available() and backend.xp_for("cuda") is cp
    t = tg.Tensor([1.0, 2.0], device="cuda")
    assert isinstance(t.data, cp.ndarray) and t.device == "cuda" and backend.array_module(t.data) is cp
    assert isinstance(tg_random.randn(2, device="cuda"), cp.ndarray)
    with pytest.raises(RuntimeError, match="one device"):
        t + tg.Tensor([1.0, 2.0], device="cpu")
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(t.data)
    assert type(t.numpy()) is np.ndarray


def test_use_gpu_array_module_checks_what_it_gets(monkeypatch):
    for name in ("_cupy", "_cupyx", "_cupy_error"):
        monkeypatch.setattr(backend, name, getattr(backend, name))
    with pytest.raises(TypeError, match="CuPy's API"):
        backend.use_gpu_array_module(np.random)
    with pytest.raises(TypeError, match="scatter_add"):
        backend.use_gpu_array_module(cp, None)
    backend.use_gpu_array_module(None)
    assert backend._cupy is None and backend._cupyx is None
