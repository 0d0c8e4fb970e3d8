"""tinygan.kernels: every registered kernel gives the textbook's numbers, and switching them off
or importing tinygan changes nothing else in the process.

The equivalence test enumerates the registry: each kernel is run on the examples it was
registered with, and its values and gradients are compared with the textbook's (the same call
with every kernel off). A new kernel is tested by being registered. Each example runs

* in float32 and float64,
* with every input in four memory layouts: row-major, column-major (every axis reversed), batch
  innermost (axis 0 moved innermost, as tinygan's convolutions store their activations), and a
  strided slice of a larger array,
* whole, and split over two threads with every size threshold lowered to one element,

and gives the textbook's values to float rounding: within ``TOLERANCE[dtype]`` times the largest
magnitude of the textbook's array (float32: 1e-5, about 80 units in the last place; float64:
1e-12), elementwise. What differs between the two is only the order of summation (a product
split by rows, a mean per block of channels) and an algebraically equal arrangement (Adam's bias
corrections folded into two scalars).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, kernels, nn
from tinygan import tensor as engine
from tinygan.kernels import allocator, pool

from helpers import tensor, to_np

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
LAYOUTS = ["row-major", "column-major", "batch-innermost", "sliced"]
TABLES = {"forward": engine._forward_kernels, "backward": engine._backward_kernels, "step": engine._step_kernels}


def _classes():
    seen = []
    for cls, _, _ in kernels.registered():
        if cls not in seen:
            seen.append(cls)
    return seen


CASES = [(cls, i) for cls in _classes() for i in range(len(kernels.examples(cls)))]


def in_layout(a, layout):
    """``a`` (a NumPy array) with the same values, stored in ``layout``."""
    if layout == "row-major":
        return np.ascontiguousarray(a)
    if layout == "column-major":
        return np.asfortranarray(a)
    if layout == "batch-innermost":
        return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 0, -1)), -1, 0)
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
    view = big[tuple(slice(1, None, 2) for _ in a.shape)]
    view[...] = a
    return view


@pytest.fixture
def only_kernels_of(monkeypatch):
    """only_kernels_of(cls): every kernel off but those of ``cls``, each counting the calls it
    applied to (did not decline); returns the counts by kind."""
    previous = kernels.enabled(False)

    def install(cls):
        applied = {}
        for klass, kind, kernel in kernels.registered():
            if klass is cls:
                applied[kind] = 0

                def counted(*args, kernel=kernel, kind=kind):
                    result = kernel(*args)
                    applied[kind] += result is not NotImplemented
                    return result
                monkeypatch.setitem(TABLES[kind], cls, counted)
        return applied
    yield install
    for table in TABLES.values():
        table.clear()
    kernels.enabled(previous)


@pytest.fixture
def split_everything(monkeypatch):
    """Two threads, and every operation big enough to be split over them."""
    before = pool.get_num_threads()
    for name in ("MIN_SIZE", "MIN_FLOPS", "MIN_ROWS"):
        monkeypatch.setattr(pool, name, 1)
    pool.set_num_threads(2)
    yield
    pool.set_num_threads(before)


def run_example(cls, example, dtype, layout, device, seed=0):
    """The example's outputs and input gradients (a Function's), or its parameters and buffers
    after three steps (an optimizer's), as NumPy arrays."""
    rng = np.random.default_rng(seed)
    arrays = [in_layout(rng.standard_normal(shape).astype(dtype), layout) for shape in example.shapes]
    if issubclass(cls, tg.optim.Optimizer):
        params = [nn.Parameter(backend.to_device(a, device)) for a in arrays]
        opt = example.call(params)
        for _ in range(3):  # the first step makes the buffers; the later ones update them
            for p in params:
                p.grad = tg.Tensor(backend.to_device(in_layout(rng.standard_normal(p.shape).astype(dtype), layout),
                                                     device))
            opt.step()
        return [to_np(p) for p in params] + [to_np(v) for state in opt.state for v in state.values()]
    inputs = [tg.Tensor(backend.to_device(a, device), requires_grad=True) for a in arrays]
    out = example.call(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    differentiable = [o for o in outs if o.requires_grad]
    gys = [tensor(in_layout(rng.standard_normal(o.shape).astype(dtype), layout), device) for o in differentiable]
    grads = tg.grad(differentiable, inputs, gys, allow_unused=True)
    return [to_np(o) for o in outs] + [None if g is None else to_np(g) for g in grads]


def assert_close(got, expected, dtype, what):
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        if b is None:
            assert a is None, f"{what}, result {i}: the textbook gives no gradient, the kernel does"
            continue
        assert a.dtype == b.dtype, f"{what}, result {i}: dtype {a.dtype}, the textbook's {b.dtype}"
        scale = max(float(np.abs(b).max()), 1e-30) if b.size else 1.0
        np.testing.assert_allclose(a, b, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale,
                                   err_msg=f"{what}, result {i}")


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("cls,index", CASES, ids=[f"{cls.__name__}-{i}" for cls, i in CASES])
def test_kernel_gives_the_textbooks_values_and_gradients(cls, index, dtype, layout, split, device, only_kernels_of,
                                                         request):
    if split:
        request.getfixturevalue("split_everything")
    example = kernels.examples(cls)[index]
    expected = run_example(cls, example, dtype, layout, device)  # every kernel off
    applied = only_kernels_of(cls)
    got = run_example(cls, example, dtype, layout, device)
    assert_close(got, expected, dtype, f"{cls.__name__} kernels {sorted(applied)} on example {index}")


@pytest.mark.parametrize("cls", _classes(), ids=lambda c: c.__name__)
def test_every_registered_kernel_applies_to_one_of_its_examples(cls, only_kernels_of, split_everything):
    """So that the test above compares each kernel, and not only the textbook with itself, in
    one case at least (row-major inputs on the CPU, split: a kernel may decline other layouts,
    GPU arrays or small sizes)."""
    applied = only_kernels_of(cls)
    for example in kernels.examples(cls):
        run_example(cls, example, np.float64, "row-major", "cpu")
    assert all(applied.values()), f"{cls.__name__}: kernels that none of its examples exercised: " \
                                  f"{[k for k, n in applied.items() if not n]}"


def test_the_registry_lists_the_fast_paths_of_a_gan_step():
    names = {(cls.__name__, kind) for cls, kind, _ in kernels.registered()}
    for name in ("Linear", "BatchNorm", "Conv2d", "ConvTranspose2d", "Tanh", "ReLU", "LeakyReLU"):
        assert (name, "forward") in names and (name, "backward") in names
    assert ("Adam", "step") in names and ("RMSprop", "step") in names


def test_register_asks_for_examples():
    class Cube(tg.Function):
        def forward(self, x):
            return x * x * x

    with pytest.raises(ValueError, match="register: examples: expected at least one Example for Cube's kernels"):
        kernels.register(Cube, forward=lambda fn, x: x * x * x, examples=[])
    assert not any(cls is Cube for cls, _, _ in kernels.registered())


def test_enabled_switches_the_engine_tables(kernels_on):
    assert kernels.enabled() is True
    assert engine._forward_kernels and engine._backward_kernels and engine._step_kernels
    assert kernels.enabled(False) is True  # the previous state
    assert kernels.enabled() is False
    assert not engine._forward_kernels and not engine._backward_kernels and not engine._step_kernels
    x = tg.Tensor(np.linspace(-2, 2, 12).reshape(3, 4), requires_grad=True)
    tg.tanh(x).sum().backward()  # the textbook alone
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh(x.numpy()) ** 2, rtol=1e-12)
    assert kernels.enabled(True) is False
    assert set(engine._forward_kernels) == {cls for cls, kind, _ in kernels.registered() if kind == "forward"}
    with pytest.raises(TypeError, match="enabled: flag: expected True, False or None, got 'off'"):
        kernels.enabled("off")


def test_a_kernel_that_declines_leaves_the_call_to_the_textbook(kernels_on):
    """leaky_relu's forward kernel computes max(x, slope x), which is the function only for a
    slope in [0, 1]; for another slope it declines and the textbook's where() runs."""
    x = tg.Tensor(np.array([-2.0, -0.5, 0.0, 1.5]))
    np.testing.assert_array_equal(tg.leaky_relu(x, 1.5).numpy(), [-3.0, -0.75, 0.0, 1.5])
    np.testing.assert_array_equal(tg.leaky_relu(x, 0.2).numpy(), [-0.4, -0.1, 0.0, 1.5])


@pytest.mark.parametrize("value,expected", [("0", False), ("off", False), ("1", True), ("", True), ("ON", True)])
def test_the_environment_sets_the_starting_state(monkeypatch, value, expected):
    monkeypatch.setenv("TINYGAN_KERNELS", value)
    assert kernels._from_environment() is expected


def test_a_wrong_environment_value_is_refused(monkeypatch):
    monkeypatch.setenv("TINYGAN_KERNELS", "fast")
    with pytest.raises(ValueError, match=r"TINYGAN_KERNELS: expected 0 \(off\) or 1 \(on\), got 'fast'"):
        kernels._from_environment()


def test_linear_keeps_a_batch_innermost_layout(kernels_on, rng):
    """A flattened convolution activation is column-major (N, F): the Linear kernels give y and dx
    column-major too (computed transposed), with the textbook's values."""
    x = np.asfortranarray(rng.standard_normal((6, 5)))
    w, b = rng.standard_normal((3, 5)), rng.standard_normal(3)
    xt = tg.Tensor(x, requires_grad=True)
    y = tg.linear(xt, tg.Tensor(w), tg.Tensor(b))
    (gx,) = tg.grad(y, [xt], tg.Tensor(rng.standard_normal((6, 3))))
    np.testing.assert_allclose(y.numpy(), x @ w.T + b, rtol=1e-12)
    assert y.data.flags.f_contiguous and gx.data.flags.f_contiguous


def test_first_use_tunes_malloc_and_switching_off_restores_it(monkeypatch, kernels_on):
    calls = []
    kernels.enabled(False)  # what an earlier test tuned is put back first
    monkeypatch.setattr(allocator, "_mallopt", lambda: lambda param, value: calls.append((param, value)) or 1)
    kernels.enabled(True)
    assert calls == []  # switching on changes nothing yet
    tg.tanh(tg.Tensor(np.ones(3)))
    assert calls == [(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD_MAX),
                     (allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD)]
    tg.tanh(tg.Tensor(np.ones(3)))
    assert len(calls) == 2  # once
    kernels.enabled(False)
    assert calls[2:] == [(allocator.M_MMAP_THRESHOLD, allocator.DEFAULT_THRESHOLD),
                         (allocator.M_TRIM_THRESHOLD, allocator.DEFAULT_THRESHOLD)]


def test_switching_off_gives_blas_its_threads_back(kernels_on, split_everything):
    blas = pool._blas
    a = np.ones((64, 64), dtype=np.float32)
    tg.Tensor(a) @ tg.Tensor(a)  # a split product: the pool starts, BLAS goes to one thread
    if not blas.found:
        pytest.skip("this NumPy's BLAS is not OpenBLAS: its threads are left alone")
    original = blas.original
    assert blas.get() == 1 and original is not None
    kernels.enabled(False)
    assert blas.get() == original and pool._pool is None


IMPORT_PROBE = r"""
import ctypes, glob, json, os, sys
import numpy as np

symbols = []
sys.addaudithook(lambda event, args: symbols.append(args[1]) if event == "ctypes.dlsym" else None)

def blas_threads():
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*"))):
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
            if hasattr(lib, name):
                getattr(lib, name).restype = ctypes.c_int
                return getattr(lib, name)()
    return None

before = blas_threads()
import tinygan
print(json.dumps({"before": before, "after": blas_threads(), "symbols": [s for s in symbols if isinstance(s, str)]}))
"""


def test_importing_tinygan_changes_neither_malloc_nor_the_blas_threads():
    """In a fresh process: no mallopt and no BLAS thread setting is even looked up during
    ``import tinygan`` (ctypes reports every symbol lookup to audit hooks), and OpenBLAS's thread
    count reads the same after the import as before."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", TINYGAN_KERNELS="1")
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=env, check=True, capture_output=True, text=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == seen["after"]
    assert not [s for s in seen["symbols"] if s == "mallopt" or "set_num_threads" in s], seen["symbols"]


def test_the_textbook_names_no_kernel_and_the_engine_names_them_in_one_section():
    """ops/, nn/ and optim.py hold the maths only; tensor.py consults the kernels in its
    "Kernels" section and nowhere else."""
    root = os.path.dirname(tg.__file__)
    textbook = [os.path.join(root, "optim.py")] + [os.path.join(root, d, f) for d in ("ops", "nn")
                                                    for f in sorted(os.listdir(os.path.join(root, d))) if f.endswith(".py")]
    for path in textbook:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                assert not any(word in line for word in ("parallel", "_allocator", "kernels")), f"{path}:{number}: {line}"
    with open(os.path.join(root, "tensor.py"), encoding="utf-8") as f:
        sections = f.read().split("# " + "-" * 94 + "\n# ")
    naming = [s.splitlines()[0] for s in sections if "kernels" in s]
    assert naming == ["Kernels: the one place where the engine hands work to tinygan.kernels"]
