"""tinygan.kernels.pool: work split over threads gives what the whole computation gives.

Every split path is forced on small arrays here (MIN_SIZE and MIN_FLOPS lowered to 1, two
threads), and compared with the same operation on one thread: exactly for elementwise work and
copies, to rounding for matrix products. Gradients through the split ops are gradient-checked.
The kernels are on in every test here, whatever the run's setting.
"""

import functools
import threading
import weakref

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.kernels import conv as C, optim as kernel_optim, pool
from tinygan.optim import Adam

from helpers import tensor, to_np


@pytest.fixture(autouse=True)
def _kernels(kernels_on):
    """The pool is the kernels' (a run with TINYGAN_KERNELS=0 checks it too)."""


@pytest.fixture
def split_everything(monkeypatch):
    """Two threads, and every operation big enough to be split."""
    before = pool.get_num_threads()
    monkeypatch.setattr(pool, "MIN_SIZE", 1)
    monkeypatch.setattr(pool, "MIN_FLOPS", 1)
    monkeypatch.setattr(pool, "MIN_ROWS", 1)
    pool.set_num_threads(2)
    yield
    pool.set_num_threads(before)


def one_thread(fn):
    before = pool.get_num_threads()
    pool.set_num_threads(1)
    try:
        return fn()
    finally:
        pool.set_num_threads(before)


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17])
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
def test_split_covers_the_range_in_balanced_non_empty_parts(n, parts):
    ranges = pool.split(n, parts)
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    sizes = [b - a for a, b in ranges]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert len(ranges) == min(parts, n)


def test_run_does_every_part_on_more_than_one_thread(split_everything):
    seen, names = [], set()

    def work(part):
        names.add(threading.current_thread().name)
        seen.append(part)
    parts = pool.split(10, 2)
    pool.run(work, parts)
    assert sorted(seen) == parts
    assert len(names) == 2


def test_run_waits_for_every_part_then_raises_the_error(split_everything):
    done = []

    def work(part):
        if part[0] == 0:
            raise ValueError("part zero failed")
        done.append(part)
    with pytest.raises(ValueError, match="part zero failed"):
        pool.run(work, pool.split(4, 2))
    assert done == [(2, 4)]  # the other part finished before the error came back


def test_run_gives_each_thread_a_share_of_more_parts_than_threads(split_everything):
    seen = []
    pool.run(seen.append, pool.split(10, 5))
    assert sorted(seen) == pool.split(10, 5)


def test_a_run_inside_a_part_runs_its_parts_in_turn_without_deadlock(split_everything):
    inner = []

    def outer(part):
        pool.run(lambda q: inner.append((part, q)), [(0, 1), (1, 2)])
    pool.run(outer, pool.split(2, 2))
    assert sorted(inner) == [((0, 1), (0, 1)), ((0, 1), (1, 2)), ((1, 2), (0, 1)), ((1, 2), (1, 2))]


def test_the_pool_keeps_no_reference_to_a_finished_part(split_everything):
    """A part's closure holds the operation's arrays: once run() returns they must be free."""
    def work(array, part):
        array[part[0]:part[1]].sum()
    data = np.ones(1000)
    alive = weakref.ref(data)
    pool.run(functools.partial(work, data), pool.split(1000, 2))  # bound, not a closure cell
    del data
    assert alive() is None


@pytest.mark.parametrize("threads", [2, 3])
def test_matmuls_equal_the_products_one_per_thread_or_each_split(split_everything, threads):
    """Two threads: each product whole on its own thread; three: each product split in turn."""
    pool.set_num_threads(threads)
    rng = np.random.default_rng(5)
    pairs = [(rng.standard_normal((6, 4)), rng.standard_normal((4, 5))),
             (rng.standard_normal((7, 6)).T, rng.standard_normal((7, 3))),
             (rng.standard_normal((5, 1)), rng.standard_normal((1, 4)))]  # an outer product
    for got, (a, b) in zip(pool.matmuls(*pairs), pairs):
        np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)


def test_adam_in_small_blocks_on_two_threads_equals_one_whole_update(split_everything, monkeypatch):
    """Parameters laid end to end, one range per thread, each range in blocks of 7 elements."""
    monkeypatch.setattr(kernel_optim, "UPDATE_BLOCK", 7)

    def steps():
        rng = np.random.default_rng(6)
        params = [nn.Parameter(rng.standard_normal(shape)) for shape in [(5, 4), (3,), (2, 9), (1,)]]
        opt = Adam(params, lr=0.1, betas=(0.5, 0.9))
        for _ in range(3):
            for p in params:
                p.grad = tg.Tensor(rng.standard_normal(p.shape))
            opt.step()
        return [p.data.copy() for p in params]
    for a, b in zip(steps(), one_thread(steps)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(7, 5, 3), (3, 5, 9), (6, 1, 4), (1, 4, 1)])
def test_matmul_split_by_rows_or_columns_equals_the_whole_product(split_everything, shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    np.testing.assert_allclose(pool.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pool.matmul(a.astype(np.float32), b.T.copy().T.astype(np.float32)),
                               (a @ b).astype(np.float32), rtol=1e-5, atol=1e-5)
    assert pool.matmul(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32


def test_chunks_in_blocks_equals_the_whole_operation(split_everything):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((13, 6))
    out = np.empty_like(x)
    calls = []

    def square(x, y):
        calls.append(x.shape)
        np.multiply(x, x, out=y)
    pool.chunks(square, x, out, block=12)
    np.testing.assert_array_equal(out, x * x)
    assert len(calls) >= 6 and sum(s[0] for s in calls) == 13  # blocks of two rows, none twice


def test_chunks_keeps_small_work_whole(monkeypatch):
    monkeypatch.setattr(pool, "MIN_SIZE", 1 << 30)
    parts = []
    x = np.ones((4, 3))
    pool.chunks(lambda a: parts.append(a.shape), x)
    assert parts == [(4, 3)]


def _step_results(device, model_fn, x_shape, seed=0):
    tg.manual_seed(seed)
    model = model_fn().to(device)
    opt = Adam(model.parameters(), lr=1e-2)
    x = tensor(np.random.default_rng(seed).standard_normal(x_shape), device)
    for _ in range(3):  # the first step makes Adam's buffers whole; the next ones are split
        opt.zero_grad()
        y = model(x)
        (y * y).mean().backward()
        opt.step()
    return [to_np(y)] + [to_np(p) for p in model.parameters()]


def dcgan_like():
    return nn.Sequential(nn.Conv2d(3, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.LeakyReLU(0.2),
                         nn.ConvTranspose2d(16, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 2, 3, 1, 1), nn.Tanh()).double()


def mlp_like():
    return nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.LeakyReLU(0.2), nn.Linear(32, 3)).double()


@pytest.mark.parametrize("model_fn,x_shape", [(dcgan_like, (4, 3, 8, 8)), (mlp_like, (6, 10))])
def test_training_steps_on_two_threads_equal_one_thread(device, split_everything, model_fn, x_shape):
    """Forward, backward and Adam through every split path (conv, batch-norm, activations,
    gradient sums, the optimizer), against the same steps with no splitting."""
    split = _step_results(device, model_fn, x_shape)
    whole = one_thread(lambda: _step_results(device, model_fn, x_shape))
    # A block of a matrix product may take another BLAS kernel than the whole (another order of
    # summation: round-off of 1e-16), which batch-norm's cancelling sums and Adam's division by
    # sqrt(v) magnify over three steps to ~1e-10; a wrong slice would be off by O(1).
    for a, b in zip(split, whole):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_split_ops_pass_the_gradient_checks(device, split_everything):
    rng = np.random.default_rng(3)
    x = tensor(rng.standard_normal((3, 4, 5, 5)), device, requires_grad=True)
    w = tensor(rng.standard_normal((4, 4, 3, 3)), device, requires_grad=True)
    wb, bb = tensor(rng.uniform(0.5, 1.5, 4), device, requires_grad=True), tensor(rng.standard_normal(4), device,
                                                                                  requires_grad=True)
    f = lambda x, w, wb, bb: tg.leaky_relu(tg.batch_norm(tg.conv2d(x, w, 1, 1), wb, bb), 0.2).tanh()  # noqa: E731
    assert tg.gradcheck(f, [x, w, wb, bb])
    assert tg.gradgradcheck(f, [x, w, wb, bb])


def test_conv_pieces_split_equal_whole(split_everything):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 9, 8))
    args = ((4, 4), (2, 2), (1, 1), (1, 1), (4, 4))
    cols = C.im2col(x, *args)
    g = rng.standard_normal((3, 6, 4, 4))
    w = rng.standard_normal((6, 5, 4, 4))
    pieces = (cols, C.col2im(cols, x.shape, *args), C.channels_first(x),
              C.conv_transpose(g, w, x.shape, (2, 2), (1, 1), (1, 1)))
    whole = one_thread(lambda: (C.im2col(x, *args), C.col2im(cols, x.shape, *args), C.channels_first(x),
                                C.conv_transpose(g, w, x.shape, (2, 2), (1, 1), (1, 1))))
    for a, b in zip(pieces, whole):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_convolutions_split_cpu_arrays_and_never_gpu_arrays(device, split_everything, monkeypatch):
    """On the CPU the convolution's pieces are split over the threads; GPU arrays are never handed
    to the pool's threads (CuPy's current stream and device belong to the calling thread)."""
    splits = []
    run = pool.run
    monkeypatch.setattr(pool, "run", lambda fn, parts: (splits.append(len(parts)), run(fn, parts)))
    rng = np.random.default_rng(5)
    x = tensor(rng.standard_normal((2, 16, 6, 6)), device, requires_grad=True)
    w = tensor(rng.standard_normal((16, 16, 4, 4)), device, requires_grad=True)
    y = tg.conv_transpose2d(tg.conv2d(x, w, 2, 1), w, 2, 1)
    (y * y).sum().backward()
    assert splits and (max(splits) > 1 if device == "cpu" else max(splits) == 1), splits


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="set_num_threads: n: expected a positive integer"):
            pool.set_num_threads(bad)


def test_the_thread_count_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TINYGAN_NUM_THREADS", "3")
    assert pool._default_threads() == 3
    monkeypatch.delenv("TINYGAN_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert pool._default_threads() == 1
    monkeypatch.setenv("TINYGAN_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="TINYGAN_NUM_THREADS: expected a positive integer, got 'many'"):
        pool._default_threads()


def test_one_thread_gives_blas_its_threads_back(split_everything):
    blas = pool._blas
    a = np.ones((64, 64), dtype=np.float32)
    pool.matmul(a, a)  # starts the pool: BLAS at one thread while tinygan splits
    if not blas.found:
        pytest.skip("this NumPy's BLAS is not OpenBLAS: its threads are left alone")
    original = blas.original
    assert blas.get() == 1
    pool.set_num_threads(1)
    assert blas.get() == original
