"""Keep freed memory for reuse instead of returning it to the OS (glibc only).

A training step allocates and frees the same large temporaries every iteration (im2col
columns of 10+ MB, activations, gradients). glibc serves blocks above its mmap threshold with
fresh mmap()ed pages and unmaps them on free, so every iteration page-faults the same memory
in again, zero-filled by the kernel: about a quarter of a DCGAN step on a 2-core CPU. Raising
the mmap threshold to its maximum (32 MB on 64-bit) and the trim threshold makes freed blocks
go back to the heap and be reused; the process's peak memory is unchanged, but it stays at
that peak instead of shrinking between steps.

This changes the whole process, so nothing here runs at import: ``tinygan.kernels`` calls
``tune()`` the first time a kernel runs, and ``restore()`` when the kernels are switched off.
Set TINYGAN_MALLOC=default to leave the allocator alone. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 2**20   # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 1024 * 2**20
DEFAULT_THRESHOLD = 128 * 2**10   # glibc's starting value of both thresholds

_tuned = False


def _mallopt():
    """glibc's ``mallopt``, or None where it is not to be used (TINYGAN_MALLOC=default, not glibc)."""
    if os.environ.get("TINYGAN_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def tune():
    """Raise both thresholds (once); True when glibc accepted them."""
    global _tuned
    mallopt = None if _tuned else _mallopt()
    if mallopt is None:
        return False
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _tuned


def restore():
    """Put both thresholds back to glibc's default, 128 KiB, if ``tune`` raised them. As close to
    glibc's own behaviour as mallopt allows: by default the mmap threshold also grows by itself
    (up to 32 MB, to the size of large blocks freed), and once set it no longer does."""
    global _tuned
    mallopt = _mallopt() if _tuned else None
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, DEFAULT_THRESHOLD)
        mallopt(M_TRIM_THRESHOLD, DEFAULT_THRESHOLD)
    _tuned = False
