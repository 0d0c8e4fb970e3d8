"""tinygan.kernels: the fast paths, kept apart from the maths they speed up.

tinygan's ops are written to be read (``tinygan/ops``, ``tinygan/optim.py``): each Function's
forward is the plain formula, its backward one Tensor expression, Adam the paper's update. This
package holds what makes them fast, each piece registered against the class it speeds up:

    activation.py   tanh, relu and leaky_relu, forward and backward, block by block over the threads
    linear.py       Linear and MatMul: products split over the threads, a layer's dW and dx at once,
                    results in the memory order of the input; a big Add split over the threads
    norm.py         batch-norm's fused forward and backward (channels split over the threads) and
                    normalize's backward on the saved statistics
    conv.py         the three convolutions: im2col by kernel position, banded column matrices, the
                    transposed direction fused, col2im by channel; a convolution's column matrix
                    shared by its forward and its weight gradient
    upsample.py     nearest up-sampling and its adjoint, results in the input's memory order
    layout.py       feature maps reshaped from a flat array stored channels-first, as the
                    convolutions store theirs
    optim.py        Adam and RMSprop: all the parameters' updates fused, in cache-sized blocks,
                    one hand-over to the threads per step
    pool.py         the thread pool that all of them split their work over
    allocator.py    glibc's malloc thresholds

The engine asks for them at one place (``tinygan.tensor``, "Kernels"): a forward kernel
``kernel(fn, *arrays) -> array``, a backward kernel ``kernel(fn, gy) -> (array or None, ...)``
on raw arrays (asked only when no graph of the gradient is wanted), a step kernel
``kernel(optimizer, updates)``. A kernel returns NotImplemented where it does not apply, and
then the textbook code runs. Every kernel gives the textbook's numbers to float rounding, on
the examples it is registered with (``tests/test_kernels.py`` checks each one, with inputs in
several memory layouts, in float32 and float64, split over threads and not). The kernels are
written with the arrays' own module, so they run on the GPU too (without threads: work on GPU
arrays is never split; CuPy has its own parallelism).

``enabled(False)`` switches every kernel off, so that a debugger steps through the textbook and
gets the same numbers; ``TINYGAN_KERNELS=0`` in the environment starts a process with them off.

What the kernels change in the process, and when: nothing at import. The first time a kernel
runs, glibc's malloc thresholds are raised (``allocator.py``); the first time work is split
over threads, OpenBLAS is set to one thread per call (``pool.py``), as ``torch.set_num_threads``
sets its own. ``enabled(False)`` stops the threads and undoes both.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from tinygan import tensor as _engine
from tinygan.kernels import allocator, pool
from tinygan.kernels.pool import get_num_threads, set_num_threads


class Example(NamedTuple):
    """A call a kernel applies to, for the equivalence test: ``call(*tensors)`` on random tensors
    of ``shapes`` (a Function kernel: the op to run forward and backward), or ``call(params)``
    making the optimizer to step (a step kernel)."""

    call: object
    shapes: tuple


_registry = {"forward": {}, "backward": {}, "step": {}}  # everything registered, whether on or off
_examples = {}  # class -> [Example, ...]
_tables = {"forward": _engine._forward_kernels, "backward": _engine._backward_kernels, "step": _engine._step_kernels}
_on = False
_started = False  # a kernel has run since the kernels were switched on


def register(cls, *, examples, forward=None, backward=None, step=None):
    """Register the kernels of the Function (or Optimizer) class ``cls``: ``forward``,
    ``backward`` (first order, on raw arrays) and ``step`` (an optimizer's), each optional.
    ``examples``: calls it applies to, on which the equivalence test checks it."""
    examples = list(examples)
    if not examples:
        raise ValueError(f"register: examples: expected at least one Example for {cls.__name__}'s kernels, got none")
    for kind, kernel in (("forward", forward), ("backward", backward), ("step", step)):
        if kernel is not None:
            _registry[kind][cls] = kernel
    _examples.setdefault(cls, []).extend(examples)
    if _on:
        _install()


def registered():
    """[(class, kind, kernel)] of every registered kernel, kind "forward", "backward" or "step"."""
    return [(cls, kind, kernel) for kind, table in _registry.items() for cls, kernel in table.items()]


def examples(cls):
    """The Examples registered with ``cls``'s kernels."""
    return list(_examples.get(cls, ()))


def enabled(flag=None):
    """Whether the kernels are on. ``enabled(False)`` switches them all off (the textbook alone
    runs; the threads stop, BLAS and malloc get their settings back), ``enabled(True)`` on again;
    either returns the previous state."""
    global _on, _started
    if flag is None:
        return _on
    if not isinstance(flag, bool):
        raise TypeError(f"enabled: flag: expected True, False or None, got {flag!r}")
    previous, _on = _on, flag
    if flag:
        _install()
    else:
        for table in _tables.values():
            table.clear()
        pool.stop()
        allocator.restore()
        _started = False
    return previous


def _install():
    """Fill the engine's tables; until a kernel has run, each is wrapped to start them first."""
    for kind, table in _tables.items():
        table.clear()
        for cls, kernel in _registry[kind].items():
            table[cls] = kernel if _started else _first_use(kernel)


def _first_use(kernel):
    def first(*args):
        _start()
        return kernel(*args)
    return first


def _start():
    """What the kernels change in the process, done when the first of them runs."""
    global _started
    if not _started and _on:
        _started = True
        allocator.tune()
        _install()


def _from_environment():
    value = os.environ.get("TINYGAN_KERNELS", "1").strip().lower()
    if value not in ("0", "1", "off", "on", ""):
        raise ValueError(f"TINYGAN_KERNELS: expected 0 (off) or 1 (on), got {value!r}")
    return value not in ("0", "off")


from tinygan.kernels import activation, conv, layout, linear, norm, optim, upsample  # noqa: E402,F401  (each registers its kernels)

enabled(_from_environment())

__all__ = ["Example", "enabled", "examples", "get_num_threads", "register", "registered", "set_num_threads"]
