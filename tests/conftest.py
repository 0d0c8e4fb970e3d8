"""Test configuration: the device the suite runs on.

``pytest`` runs everything on the CPU. ``pytest --device cuda`` (or TINYGAN_TEST_DEVICE=cuda)
runs the same tests with every tensor on the GPU through CuPy; ``--device all`` runs both.
``--device fakecuda`` (or TINYGAN_TEST_DEVICE=fakecuda) needs no GPU: device "cuda" becomes a
CPU stand-in that keeps CuPy's rules (tests/fakecupy.py: no implicit conversion to NumPy, no
mixing with NumPy arrays, no NumPy-only routines), so every host/device slip fails in CI.
"""

import os

import numpy as np
import pytest

import tinygan
from tinygan import backend


def pytest_addoption(parser):
    parser.addoption("--device", action="store", default=os.environ.get("TINYGAN_TEST_DEVICE", "cpu"),
                     help="device to run the tests on: cpu, cuda, all, or fakecuda (device 'cuda' "
                          "played on the CPU by a stand-in with CuPy's rules, tests/fakecupy.py)")


def pytest_configure(config):
    if _fake(config):
        import fakecupy
        fakecupy.install()


def _fake(config):
    return config.getoption("--device") == "fakecuda"


def _devices(config):
    choice = config.getoption("--device")
    if choice not in ("cpu", "cuda", "all", "fakecuda"):
        raise pytest.UsageError(f"--device: expected cpu, cuda, all or fakecuda, got {choice!r}")
    if choice == "fakecuda":
        return ["cuda"]
    return ["cpu", "cuda"] if choice == "all" else [choice]


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        devices = _devices(metafunc.config)
        ids = ["fakecuda" if _fake(metafunc.config) else d for d in devices]
        metafunc.parametrize("device", devices, ids=ids)


def pytest_collection_modifyitems(config, items):
    if "cuda" in _devices(config) and not backend.gpu_available():
        raise pytest.UsageError("--device cuda: CuPy or a GPU is missing: " + _why_no_gpu())


def _why_no_gpu():
    try:
        backend.cupy_module()
    except RuntimeError as exc:
        return str(exc)
    return ""


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seed, on the CPU default device."""
    tinygan.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
