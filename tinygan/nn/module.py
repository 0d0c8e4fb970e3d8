"""Module and Parameter: the containers networks are built from (PyTorch's API, in small).

A Module registers what is assigned to it: a ``Parameter`` becomes a trainable weight, a
Module a child, and ``register_buffer`` keeps state that is saved but not trained (batch-norm's
running statistics). ``train()`` and ``eval()`` set a flag on each module, never a global one.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from tinygan import backend
from tinygan import tensor as _tensor
from tinygan.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module (requires_grad=True)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter: expected floating-point data, got dtype {self.data.dtype}")

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and network.

    Subclasses set their parameters and sub-modules in ``__init__`` and compute in ``forward``;
    calling the module calls ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ------------------------------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        buffers, modules = self._buffers, self._modules
        if isinstance(value, (Parameter, Module)):
            for table in (params, buffers, modules):
                table.pop(name, None)
            self.__dict__.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in params and value is None:  # an optional weight switched off
            params[name] = None
        elif name in buffers:  # assigning to a buffer updates it
            buffers[name] = value.data if isinstance(value, Tensor) else value
        else:
            params.pop(name, None)
            modules.pop(name, None)
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, array):
        """Keep ``array`` (saved in state_dict, moved by ``to``, not trained) as ``self.<name>``."""
        if isinstance(array, Tensor):
            array = array.data
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent optional weight such as a bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: expected a Parameter or None for '{name}', got {type(param).__name__}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    # -- calling -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        observer = _tensor._observer
        if observer is None:
            return self.forward(*args, **kwargs)
        with observer.module_scope(self):  # only inside tinygan.graph.record_modules()
            return self.forward(*args, **kwargs)

    # -- traversal ---------------------------------------------------------------------------
    def named_children(self):
        return iter(self._modules.items())

    def children(self):
        return iter(self._modules.values())

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix=""):
        seen = set()
        for mod_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:  # a shared weight is listed once
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix=""):
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self, trainable_only=True):
        """The number of scalar weights (those with requires_grad, unless trainable_only=False)."""
        return int(sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only))

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module and then on this one (e.g. an initialiser)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes and devices -------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def _map_arrays(self, fn):
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = fn(p.data)
                    if p.grad is not None:
                        p.grad = Tensor(fn(p.grad.data))
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = fn(b)
        return self

    def to(self, device):
        """Move every parameter and buffer to ``device`` in place (optimizers keep working)."""
        backend._check_device_name(device)
        return self._map_arrays(lambda a: backend.to_device(a, device))

    def astype(self, dtype):
        """Cast floating-point parameters and buffers to ``dtype`` in place (float64 for gradchecks)."""
        dtype = np.dtype(dtype)
        return self._map_arrays(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def double(self):
        return self.astype(np.float64)

    def float(self):
        return self.astype(np.float32)

    @property
    def device(self):
        """The device of the first parameter or buffer (cpu for a module with none)."""
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return backend.device_of(b)
        return "cpu"

    # -- state -------------------------------------------------------------------------------
    def state_dict(self):
        """Every parameter and buffer as a host numpy array (a copy), by dotted name."""
        state = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = backend.to_numpy(p.data).copy()
        for name, b in self.named_buffers():
            state[name] = backend.to_numpy(b).copy()
        return state

    def load_state_dict(self, state, strict=True):
        """Copy ``state`` into the parameters and buffers, on their devices and dtypes.

        With ``strict``, missing and unexpected names are an error, and so is any shape
        mismatch; the message lists each, so that loading a checkpoint of another architecture
        says exactly how it differs. Nothing is changed unless everything fits.
        """
        own = OrderedDict(self.named_parameters())
        own_buffers = OrderedDict(self.named_buffers())
        missing = [k for k in list(own) + list(own_buffers) if k not in state]
        unexpected = [k for k in state if k not in own and k not in own_buffers]
        wrong = []
        for k, v in state.items():
            target = own[k].data if k in own else own_buffers.get(k)
            if target is not None and tuple(np.shape(v)) != tuple(target.shape):
                wrong.append(f"{k}: expected shape {tuple(target.shape)}, got {tuple(np.shape(v))}")
        problems = []
        if wrong:
            problems.append("wrong shapes: " + "; ".join(wrong))
        if strict and missing:
            problems.append("missing: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(unexpected))
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + " | ".join(problems))
        for k, v in state.items():
            if k in own:
                p = own[k]
                p.data = backend.copy_to_device(v, p.device, p.dtype)  # a copy: never alias `state`
            elif k in own_buffers:
                self._set_buffer(k, v)
        return self

    def _set_buffer(self, dotted, value):
        *path, name = dotted.split(".")
        module = self
        for part in path:
            module = module._modules[part]
        old = module._buffers[name]
        module._buffers[name] = backend.copy_to_device(value, backend.device_of(old), old.dtype)

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i}: expected a Module, got {type(m).__name__}")
            self._modules[str(i)] = m

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self._modules[str(len(self._modules))] = module
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (for networks that grow, like ProGAN)."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self._modules[str(len(self._modules))] = module
        return self

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Identity(Module):
    """y = x."""

    def forward(self, x):
        return x
