"""Tensor and reverse-mode autograd: the core of tinygan.

A ``Tensor`` wraps an array (numpy or cupy) and remembers the ``Function`` that made it
(``grad_fn``). Calling ``loss.backward()`` visits that graph in reverse topological order, once
per node, and applies the chain rule: each Function turns the gradient of its output into the
gradients of its inputs, and gradients reaching the same tensor by several paths are summed.

Every Function's ``backward`` is written with Tensor ops. Normally it runs under ``no_grad`` and
builds nothing; with ``create_graph=True`` it runs with recording on, so the gradient is itself
a differentiable Tensor. That one rule is what gives gradients of gradients (WGAN-GP's penalty)
and what lets ``gradgradcheck`` test second derivatives.

Memory: a Function holds its inputs strongly and its output only through a weak reference, so
a graph has no reference cycles and dies with its last tensor. ``backward`` also releases each
Function it has passed through unless ``retain_graph=True``.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from tinygan import backend

# ----------------------------------------------------------------------------------------------
# Recording switch
# ----------------------------------------------------------------------------------------------

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


class _GradMode:
    """Context manager (and decorator) that sets whether ops record a graph."""

    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class Observer:
    """Watches the engine at work; ``tinygan.graph.record_modules`` and ``tinygan.profile`` set one.

    The engine calls these at four places, and only while an observer is set (``_observer``; None
    almost always, and then each place costs one check): a module's call, a Function's forward,
    the recording of a Function into the graph, and a Function's backward.
    """

    def module_scope(self, module):
        return contextlib.nullcontext()

    def forward_of(self, fn, xs):
        return run_forward(fn, xs)

    def recorded(self, fn):
        pass

    def backward_of(self, fn):
        return contextlib.nullcontext()


_observer = None


def no_grad():
    """``with no_grad():`` ops inside record no graph (sampling, evaluation, optimizer steps)."""
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


# ----------------------------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------------------------


def _as_array(data, dtype, device):
    """Turn data (array, list, number) into an array of the right dtype on the right device.

    Arrays keep their dtype unless ``dtype`` is given; lists and numbers become the default
    float dtype (float32) when they hold floats, so that ``Tensor(np.float64(0.5))`` cannot
    slip float64 into a float32 model.
    """
    if device is not None:
        device = backend._check_device_name(device)
    if isinstance(data, Tensor):
        raise TypeError("data: expected an array, list or number, got a Tensor (use .detach() or .data)")
    if isinstance(data, np.ndarray) or backend.device_of(data) == "cuda":
        array = data if dtype is None or data.dtype == dtype else data.astype(dtype)
        return backend.to_device(array, device) if device else array
    array = np.asarray(data, dtype=dtype)
    if array.dtype.kind == "O":
        raise TypeError(f"data: expected numbers, got objects of type {type(data).__name__}")
    if dtype is None and array.dtype.kind == "f":
        array = array.astype(backend.get_default_dtype(), copy=False)
    return backend.to_device(array, device or backend.get_default_device())


def wrap(array):
    """A Tensor around an existing array, without any conversion (the fast path for ops)."""
    t = Tensor.__new__(Tensor)
    t.data, t.grad, t.requires_grad, t.grad_fn, t.name = array, None, False, None, None
    return t


class Tensor:
    """An n-dimensional array that records the operations made on it.

    ``Tensor(data, requires_grad=False, device=None, dtype=None)``: ``data`` is an array (kept as
    it is, on its own device), or a list or a number (made float32 by default, on the default
    device). Floating-point leaves with ``requires_grad=True`` receive ``.grad`` from ``backward``.
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "__weakref__")
    __array_priority__ = 200  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, device=None, dtype=None, name=None):
        self.data = _as_array(data, dtype, device)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating-point tensors can require grad, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self.name = name

    # -- properties --------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def T(self):
        return _ops.transpose(self)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="Tensor(")
        extra = f", device='{self.device}'" if self.device != "cpu" else ""
        if self.grad_fn is not None:
            extra += f", grad_fn={type(self.grad_fn).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.dtype != np.float32:
            extra += f", dtype={self.dtype}"
        return f"Tensor({body}{extra})"

    # -- conversion --------------------------------------------------------------------------
    def numpy(self):
        """The data as a numpy array on the host (a copy when it lives on the GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): expected a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """A tensor sharing this data, cut off from the graph."""
        return Tensor(self.data)

    def to(self, device):
        """This tensor on ``device`` (differentiable: gradients travel back to this device)."""
        if device == self.device:
            return self
        return _ops.to_device(self, device)

    def astype(self, dtype):
        return _ops.astype(self, dtype)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating-point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = flag
        return self

    # -- autograd ----------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the gradient of some scalar with respect to ``self``; it may be omitted only
        when ``self`` has one element (then it is 1).
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn "
                               "(was it made under no_grad, or from tensors without requires_grad=True?)")
        run_backward([self], [grad], None, retain_graph or create_graph, create_graph)

    # -- operators ---------------------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __rpow__(self, base):
        return _ops.pow(base, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # Comparisons give boolean tensors outside the graph (masks, accuracy); == and != are left
    # as identity so that tensors stay usable as dict keys, as in PyTorch's hashing by id.
    def __lt__(self, other):
        return Tensor(self.data < _raw(other))

    def __le__(self, other):
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor(self.data >= _raw(other))

    __hash__ = object.__hash__

    # -- methods that mirror the ops (PyTorch / NumPy names) --------------------------------------
    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _ops.var(self, axis, keepdims, ddof)

    def max(self, axis=None, keepdims=False):
        return _ops.max(self, axis, keepdims)

    def reshape(self, *shape):
        return _ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def flatten(self, start_dim=0):
        return _ops.reshape(self, self.shape[:start_dim] + (-1,))

    def transpose(self, *axes):
        return _ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))

    def permute(self, *axes):
        return _ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def clip(self, low=None, high=None):
        return _ops.clip(self, low, high)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


# ----------------------------------------------------------------------------------------------
# Function
# ----------------------------------------------------------------------------------------------


class Function:
    """One differentiable operation: ``forward`` on raw arrays, ``backward`` on Tensors.

    ``forward(*arrays) -> array`` computes the result with the inputs' own array module.
    ``backward(gy) -> tuple`` receives the gradient of the output as a Tensor and returns one
    gradient Tensor (or None) per input, written with Tensor ops so that it can itself be
    differentiated. ``self.inputs`` are the input Tensors, ``self.output`` the output Tensor, and
    ``self.needs_input_grad[i]`` says whether input i's gradient is wanted (a backward may skip
    an expensive gradient nobody asked for).
    """

    inputs = None
    needs_input_grad = None

    def __call__(self, *inputs):
        xs = [x.data for x in inputs]
        if len(xs) > 1:
            kind = type(xs[0])
            for x in xs:
                if type(x) is not kind:
                    devices = ", ".join(backend.device_of(a) for a in xs)
                    raise RuntimeError(f"{type(self).__name__}: all inputs must be on one device, got {devices}; "
                                       "move them with .to(device)")
        y = run_forward(self, xs) if _observer is None else _observer.forward_of(self, xs)
        if type(y) is not np.ndarray and backend.device_of(y) == "cpu":
            y = np.asarray(y)  # numpy reductions return scalars; a Tensor always holds an array
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out.requires_grad, out.grad_fn, out.name = y, None, False, None, None
        if _grad_enabled:
            for x in inputs:
                if x.requires_grad:
                    out.requires_grad = True
                    out.grad_fn = self
                    self.inputs = inputs
                    self._output = weakref.ref(out)
                    if _observer is not None:
                        _observer.recorded(self)
                    break
        return out

    @property
    def output(self):
        return self._output()

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def release(self):
        """Drop everything the backward pass needed (inputs, saved arrays)."""
        self.__dict__.clear()
        self.inputs = None


# ----------------------------------------------------------------------------------------------
# Kernels: the one place where the engine hands work to tinygan.kernels
# ----------------------------------------------------------------------------------------------

# A kernel is a faster version of a Function's forward, of its backward on raw arrays, or of an
# optimizer's step, registered by tinygan.kernels against the class it speeds up. The engine
# looks for one by class (one dict lookup; the tables are empty while the kernels are off) and
# runs the class's own code, the textbook, when there is none or when the kernel returns
# NotImplemented (it does not apply to these arrays). A backward kernel is asked only when no
# graph of the gradient is wanted: its result is a plain array, which cannot be differentiated.
# With the kernels off (tinygan.kernels.enabled(False)), what runs is the code of this file and
# of the ops alone, with the same numbers to float rounding.
_forward_kernels = {}   # Function class -> kernel(fn, *arrays) -> array
_backward_kernels = {}  # Function class -> kernel(fn, gy array) -> (array or None, ...), one per input
_step_kernels = {}      # Optimizer class -> kernel(optimizer, updates) -> None


def run_forward(fn, xs):
    """``fn.forward(*xs)``, or the kernel registered for ``type(fn)`` when there is one that applies."""
    kernel = _forward_kernels.get(type(fn))
    y = NotImplemented if kernel is None else kernel(fn, *xs)
    return fn.forward(*xs) if y is NotImplemented else y


def _backward_of(fn, gy, create_graph):
    """The input gradients of ``fn`` for the output gradient ``gy``, as a tuple: its kernel's, on
    raw arrays, when no graph of them is wanted and one applies; else ``fn.backward(gy)``'s."""
    kernel = None if create_graph else _backward_kernels.get(type(fn))
    gxs = NotImplemented if kernel is None else kernel(fn, gy.data)
    if gxs is not NotImplemented:
        return tuple(None if g is None else wrap(g) for g in gxs)
    gxs = fn.backward(gy)
    return gxs if isinstance(gxs, tuple) else (gxs,)


def fast_step(optimizer, updates):
    """Make an optimizer's step with the kernel registered for its class: True when there was one
    that applied, False when the optimizer's own code has to run."""
    kernel = _step_kernels.get(type(optimizer))
    return kernel is not None and kernel(optimizer, updates) is not NotImplemented


# ----------------------------------------------------------------------------------------------
# The backward pass
# ----------------------------------------------------------------------------------------------


def _topological_order(roots):
    """Tensors reachable from ``roots`` through grad_fn, each after every tensor made from it.

    Iterative depth-first search (deep generators would overflow Python's recursion limit).
    Returns the list in post-order: inputs before outputs.
    """
    order, expanded = [], set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in expanded:  # pushed twice (two consumers); the first expansion counts
                continue
            expanded.add(id(node))
            stack.append((node, True))
            fn = node.grad_fn
            if fn is None:
                continue
            if fn.inputs is None:
                raise RuntimeError("backward: trying to go through the graph a second time, but its saved "
                                   "values were freed by the first backward; pass retain_graph=True the first time")
            for parent in fn.inputs:
                if parent.requires_grad and id(parent) not in expanded:
                    stack.append((parent, False))
    return order


def _initial_grad(output, grad):
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for a tensor with one element; "
                               f"got shape {output.shape}: pass grad= of that shape")
        xp = backend.array_module(output.data)
        return Tensor(xp.ones_like(output.data))
    if not isinstance(grad, Tensor):
        grad = Tensor(grad, dtype=output.dtype, device=output.device)
    if grad.shape != output.shape:
        raise ValueError(f"grad: expected shape {output.shape} (the output's shape), got {grad.shape}")
    if grad.device != output.device:
        raise RuntimeError(f"grad: expected a tensor on device '{output.device}', got '{grad.device}'")
    return grad


def _needed(order, inputs, allow_unused):
    """For ``grad``: the ids of ``inputs`` and of the tensors of ``order`` made from them, the
    only part of the graph worth differentiating."""
    if not allow_unused:  # decide before anything is freed, so that the caller can try again
        reached = {id(t) for t in order}
        for i, t in enumerate(inputs):
            if id(t) not in reached:
                raise RuntimeError(f"inputs[{i}] was not used to compute the outputs; "
                                   "pass allow_unused=True to get None for it")
    needed = {id(t) for t in inputs}
    for node in order:  # inputs before outputs, so parents are decided first
        fn = node.grad_fn
        if fn is not None and any(id(p) in needed for p in fn.inputs):
            needed.add(id(node))
    return needed


def _needs_input_grad(fn, needed):
    """Which of ``fn``'s inputs want a gradient: those that require one (backward), or with
    ``needed`` (grad) those on a path to the inputs asked for."""
    if needed is None:
        return [x.requires_grad for x in fn.inputs]
    return [id(x) in needed for x in fn.inputs]


def run_backward(outputs, grad_outputs, inputs, retain_graph, create_graph, allow_unused=True):
    """The engine behind ``Tensor.backward`` and ``grad``: the chain rule from ``outputs`` back.

    Without ``inputs`` (backward), the gradients of leaves are added into ``leaf.grad``; with them
    (grad), the gradients of ``inputs`` are returned by id and nothing is written to ``.grad``.
    """
    order = _topological_order(outputs)
    needed = None if inputs is None else _needed(order, inputs, allow_unused)
    wanted = set() if inputs is None else {id(t) for t in inputs}
    grads, results = {}, {}
    for out, g in zip(outputs, grad_outputs):
        g = _initial_grad(out, g)
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g
    with _GradMode(create_graph):
        for node in reversed(order):  # outputs first: all of a tensor's gradient is summed before it is used
            g = grads.pop(id(node), None)
            if id(node) in wanted:
                results[id(node)] = g
            if needed is not None and id(node) not in needed:
                continue
            fn = node.grad_fn
            if fn is None:
                if inputs is None and g is not None:
                    node.grad = g if node.grad is None else node.grad + g
                continue
            fn.needs_input_grad = _needs_input_grad(fn, needed)
            if g is None or not any(fn.needs_input_grad):  # nothing flowed in (every use was cut by
                if not retain_graph:                       # detach), or nothing to flow out to
                    fn.release()
                continue
            if _observer is None:
                gxs = _backward_of(fn, g, create_graph)
            else:  # the ops a backward records (create_graph=True) are tagged as that backward's
                with _observer.backward_of(fn):
                    gxs = _backward_of(fn, g, create_graph)
            for x, gx, need in zip(fn.inputs, gxs, fn.needs_input_grad):
                if gx is None or not need:
                    continue
                if gx.shape != x.shape:
                    raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape {gx.shape} "
                                       f"for an input of shape {x.shape}")
                key = id(x)
                grads[key] = grads[key] + gx if key in grads else gx
            if not retain_graph:
                fn.release()
    return results


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than stored in .grad.

    Like ``torch.autograd.grad``. With ``create_graph=True`` the returned gradients are part of
    the graph, so a function of them (a gradient penalty) can be differentiated again.
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Tensor)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs: expected {len(outputs)} entries (one per output), got {len(grad_outputs)}")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"inputs[{i}]: expected a Tensor with requires_grad=True, got "
                             f"{'a Tensor without requires_grad' if isinstance(t, Tensor) else type(t).__name__}")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"outputs[{i}]: expected a Tensor that depends on the inputs (requires_grad), got one that does not")
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward(outputs, grad_outputs, inputs, retain_graph, create_graph, allow_unused)
    grads = [results.get(id(t)) for t in inputs]
    return grads[0] if single_in else grads


# The ops module imports this one; it is imported last so that Tensor methods can call it.
from tinygan import ops as _ops  # noqa: E402
