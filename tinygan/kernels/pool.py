"""Threads on the CPU: one small pool, and the big array operations split over it.

NumPy runs each elementwise operation and each copy on one core. Its BLAS runs a matrix
product on several, but with threads of its own, and a GAN step is mostly operations of a few
hundred microseconds each: there BLAS's threads spend much of their time starting and waiting,
and while NumPy's elementwise work runs they wait for nothing. So tinygan splits the big
operations itself, the way one would by hand:

    parts = split(n, T)                  # T contiguous ranges of an independent axis
    run(lambda r: work(r), parts)        # T threads at once, this thread doing the first

NumPy releases the GIL inside its ufuncs, copies and BLAS calls, so the threads really run at
once. The axis is one along which the parts share nothing: the rows or columns of a matrix
product, the channels of a convolution or of batch-norm, the outermost axis in memory of an
elementwise operation. Each part computes exactly what the whole would have computed for it,
so results do not depend on the number of threads (to the last bit, except where a BLAS picks
another kernel for a smaller matrix).

When the pool first starts, BLAS is set to one thread per call (as ``torch.set_num_threads``
sets its own BLAS), and ``set_num_threads(1)`` or ``stop()`` (``tinygan.kernels.enabled(False)``)
gives BLAS its threads back. OpenBLAS's threads
spin for a while after each product; next to a pool of our own they only take the cores in
turns (measured on the 2-core DCGAN step: 209-219 ms with both sets of threads, 175-179 ms with
the pool alone). Small operations, below ``MIN_SIZE`` elements or ``MIN_FLOPS``, stay on the
calling thread, where a hand-over would cost more than it saves: a sleeping pool thread starts
its part 50-100 us after it is handed it on this VM (its idle CPU has to be woken), and the
caller, if it finishes first, is woken in turn. Independent products (a layer's dx and dW) go
to different threads whole (``matmuls``), and an optimizer step is one hand-over for all of its
parameters, so that a training step has few hand-overs. Arrays on the GPU are never split
(CuPy has its own parallelism).

The number of threads is ``TINYGAN_NUM_THREADS``, else ``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS`` when set, else the cores this process may use.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

from tinygan import backend

MIN_SIZE = 300_000     # elements: smaller elementwise work stays on one thread (its hand-over costs what it saves)
MIN_FLOPS = 1 << 22   # multiply-adds x 2: smaller matrix products stay on one thread
MIN_ROWS = 128        # rows per thread below which a product is split by columns (see matmul)

_threads = None       # the number of threads (resolved at first use)
_pool = None          # the _Pool of _threads - 1 workers, made at first use
_lock = threading.Lock()


# ----------------------------------------------------------------------------------------------
# How many threads
# ----------------------------------------------------------------------------------------------


def _default_threads():
    for name in ("TINYGAN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}") from None
            if n < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
            return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_num_threads():
    """The threads tinygan's big CPU operations are split over (1: no splitting)."""
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_num_threads(n):
    """Split big CPU operations over ``n`` threads (1 turns splitting off and gives BLAS back
    the threads it started with)."""
    global _threads, _pool
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"set_num_threads: n: expected a positive integer, got {n!r}")
    with _lock:
        if _pool is not None:
            _pool.shutdown()
            _pool = None
        _threads = n
        if n == 1:
            _blas.restore()


# ----------------------------------------------------------------------------------------------
# BLAS's own threads
# ----------------------------------------------------------------------------------------------


class _Blas:
    """OpenBLAS's thread count, through its C functions (NumPy's wheels bundle OpenBLAS).

    Found by looking for NumPy's bundled library; with another BLAS (MKL, Accelerate) nothing is
    found, and then matrix products are not split (BLAS keeps its own threads)."""

    NAMES = [("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads")]

    def __init__(self):
        self.set = self.get = None
        self.original = None
        self.found = False
        self._looked = False

    def _find(self):
        self._looked = True
        libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in sorted(glob.glob(os.path.join(libdir, "*openblas*"))):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for set_name, get_name in self.NAMES:
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    self.set, self.get = getattr(lib, set_name), getattr(lib, get_name)
                    self.set.argtypes, self.set.restype = [ctypes.c_int], None
                    self.get.argtypes, self.get.restype = [], ctypes.c_int
                    self.found = True
                    return

    def single(self):
        """One BLAS thread per call; True when BLAS is known to be at one thread now."""
        if not self._looked:
            self._find()
        if not self.found:
            return False
        if self.original is None:
            self.original = self.get()
        if self.get() != 1:
            self.set(1)
        return True

    def restore(self):
        if self.found and self.original is not None:
            self.set(self.original)
            self.original = None


_blas = _Blas()


# ----------------------------------------------------------------------------------------------
# Splitting work
# ----------------------------------------------------------------------------------------------


class _Worker:
    """One thread of the pool, handed one part at a time.

    Two plain locks make the hand-over, the cheapest one Python has: ``go`` is released when a
    part is ready, ``done`` when it is finished. (A ThreadPoolExecutor's queue and futures cost
    more: two halves of a 64k-element multiply took 74-89 us in all that way, 37-56 us this way.)"""

    def __init__(self, name):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job = None    # (fn, parts), or None to stop
        self.error = None
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            self.go.acquire()
            job, self.job = self.job, None
            if job is None:
                return
            try:
                for part in job[1]:
                    job[0](part)
            except BaseException as e:  # handed back to the caller of run()
                self.error = e
            # Drop the part's closure before sleeping: it holds the arrays of the operation (a
            # 20 MB column matrix, say), which would otherwise live on until the next hand-over.
            job = part = None
            self.done.release()

    def start(self, fn, parts):
        self.job, self.error = (fn, parts), None
        self.go.release()

    def wait(self):
        """Wait for the parts; the error, if any."""
        self.done.acquire()
        error, self.error = self.error, None
        return error

    def stop(self):
        self.job = None
        self.go.release()
        self.thread.join()


class _Pool:
    """``threads - 1`` workers; the thread calling run() does one share of the parts itself."""

    def __init__(self, threads):
        self.workers = [_Worker(f"tinygan-{i}") for i in range(threads - 1)]
        self.busy = threading.Lock()  # held while a run() uses the workers

    def shutdown(self):
        with self.busy:
            for w in self.workers:
                w.stop()


def stop():
    """Stop the pool's threads and give BLAS back its threads; a later split starts a new pool."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown()
            _pool = None
        _blas.restore()


def _forget_pool():
    """In a forked child the workers' threads do not exist: a new pool is made at first use."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _get_pool():
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _blas.single()
                _pool = _Pool(get_num_threads())
    return _pool


def split(n, parts):
    """``parts`` contiguous (start, stop) ranges covering range(n), as equal as can be (no empty one)."""
    parts = max(1, min(parts, n))
    base, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def run(fn, parts):
    """``fn(part)`` for every part, at once: with T threads, the calling thread does parts 0, T,
    2T, ... and each of the pool's threads one other such share. Waits for all of them; the
    first error is raised.

    A run() started while the pool is busy (from inside a part, or from another thread of the
    user's) does its parts one after the other on its own thread: the same results, no deadlock."""
    if len(parts) == 1:
        fn(parts[0])
        return
    pool = _get_pool()
    if not pool.workers or not pool.busy.acquire(blocking=False):
        for part in parts:
            fn(part)
        return
    try:
        t = min(len(parts), len(pool.workers) + 1)
        workers = pool.workers[:t - 1]
        for i, worker in enumerate(workers, start=1):
            worker.start(fn, parts[i::t])
        try:
            for part in parts[::t]:
                fn(part)
        finally:
            errors = [worker.wait() for worker in workers]  # no thread may still write after we return
    finally:
        pool.busy.release()
    for e in errors:
        if e is not None:
            raise e


def threads_for(size, minimum=None, blas=False, arrays=()):
    """How many threads ``size`` units of work (elements, or FLOPs) are worth: 1 below ``minimum``
    (default ``MIN_SIZE``). ``blas``: the parts call BLAS, so they may run at once only when BLAS
    is at one thread. ``arrays``: the arrays the work reads or writes; 1 when any is on the GPU
    (CuPy runs each kernel on the whole device, and its current stream and device belong to the
    calling thread)."""
    n = get_num_threads()
    if n == 1 or size < (MIN_SIZE if minimum is None else minimum) or not is_cpu(*arrays) \
            or (blas and not _blas.single()):
        return 1
    return n


def is_cpu(*arrays):
    return all(type(a) is np.ndarray for a in arrays)


# ----------------------------------------------------------------------------------------------
# The split operations
# ----------------------------------------------------------------------------------------------


def _whole(a, b):
    """a @ b of 2-D CPU arrays on this thread. An inner dimension of 1 is an outer product:
    NumPy's matmul takes a slow path (~15x) for it."""
    return np.multiply(a, b) if a.shape[1] == 1 else a @ b


def matmul(a, b):
    """a @ b for 2-D arrays, the result's rows or columns split over the threads.

    Each thread computes a block of rows (a[r] @ b) or of columns (a @ b[:, c]) of the result,
    written in place; every entry is the same dot product the whole product computes. Rows when
    there are at least as many as columns, or when ``a`` is a transposed (column-major) matrix
    of ``MIN_ROWS`` rows or more per thread, as in a weight gradient gy^T x: measured here at
    batch 64, its row split took 0.71-0.92x the time of its column split. (A thin one, the
    16 x 64 w^T of a one-channel transposed convolution, took 1.37x: thin row blocks are slow.)"""
    if a.ndim != 2 or b.ndim != 2 or not is_cpu(a, b):
        return a @ b
    m, k = a.shape
    n = b.shape[1]
    t = threads_for(2 * m * n * k, MIN_FLOPS, blas=True)
    if t == 1 or k == 1:
        return _whole(a, b)
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= n or (a.flags.f_contiguous and not a.flags.c_contiguous and m >= MIN_ROWS * t):
        run(lambda r: np.matmul(a[r[0]:r[1]], b, out=out[r[0]:r[1]]), split(m, t))
    else:
        run(lambda c: np.matmul(a, b[:, c[0]:c[1]], out=out[:, c[0]:c[1]]), split(n, t))
    return out


def matmuls(*pairs):
    """[a @ b for (a, b) in pairs]: independent products at once (the two gradients of a layer).

    With no more threads than products, each thread computes whole products (one BLAS call
    each, at one thread): a product split in two runs less efficiently than two whole ones (for
    a layer's dx and dW at batch 64, measured here: 4.5-4.9 ms for the pair together against
    5.3-5.4 ms for the two split one after the other). With more threads, each product is split.
    The calling thread computes the first product, and starts at once, while a pool thread
    starts some 50 us later (it has to be woken): so put the slowest product first."""
    if not is_cpu(*[a for pair in pairs for a in pair]) or any(a.ndim != 2 or b.ndim != 2 for a, b in pairs):
        return [a @ b for a, b in pairs]
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs)
    t = threads_for(flops, MIN_FLOPS, blas=True)
    if t == 1 or t > len(pairs):
        return [matmul(a, b) for a, b in pairs]
    out = [None] * len(pairs)

    def product(r):
        for i in range(r[0], r[1]):
            out[i] = _whole(*pairs[i])
    run(product, split(len(pairs), t))
    return out


def outer_axis(a):
    """The axis of ``a`` that is outermost in memory (largest stride), among those of size > 1."""
    best, stride = 0, -1
    for i in range(a.ndim):
        if a.shape[i] > 1 and abs(a.strides[i]) > stride:
            best, stride = i, abs(a.strides[i])
    return best


def chunks(fn, *arrays, axis=None, block=None):
    """``fn(*parts)`` on matching slices of ``arrays`` along ``axis``, one slice per thread.

    The arrays have one length along ``axis`` (default: the first array's outermost axis in
    memory, for arrays of one shape). ``fn`` writes its results into the slices it is given
    (``out=``); work smaller than ``MIN_SIZE`` elements, and GPU arrays, are passed whole.

    ``block``: each thread's slice is further cut into blocks of about that many elements, and
    ``fn`` runs on one block after the other, so that a chain of operations (an optimizer's
    dozen passes) re-reads its temporaries from the cache instead of from memory."""
    first = arrays[0]
    if first.size < MIN_SIZE and not block:  # the common small case, first and cheap
        fn(*arrays)
        return
    cpu = is_cpu(*arrays) and first.ndim
    t = threads_for(first.size) if cpu else 1
    if t == 1 and not (cpu and block and first.size > block):
        fn(*arrays)
        return
    axis = outer_axis(first) if axis is None else axis
    lead = (slice(None),) * axis
    length = first.shape[axis]
    step = max(1, block * length // first.size) if block else length

    def part(r):
        for start in range(r[0], r[1], step):
            index = lead + (slice(start, min(start + step, r[1])),)
            fn(*[a[index] for a in arrays])
    run(part, split(length, t))


def elementwise(fn, *inputs):
    """``out = fn(*inputs)`` computed block by block: ``fn(*input_blocks, out_block)`` writes
    each block of ``out`` (an array like ``inputs[0]``, in its memory order)."""
    out = backend.array_module(inputs[0]).empty_like(inputs[0])
    chunks(fn, *inputs, out)
    return out
