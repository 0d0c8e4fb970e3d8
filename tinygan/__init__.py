"""tinygan: a GAN engine written from scratch on NumPy, with CuPy as a drop-in GPU backend."""

from tinygan.backend import get_default_device, get_default_dtype, gpu_available, set_default_device, set_default_dtype
from tinygan.random import manual_seed
from tinygan.tensor import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad
from tinygan.ops import *  # noqa: F401,F403  (the functional API: tinygan.exp, tinygan.matmul, ...)
from tinygan.ops import __all__ as _ops_all
from tinygan.gradcheck import gradcheck, gradgradcheck
from tinygan.profiler import profile
from tinygan import kernels  # noqa: E402  (the fast paths register themselves; nothing else happens at import)

__version__ = "0.1.0"

__all__ = [
    "Function", "Tensor", "enable_grad", "get_default_device", "get_default_dtype", "gpu_available", "grad",
    "gradcheck", "gradgradcheck", "is_grad_enabled", "manual_seed", "no_grad", "profile", "set_default_device",
    "set_default_dtype",
] + list(_ops_all)
