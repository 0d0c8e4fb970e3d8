"""Random numbers from one seed, on either device.

tinygan keeps its own generator per device (a NumPy ``Generator`` on the CPU, a CuPy
``RandomState`` on the GPU), so ``manual_seed(s)`` fixes every random draw the library makes:
initial weights, latent batches, shuffling, dropout masks. Random arrays are made directly on
the device they are used on, never drawn on the host and copied over.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from tinygan import backend

_seed = 0
_generators = {}


def manual_seed(seed):
    """Seed the generators of both backends (the GPU one is re-made when first used)."""
    global _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _generators.clear()


def generator(device=None):
    """The generator of ``device`` (default device when None)."""
    device = device or backend.get_default_device()
    gen = _generators.get(device)
    if gen is None:
        if device == "cpu":
            gen = np.random.Generator(np.random.PCG64(_seed))
        else:
            gen = backend.xp_for(device).random.RandomState(_seed)
        _generators[device] = gen
    return gen


def get_rng_state():
    """The CPU generator's state as a JSON-serialisable dict (for exact resume)."""
    return generator("cpu").bit_generator.state


def set_rng_state(state):
    generator("cpu").bit_generator.state = state


@contextmanager
def seeded(seed):
    """Run the block with the generators seeded with ``seed``; restore them afterwards, so that
    what the block draws (an evaluation's latents) leaves a training run's stream untouched.

    The CPU generator's state is saved and put back through get/set_rng_state; the seed and the
    generator objects of other devices are restored too (``manual_seed`` drops them, and a GPU
    run draws its noise from the 'cuda' one).
    """
    global _seed
    cpu_state = get_rng_state()
    saved_seed, saved_generators = _seed, dict(_generators)
    manual_seed(seed)
    try:
        yield
    finally:
        _generators.clear()
        _generators.update(saved_generators)
        _seed = saved_seed
        set_rng_state(cpu_state)


def _dtype(dtype):
    return np.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def randn(*shape, device=None, dtype=None):
    """Standard normal samples, N(0, 1)."""
    device = device or backend.get_default_device()
    return generator(device).standard_normal(size=shape, dtype=_dtype(dtype))


def rand(*shape, device=None, dtype=None):
    """Uniform samples in [0, 1)."""
    device = device or backend.get_default_device()
    gen = generator(device)
    if device == "cpu":
        return gen.random(size=shape, dtype=_dtype(dtype))
    return gen.random_sample(size=shape, dtype=_dtype(dtype))


def randint(low, high, shape, device=None):
    """Integers uniform in [low, high), int64."""
    device = device or backend.get_default_device()
    gen = generator(device)
    if device == "cpu":
        return gen.integers(low, high, size=shape, dtype=np.int64)
    return gen.randint(low, high, size=shape, dtype=np.int64)


def permutation(n, device="cpu"):
    """A random permutation of range(n)."""
    return generator(device).permutation(int(n))  # CuPy takes only a Python int as a count
