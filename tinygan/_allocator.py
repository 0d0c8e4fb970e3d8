"""Keep freed memory for reuse instead of returning it to the OS (glibc only).

A training step allocates and frees the same large temporaries every iteration (im2col
columns of 10+ MB, activations, gradients). glibc serves blocks above its mmap threshold with
fresh mmap()ed pages and unmaps them on free, so every iteration page-faults the same memory
in again, zero-filled by the kernel: about a quarter of a DCGAN step on a 2-core CPU. Raising
the mmap threshold to its maximum (32 MB on 64-bit) and the trim threshold makes freed blocks
go back to the heap and be reused; the process's peak memory is unchanged, but it stays at
that peak instead of shrinking between steps.

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


def tune():
    """Apply the settings once; returns True when glibc accepted them."""
    if os.environ.get("TINYGAN_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
