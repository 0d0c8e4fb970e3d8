"""``tinygan.profile()``: where a training step's time goes, op by op and layer by layer.

    with tinygan.profile(modules={"G": G, "D": D}) as prof:
        for _ in range(10):
            train_step()
    print(prof.table(steps=10))        # ms per step, sorted by time
    prof.save("profile.json")

Every Function's forward and every Function's backward is timed, and booked under a row
(op, phase, layer):

- op: the Function's class (``Conv2d``, ``BatchNorm``, ``LeakyReLU``, ...);
- phase: ``forward``, ``backward``, ``optimizer``;
- layer: the innermost module that was running when the forward ran (``D.3 BatchNorm2d`` with
  ``modules={"D": D}``, else the class name); a backward is booked under its forward's layer.

A backward is written with Tensor ops, so it calls other Functions (Conv2d's backward is a
transposed convolution and a weight gradient): those are part of that backward and booked
there. Two more rows are timed by wrapping them while the block is open: each optimizer's
``step`` (``Adam.step``) and the ``backward engine`` (``tinygan.tensor.run_backward``, which
sorts the graph and sums gradients). Times are *self* times: such a row holds what its own code
spent, not the Functions it called, so the rows add up to the time measured, and what remains
(the Python between ops: module calls, argument checks, loss code) is the ``(untracked)`` row.

FLOPs are counted for the matrix products only (``FLOPS`` below: matmul, linear and the three
convolutions), from the shapes of each Function's inputs and output, so that GFLOP/s says how
close a row is to the GEMM's peak. A backward counts the forward's FLOPs once for each of its
first two inputs whose gradient is wanted (the input and the weight gradient are each a product
of the forward's size), whether it ran as Tensor ops or as a kernel (``tinygan.kernels``).

On the GPU, CuPy launches kernels and returns before they finish: a row's time is then the time
to launch its kernels, and the wait lands on whichever op next needs a result on the host. The
table is meant for the CPU.

Outside a ``profile`` block nothing is timed: the engine checks one module-level variable
(``tensor._observer``) per Function call and per module call, as it does for
``tinygan.graph.record_modules``. The profiler itself costs a few microseconds per op.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time

from tinygan import tensor as _tensor
from tinygan.ops.conv import Conv2d, Conv2dWeight, ConvTranspose2d
from tinygan.ops.linalg import MatMul
from tinygan.ops.nn import Linear
from tinygan.optim import Optimizer

# FLOPs of one forward (a multiply-add is 2), from its input arrays xs and its output y.
FLOPS = {
    MatMul: lambda xs, y: 2 * y.size * xs[0].shape[-1],
    Linear: lambda xs, y: 2 * y.size * xs[0].shape[-1],
    Conv2d: lambda xs, y: 2 * y.size * xs[1][0].size,                           # 2 C KH KW per output
    ConvTranspose2d: lambda xs, y: 2 * xs[0].size * xs[1][0].size,              # 2 C_out KH KW per input
    Conv2dWeight: lambda xs, y: 2 * y.size * (xs[1].size // xs[1].shape[1]),    # 2 N OH OW per weight
}


def _flops(fn, xs, y):
    count = FLOPS.get(type(fn))
    return count(xs, y) if count is not None else 0


class _Frame:
    __slots__ = ("key", "backward", "start", "children", "flops")

    def __init__(self, key, backward):
        self.key, self.backward, self.children, self.flops = key, backward, 0.0, 0
        self.start = time.perf_counter()


class Profile(_tensor.Observer):
    """The record of one ``profile`` block: ``rows`` maps (op, phase, layer) to
    [calls, seconds, flops]; ``wall`` is the block's time in seconds."""

    UNTRACKED = ("(untracked)", "-", "Python between ops")

    def __init__(self, modules=None):
        self.rows = {}
        self.wall = 0.0
        self._names = {}
        for root_name, root in (modules or {}).items():
            for path, module in root.named_modules(root_name):
                self._names.setdefault(id(module), path)
        self._modules = []  # the modules running now, outermost first
        self._frames = []   # the timed calls running now, outermost first

    # -- the engine's calls (tensor.Observer) ----------------------------------------------------
    @contextlib.contextmanager
    def module_scope(self, module):
        self._modules.append(module)
        try:
            yield
        finally:
            self._modules.pop()

    def forward_of(self, fn, xs):
        inner = self._frames[-1] if self._frames else None
        if inner is not None and inner.backward:  # an op inside a backward is part of that backward
            return _tensor.run_forward(fn, xs)
        layer = self._layer()
        fn._profile_layer = layer  # its backward is booked under the same layer
        phase = inner.key[1] if inner is not None else "forward"
        frame = self._push((type(fn).__name__, phase, layer), backward=False)
        try:
            y = _tensor.run_forward(fn, xs)
            frame.flops = fn._profile_flops = _flops(fn, xs, y)
        finally:
            self._pop()
        return y

    @contextlib.contextmanager
    def backward_of(self, fn):
        frame = self._push((type(fn).__name__, "backward", getattr(fn, "_profile_layer", "-")), backward=True)
        frame.flops = getattr(fn, "_profile_flops", 0) * sum(fn.needs_input_grad[:2])
        try:
            yield
        finally:
            self._pop()

    def timed(self, fn, name, phase):
        """``fn`` wrapped so that each call of it is timed as a row (name(*args), phase, "-")."""
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            self._push((name(*args), phase, "-"), backward=False)
            try:
                return fn(*args, **kwargs)
            finally:
                self._pop()
        return wrapper

    # -- bookkeeping -----------------------------------------------------------------------------
    def _layer(self):
        if not self._modules:
            return self._frames[-1].key[0] if self._frames else "-"
        module = self._modules[-1]
        path = self._names.get(id(module))
        return f"{path} {type(module).__name__}" if path else type(module).__name__

    def _push(self, key, backward):
        frame = _Frame(key, backward)
        self._frames.append(frame)
        return frame

    def _pop(self):
        end = time.perf_counter()
        frame = self._frames.pop()
        elapsed = end - frame.start
        row = self.rows.get(frame.key)
        if row is None:
            row = self.rows[frame.key] = [0, 0.0, 0]
        row[0] += 1
        row[1] += elapsed - frame.children
        row[2] += frame.flops
        if self._frames:
            self._frames[-1].children += elapsed

    # -- reading ---------------------------------------------------------------------------------
    def untracked(self):
        """Seconds of the block that no row holds (Python outside the Functions and regions)."""
        return max(self.wall - sum(row[1] for row in self.rows.values()), 0.0)

    def grouped(self, by="row"):
        """Rows summed by ``"row"`` (op, phase, layer), ``"op"`` (op, phase) or ``"layer"``;
        a list of dicts sorted by time, the untracked time last."""
        if by not in ("row", "op", "layer"):
            raise ValueError(f"by: expected 'row', 'op' or 'layer', got {by!r}")
        groups = {}
        for (op, phase, layer), (calls, seconds, flops) in self.rows.items():
            key = {"row": (op, phase, layer), "op": (op, phase, "*"), "layer": ("*", "*", layer)}[by]
            g = groups.setdefault(key, [0, 0.0, 0])
            g[0], g[1], g[2] = g[0] + calls, g[1] + seconds, g[2] + flops
        out = [{"op": k[0], "phase": k[1], "layer": k[2], "calls": v[0], "seconds": v[1], "flops": v[2]}
               for k, v in sorted(groups.items(), key=lambda kv: -kv[1][1])]
        op, phase, layer = self.UNTRACKED
        out.append({"op": op, "phase": phase, "layer": layer, "calls": 0, "seconds": self.untracked(), "flops": 0})
        return out

    def table(self, by="row", top=None, steps=1):
        """The profile as text: ms per step (the block's time divided by ``steps``), share of
        the block's time, GFLOP per step and GFLOP/s; sorted by time, ``top`` rows at most."""
        if not (isinstance(steps, int) and steps >= 1):
            raise ValueError(f"steps: expected a positive integer, got {steps!r}")
        rows = self.grouped(by)
        shown = rows[:-1][:top] if top else rows[:-1]
        hidden = rows[len(shown):-1]
        lines = [f"{'op':<22}{'phase':<10}{'layer':<26}{'calls':>7}{'ms':>10}{'%':>7}{'GFLOP':>9}{'GFLOP/s':>9}"]

        def line(r, name=None):
            ms = r["seconds"] * 1e3 / steps
            share = 100 * r["seconds"] / self.wall if self.wall else 0.0
            gflop = r["flops"] / 1e9 / steps
            rate = f"{r['flops'] / r['seconds'] / 1e9:9.1f}" if r["flops"] and r["seconds"] else f"{'':>9}"
            gf = f"{gflop:9.3f}" if r["flops"] else f"{'':>9}"
            calls = f"{r['calls'] / steps:7.0f}" if r["calls"] else f"{'':>7}"
            lines.append(f"{(name or r['op'])[:21]:<22}{r['phase'][:9]:<10}{r['layer'][:25]:<26}{calls}"
                         f"{ms:10.2f}{share:7.1f}{gf}{rate}")

        for r in shown:
            line(r)
        if hidden:
            line({"op": "", "phase": "", "layer": "", "calls": sum(r["calls"] for r in hidden),
                  "seconds": sum(r["seconds"] for r in hidden), "flops": sum(r["flops"] for r in hidden)},
                 name=f"({len(hidden)} more rows)")
        line(rows[-1])
        total = {"op": "total", "phase": "", "layer": "", "calls": 0, "seconds": self.wall,
                 "flops": sum(r["flops"] for r in rows)}
        line(total)
        per = "per step" if steps > 1 else "in all"
        lines.append(f"(ms and GFLOP {per}; calls per step; FLOPs of matrix products only)")
        return "\n".join(lines)

    def to_dict(self):
        return {"wall_seconds": self.wall, "untracked_seconds": self.untracked(),
                "rows": [{"op": op, "phase": phase, "layer": layer, "calls": c, "seconds": s, "flops": f}
                         for (op, phase, layer), (c, s, f) in sorted(self.rows.items(), key=lambda kv: -kv[1][1])]}

    def save(self, path):
        """Write ``to_dict()`` as JSON (atomically: a crash leaves the old file or none)."""
        from tinygan.data.atomic import atomic_write  # here: importing tinygan need not load the data package

        with atomic_write(path) as f:
            f.write(json.dumps(self.to_dict(), indent=1).encode())


@contextlib.contextmanager
def profile(modules=None, path=None):
    """Time every Function's forward and backward, by op and layer, inside the block.

    ``modules``: {name: module} used to name layers by their paths (``D.3``); ``path``: where
    to write the JSON when the block ends. Yields the ``Profile``."""
    if _tensor._observer is not None:
        raise RuntimeError("profile: another observer is active (a profile or graph.record_modules block); "
                           "use one at a time")
    prof = Profile(modules)
    step, run_backward = Optimizer.step, _tensor.run_backward
    Optimizer.step = prof.timed(step, lambda opt: f"{type(opt).__name__}.step", "optimizer")
    _tensor.run_backward = prof.timed(run_backward, lambda *args: "backward engine", "backward")
    _tensor._observer = prof
    start = time.perf_counter()
    try:
        yield prof
    finally:
        prof.wall = time.perf_counter() - start
        _tensor._observer = None
        Optimizer.step, _tensor.run_backward = step, run_backward
        if path is not None:
            prof.save(path)
