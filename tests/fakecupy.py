"""A CPU stand-in for CuPy that keeps CuPy's rules, so that host/device slips fail without a GPU.

``pytest --device fakecuda`` installs this module as the array module of device ``"cuda"``
(through ``tinygan.backend.use_gpu_array_module``) and runs the whole suite with every
device-parametrized tensor on it. The arithmetic is NumPy's; what is copied from CuPy is where
CuPy *refuses* what NumPy allows, because that is where code written and tested on the CPU
breaks on a GPU (CuPy's user guide, "Differences between CuPy and NumPy", and its ndarray docs):

* No implicit conversion to NumPy: ``np.asarray(x)``, ``np.array(x)``, anything that calls
  ``__array__`` (matplotlib, a list of device arrays given to NumPy) raises
  ``TypeError: Implicit conversion to a NumPy array is not allowed...``. The way out is explicit:
  ``x.get()`` or ``asnumpy(x)``. ``float(x)``, ``int(x)``, ``bool(x)``, ``x.item()`` and
  ``x.tolist()`` are allowed, as in CuPy (they copy to the host on purpose).
* No mixing with NumPy arrays: operators, ufuncs and functions given a ``numpy.ndarray`` (or a
  list) next to a device array raise ``TypeError: Unsupported type <class 'numpy.ndarray'>``,
  whichever side the NumPy array is on. Python and NumPy *scalars* are fine. ``asarray`` and
  ``array`` take NumPy arrays (that is the host-to-device copy), and so do index arrays, as in CuPy.
* NumPy functions called on device arrays dispatch to this module (NEP 13/18, as CuPy's
  ``__array_ufunc__`` and ``__array_function__`` do), so ``np.exp(x)`` is a device array; a NumPy
  function this module lacks is a ``TypeError``.
* Reductions return 0-d device arrays, never NumPy scalars (``x.sum()``, ``x.max()``, ``x[i]``
  of a 1-d array).
* ``ufunc.at`` is absent (``np.add.at(x, ...)`` raises): CuPy before 12.1 has none and later ones
  only for a few ufuncs; ``cupyx.scatter_add`` (here ``fakecupy.cupyx.scatter_add``) is the portable way.
  It accepts only the dtypes CUDA's atomicAdd has (int32, uint32, uint64, float16/32/64).
* Host-side I/O and printing routines are left out (``save``, ``savez``, ``load``, ``array2string``,
  ...). CuPy has some of them (they copy to the host inside); the stand-in refuses them so that
  every transfer in tinygan stays explicit (``np.savez`` of a device array is a TypeError here).
* ``lib.stride_tricks`` has ``as_strided`` only; ``np.lib.stride_tricks.as_strided`` on a device
  array raises (it converts its argument with ``np.asarray``), and so does ``sliding_window_view``.
* ``x[basic index] = numpy_array`` raises ValueError (CuPy fills from a scalar only there);
  with an advanced (array) index a NumPy value is copied over, as in CuPy.
* ``random.RandomState`` has CuPy's method names and dtype arguments, and a stream of its own
  (not NumPy's), so a test cannot quietly rely on the GPU drawing what the CPU draws.

Where CuPy is *more* permissive than NumPy (out-of-range integer-array indices wrap around),
the stand-in keeps NumPy's error: stricter, never looser.

For the scripts that time and measure the GPU (``benchmarks/step_time.py --device fakecuda``,
``scripts/gpu_check.sh --dry-run``) it also has the few device calls they make, with CuPy's names:
``cuda.Device().synchronize()`` (nothing to wait for: the stand-in computes synchronously),
``cuda.runtime.getDeviceCount`` / ``getDeviceProperties`` / ``runtimeGetVersion`` /
``driverGetVersion`` (one device named "fakecuda", versions 0), and ``get_default_memory_pool()``,
whose pool counts the bytes of the stand-in's live arrays, as CuPy's counts its device memory.

``python tests/fakecupy.py -m MODULE [ARGS...]`` runs a module as ``python -m`` does, with device
"cuda" played by the stand-in (``python tests/fakecupy.py -m tinygan train dcgan --device cuda``).
"""

from __future__ import annotations

import runpy
import sys
import types
import weakref

import numpy as np

__all__ = ["ndarray", "asarray", "array", "asnumpy", "get_array_module", "install", "uninstall", "installed",
           "random", "linalg", "lib", "cupyx", "cuda", "get_default_memory_pool"]

__version__ = f"stand-in on NumPy {np.__version__}"

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly.")

_SCALARS = (int, float, complex, bool, np.generic)


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


# ----------------------------------------------------------------------------------------------
# Moving between the host (numpy.ndarray) and the stand-in device (ndarray)
# ----------------------------------------------------------------------------------------------


def _wrap(value):
    """A NumPy result as a device result: arrays and NumPy scalars become ndarrays (0-d for a
    scalar, as CuPy's reductions give), tuples and lists are wrapped element by element."""
    if isinstance(value, np.ndarray):
        out = ndarray.__new__(ndarray)
        out._a = value
        if _pool is not None:
            _pool.track(value)
        return out
    if isinstance(value, np.generic):
        return _wrap(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value, where):
    """An argument of a device function as the NumPy object to compute with: device arrays give
    their data, host arrays are refused (CuPy does not copy them implicitly), containers are
    searched, anything else (scalars, dtypes, slices, None, strings) passes."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise TypeError(f"{where}: Unsupported type {type(value)} (a host numpy array given to a device "
                        "function; move it with asarray first)")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _unwrap_kwargs(kwargs, where):
    return {k: _unwrap(v, where) for k, v in kwargs.items()}


def asarray(a, dtype=None, order=None):
    """``cupy.asarray``: a device array from a device array (no copy when nothing changes), a
    NumPy array (the explicit host-to-device copy), a list or a scalar."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    return _wrap(np.array(_unwrap_nested(a), dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    """``cupy.array``: always a copy unless copy=False allows otherwise."""
    if isinstance(obj, ndarray):
        return _wrap(np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    return _wrap(np.array(_unwrap_nested(obj), dtype=dtype, order=order, ndmin=ndmin))


def _unwrap_nested(obj):
    """For asarray/array: lists may hold device arrays (CuPy concatenates them on the device)."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, (list, tuple)):
        return [_unwrap_nested(v) for v in obj]
    return obj


def asnumpy(a, stream=None, order="C", out=None):
    """``cupy.asnumpy``: a host copy of a device array (NumPy arrays and scalars pass through)."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    """``cupy.get_array_module``: this module when any argument is a device array, else numpy."""
    for a in args:
        if isinstance(a, ndarray):
            return _MODULE
    return np


# ----------------------------------------------------------------------------------------------
# ufuncs: device arrays and scalars only, no .at
# ----------------------------------------------------------------------------------------------


class ufunc:
    """A NumPy ufunc restricted to CuPy's inputs: device arrays and scalars (not host arrays,
    not lists); ``out=`` must be a device array. Has reduce/accumulate/outer, not ``at``."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs

    def _inputs(self, args):
        out = []
        for a in args:
            if isinstance(a, ndarray):
                out.append(a._a)
            elif isinstance(a, _SCALARS):
                out.append(a)
            else:
                raise TypeError(f"{self.__name__}: Unsupported type {type(a)}")
        return out

    def _kwargs(self, kwargs):
        kwargs = dict(kwargs)
        if "out" in kwargs and kwargs["out"] is not None:
            outs = kwargs["out"] if isinstance(kwargs["out"], tuple) else (kwargs["out"],)
            for o in outs:
                if not isinstance(o, ndarray):
                    raise TypeError(f"{self.__name__}: out: Unsupported type {type(o)} (expected a device array)")
            kwargs["out"] = tuple(o._a for o in outs)
        return kwargs

    def _result(self, result, kwargs):
        if "out" in kwargs and kwargs["out"] is not None:
            return kwargs["out"]
        return _wrap(result)

    def __call__(self, *args, **kwargs):
        return self._result(self._u(*self._inputs(args), **self._kwargs(kwargs)), kwargs)

    def reduce(self, array, *args, **kwargs):
        return self._result(self._u.reduce(*self._inputs([array]), *args, **self._kwargs(kwargs)), kwargs)

    def accumulate(self, array, *args, **kwargs):
        return self._result(self._u.accumulate(*self._inputs([array]), *args, **self._kwargs(kwargs)), kwargs)

    def outer(self, a, b, **kwargs):
        return self._result(self._u.outer(*self._inputs([a, b]), **self._kwargs(kwargs)), kwargs)

    def __repr__(self):
        return f"<fakecupy ufunc '{self.__name__}'>"


# ----------------------------------------------------------------------------------------------
# The device array
# ----------------------------------------------------------------------------------------------

# ndarray methods CuPy does not have, or has with another meaning (buffer/pointer access).
_NO_METHODS = frozenset({"ctypes", "tofile", "dump", "dumps", "tobytes", "tostring", "data", "base",
                         "__array_interface__", "__array_struct__", "setfield", "getfield", "itemset",
                         "byteswap", "newbyteorder", "resize", "to_device"})


def _binary(name, reflected=False):
    def op(self, other):
        if not isinstance(other, (ndarray, np.ndarray, *_SCALARS)):
            # Defer to a type with a higher __array_priority__ (tinygan's Tensor), as CuPy does.
            if getattr(other, "__array_priority__", -1) > self.__array_priority__:
                return NotImplemented
        u = _UFUNCS[name]
        return u(other, self) if reflected else u(self, other)
    op.__name__ = f"__{'r' if reflected else ''}{name}__"
    return op


def _inplace(name):
    def op(self, other):
        _UFUNCS[name](self, other, out=self)
        return self
    return op


class ndarray:
    """A device array: a NumPy array kept behind CuPy's rules (see the module docstring).

    ``ndarray(shape, dtype=float)`` makes an uninitialised array, like ``cupy.ndarray``.
    """

    __slots__ = ("_a",)
    __array_priority__ = 100  # CuPy's; tinygan's Tensor (200) wins ``array + tensor``
    __hash__ = None

    def __init__(self, shape, dtype=float, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)
        if _pool is not None:
            _pool.track(self._a)

    # -- what CuPy refuses ---------------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(IMPLICIT)

    def __array_ufunc__(self, np_ufunc, method, *inputs, **kwargs):
        if method == "at":  # CuPy before 12.1 has no ufunc.at (later: a few ufuncs only)
            return NotImplemented
        u = _UFUNCS.get(np_ufunc.__name__)
        if u is None:
            return NotImplemented
        if method == "__call__":
            return u(*inputs, **kwargs)
        if method in ("reduce", "accumulate", "outer"):
            return getattr(u, method)(*inputs, **kwargs)
        return NotImplemented

    def __array_function__(self, func, types_, args, kwargs):
        namespace = {"numpy": _MODULE, "numpy.linalg": linalg, "numpy.lib.stride_tricks": lib.stride_tricks}
        target = namespace.get(func.__module__)
        fn = None if target is None else getattr(target, func.__name__, None)
        if fn is None:
            return NotImplemented
        return fn(*args, **kwargs)

    # -- explicit conversions (allowed, as in CuPy) ---------------------------------------------
    def get(self, stream=None, order="C", out=None):
        """A host (NumPy) copy: the explicit device-to-host transfer."""
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr):
        """Copy a host array into this device array."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"set: expected a numpy.ndarray, got {type(arr)}")
        if arr.shape != self._a.shape:
            raise ValueError(f"set: shape mismatch {arr.shape} vs {self._a.shape}")
        self._a[...] = arr

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __index__(self):
        return self._a.__index__()

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec) if self._a.ndim == 0 else format(str(self), spec)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        raise TypeError("fakecupy arrays are not pickled here (tinygan never pickles arrays)")

    # -- attributes ------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: _wrap(self._a.T))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    device = property(lambda self: "fakecuda:0")

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    def __getattr__(self, name):  # the NumPy ndarray methods CuPy also has
        if name == "_a" or name in _NO_METHODS or name.startswith("__"):
            raise AttributeError(f"'fakecupy.ndarray' object has no attribute '{name}'")
        method = getattr(self._a, name)
        if not callable(method):
            raise AttributeError(f"'fakecupy.ndarray' object has no attribute '{name}'")

        def call(*args, **kwargs):
            where = f"ndarray.{name}"
            return _wrap(method(*_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))
        call.__name__ = name
        return call

    # -- indexing --------------------------------------------------------------------------------
    @staticmethod
    def _key(key):
        """Index arrays may be device arrays, host arrays or lists (CuPy copies the last two)."""
        if isinstance(key, tuple):
            return tuple(ndarray._key(k) for k in key)
        return key._a if isinstance(key, ndarray) else key

    @staticmethod
    def _advanced(key):
        keys = key if isinstance(key, tuple) else (key,)
        return any(isinstance(k, (ndarray, np.ndarray, list)) for k in keys)

    def __getitem__(self, key):
        return _wrap(self._a[self._key(key)])

    def __setitem__(self, key, value):
        if isinstance(value, ndarray):
            value = value._a
        elif isinstance(value, np.ndarray) and value.ndim > 0 and not self._advanced(key):
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        elif not isinstance(value, (np.ndarray, *_SCALARS)):
            raise _unsupported(value)
        self._a[self._key(key)] = value

    # -- operators -------------------------------------------------------------------------------
    __add__, __radd__ = _binary("add"), _binary("add", True)
    __sub__, __rsub__ = _binary("subtract"), _binary("subtract", True)
    __mul__, __rmul__ = _binary("multiply"), _binary("multiply", True)
    __truediv__, __rtruediv__ = _binary("true_divide"), _binary("true_divide", True)
    __floordiv__, __rfloordiv__ = _binary("floor_divide"), _binary("floor_divide", True)
    __mod__, __rmod__ = _binary("remainder"), _binary("remainder", True)
    __pow__, __rpow__ = _binary("power"), _binary("power", True)
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", True)
    __and__, __rand__ = _binary("bitwise_and"), _binary("bitwise_and", True)
    __or__, __ror__ = _binary("bitwise_or"), _binary("bitwise_or", True)
    __xor__, __rxor__ = _binary("bitwise_xor"), _binary("bitwise_xor", True)
    __lt__, __le__ = _binary("less"), _binary("less_equal")
    __gt__, __ge__ = _binary("greater"), _binary("greater_equal")
    __eq__, __ne__ = _binary("equal"), _binary("not_equal")
    __iadd__, __isub__, __imul__ = _inplace("add"), _inplace("subtract"), _inplace("multiply")
    __itruediv__, __ipow__ = _inplace("true_divide"), _inplace("power")

    def __neg__(self):
        return _UFUNCS["negative"](self)

    def __pos__(self):
        return self.copy()

    def __abs__(self):
        return _UFUNCS["absolute"](self)

    def __invert__(self):
        return _UFUNCS["invert"](self)


_UFUNCS = {name: ufunc(obj) for name, obj in vars(np).items() if isinstance(obj, np.ufunc)}
_UFUNCS["abs"] = _UFUNCS["absolute"]


# ----------------------------------------------------------------------------------------------
# Module-level functions: NumPy's, behind the same rules
# ----------------------------------------------------------------------------------------------


def _function(np_fn, name):
    def fn(*args, **kwargs):
        where = name
        return _wrap(np_fn(*_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))
    fn.__name__ = fn.__qualname__ = name.rsplit(".", 1)[-1]
    fn.__doc__ = f"Device version of numpy's {name} (refuses host arrays)."
    return fn


# NumPy names CuPy lacks, or that would hand a device array to host-only code.
_ABSENT = frozenset({"lib", "ma", "char", "rec", "ctypeslib", "polynomial", "f2py", "testing", "typing",
                     "save", "savez", "savez_compressed", "load", "loadtxt", "savetxt", "genfromtxt",
                     "fromfile", "frombuffer", "memmap", "array2string", "array_repr", "array_str",
                     "set_printoptions", "get_printoptions", "printoptions", "asanyarray", "asmatrix",
                     "matrix", "vectorize", "frompyfunc", "piecewise", "apply_along_axis", "apply_over_axes",
                     "add_docstring", "nditer", "nested_iters", "fromiter", "fromstring", "info", "source"})

# Names that are the same objects in CuPy (dtypes, constants, numpy helpers on shapes/dtypes).
_SHARED_TYPES = (type, np.dtype, float, int, bool, str)


_WRAPPED = {}  # the device versions of NumPy's routines made so far (not module globals: `any`, `max`,
              # `sum` there would shadow the builtins this module's own code calls)


def __getattr__(name):  # PEP 562: any other NumPy routine, behind the rules
    if name in _UFUNCS:
        return _UFUNCS[name]
    if name in _WRAPPED:
        return _WRAPPED[name]
    if name in _ABSENT or name.startswith("_"):
        raise AttributeError(f"module 'fakecupy' has no attribute '{name}'")
    missing = object()
    obj = getattr(np, name, missing)
    if obj is missing or isinstance(obj, types.ModuleType):
        raise AttributeError(f"module 'fakecupy' has no attribute '{name}'")
    if obj is None or isinstance(obj, _SHARED_TYPES):  # newaxis, dtypes, constants
        return obj
    if callable(obj):
        fn = _WRAPPED[name] = _function(obj, name)
        return fn
    raise AttributeError(f"module 'fakecupy' has no attribute '{name}'")


def broadcast_shapes(*shapes):  # a shape helper: no arrays involved
    return np.broadcast_shapes(*shapes)


def result_type(*arrays_and_dtypes):
    return np.result_type(*[a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


def shape(a):
    return a.shape if isinstance(a, ndarray) else np.shape(_unwrap(a, "shape"))


def ndim(a):
    return a.ndim if isinstance(a, ndarray) else np.ndim(_unwrap(a, "ndim"))


def size(a, axis=None):
    return np.size(_unwrap(a, "size"), axis)


def isscalar(element):
    return np.isscalar(element)


def may_share_memory(a, b, max_work=None):
    return np.may_share_memory(_unwrap(a, "may_share_memory"), _unwrap(b, "may_share_memory"))


def shares_memory(a, b, max_work=None):
    return np.shares_memory(_unwrap(a, "shares_memory"), _unwrap(b, "shares_memory"))


linalg = types.SimpleNamespace(**{n: _function(getattr(np.linalg, n), f"linalg.{n}")
                                  for n in ("norm", "eigh", "eigvalsh", "svd", "qr", "inv", "solve", "det",
                                            "slogdet", "cholesky", "matrix_power", "pinv", "lstsq")})


def _as_strided(x, shape=None, strides=None):
    if not isinstance(x, ndarray):
        raise _unsupported(x)
    return _wrap(np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides, writeable=True))


lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


# ----------------------------------------------------------------------------------------------
# random: CuPy's RandomState API, a stream of its own
# ----------------------------------------------------------------------------------------------


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class RandomState:
    """``cupy.random.RandomState``: the draws come from NumPy's Philox (not the PCG64 tinygan's CPU
    generator uses), so device and host streams differ, as cuRAND's and NumPy's do."""

    def __init__(self, seed=None):
        self.seed(seed)

    def seed(self, seed=None):
        self._gen = np.random.Generator(np.random.Philox(seed))

    def standard_normal(self, size=None, dtype=float):
        return _wrap(np.asarray(self._gen.standard_normal(size=size, dtype=_float_dtype(dtype))))

    def randn(self, *size, dtype=float):
        return self.standard_normal(size=size or None, dtype=dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return _wrap(np.asarray(self._gen.normal(loc, scale, size=size).astype(_float_dtype(dtype))))

    def random_sample(self, size=None, dtype=float):
        return _wrap(np.asarray(self._gen.random(size=size, dtype=_float_dtype(dtype))))

    def rand(self, *size, dtype=float):
        return self.random_sample(size=size or None, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return _wrap(np.asarray(self._gen.uniform(low, high, size=size).astype(_float_dtype(dtype))))

    def randint(self, low, high=None, size=None, dtype="l"):
        if high is None:
            low, high = 0, low
        return _wrap(np.asarray(self._gen.integers(low, high, size=size, dtype=np.dtype(dtype))))

    def permutation(self, num):
        if isinstance(num, ndarray):
            return _wrap(self._gen.permutation(num._a))
        if not isinstance(num, (int, np.integer)):
            raise _unsupported(num)
        return _wrap(self._gen.permutation(num))

    def shuffle(self, a):
        if not isinstance(a, ndarray):
            raise TypeError(f"The array must be cupy.ndarray, got {type(a)}")
        self._gen.shuffle(a._a)


random = types.SimpleNamespace(RandomState=RandomState)


# ----------------------------------------------------------------------------------------------
# cupyx: scatter_add
# ----------------------------------------------------------------------------------------------

_ATOMIC_ADD = (np.int32, np.uint32, np.uint64, np.float16, np.float32, np.float64)


def scatter_add(a, slices, value):
    """``cupyx.scatter_add``: ``a[slices] += value`` with repeated indices summed (numpy.add.at)."""
    if not isinstance(a, ndarray):
        raise TypeError(f"scatter_add: a: expected a device array, got {type(a)}")
    key = ndarray._key(slices)
    if ndarray._advanced(slices) and a.dtype.type not in _ATOMIC_ADD:
        raise TypeError("scatter_add only supports int32, float16, float32, float64, uint32, uint64, as data type")
    v = value._a if isinstance(value, ndarray) else value
    np.add.at(a._a, key, v)


cupyx = types.SimpleNamespace(scatter_add=scatter_add)

_MODULE = sys.modules[__name__]


# ----------------------------------------------------------------------------------------------
# The device: synchronisation, properties, memory pool (CuPy's names)
# ----------------------------------------------------------------------------------------------


class MemoryPool:
    """``cupy.cuda.MemoryPool``'s statistics for the stand-in: the bytes of the buffers behind live
    stand-in arrays (views count their buffer once). Like CuPy's pool it keeps what it has
    acquired: ``total_bytes()`` only falls when ``free_all_blocks()`` releases the free part."""

    def __init__(self):
        self._live = {}  # id of a buffer -> its bytes
        self._used = self._total = 0

    def track(self, a):
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        key = id(root)
        if key not in self._live:
            self._live[key] = root.nbytes
            self._used += root.nbytes
            if self._used > self._total:
                self._total = self._used
            weakref.finalize(root, self._release, key)

    def _release(self, key):
        self._used -= self._live.pop(key)

    def used_bytes(self):
        return self._used

    def total_bytes(self):
        return self._total

    def free_bytes(self):
        return self._total - self._used

    def free_all_blocks(self, stream=None):
        self._total = self._used


_pool = None


def get_default_memory_pool():
    """``cupy.get_default_memory_pool()``: counting starts at the first call."""
    global _pool
    if _pool is None:
        _pool = MemoryPool()
    return _pool


class Device:
    """``cupy.cuda.Device``: device 0 only."""

    def __init__(self, device=None):
        if device not in (None, 0):
            raise ValueError(f"device: the stand-in has one device, 0; got {device!r}")
        self.id = 0

    def synchronize(self):
        """Nothing to wait for: the stand-in's work is done when its call returns."""


def _device_properties(device):
    Device(device)
    return {"name": b"fakecuda (CPU stand-in)", "totalGlobalMem": 0, "major": 0, "minor": 0,
            "multiProcessorCount": 0}


cuda = types.SimpleNamespace(
    Device=Device,
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, getDeviceProperties=_device_properties,
                                  runtimeGetVersion=lambda: 0, driverGetVersion=lambda: 0))


# ----------------------------------------------------------------------------------------------
# Plugging in
# ----------------------------------------------------------------------------------------------


def install():
    """Make this stand-in the array module of tinygan's device 'cuda'."""
    from tinygan import backend
    backend.use_gpu_array_module(_MODULE, cupyx)


def uninstall():
    from tinygan import backend
    backend.use_gpu_array_module(None)


def installed():
    """True when tinygan's 'cuda' device is this stand-in (not a real GPU)."""
    from tinygan import backend
    return backend._cupy is _MODULE


def _main(argv):
    """``python tests/fakecupy.py -m MODULE [ARGS...]``: run MODULE as ``python -m`` does, with
    device "cuda" played by the stand-in."""
    if len(argv) < 2 or argv[0] != "-m":
        sys.exit("usage: python tests/fakecupy.py -m MODULE [ARGS...]  (MODULE run with device 'cuda' played by "
                 "the CPU stand-in)")
    install()
    sys.argv = [argv[1]] + argv[2:]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    import fakecupy  # this file under its own name (its directory is sys.path[0]), the one tinygan will use
    fakecupy._main(sys.argv[1:])
