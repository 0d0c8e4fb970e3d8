"""How an answer is graded: the checker runs it on inputs of its own and compares what comes out
with tinygan (or with finite differences); the first thing found wrong is told in words (which
input, which value, what was expected and what came), never the answer itself.

A checker is a function ``checker(answer) -> str``: it returns what it verified, or raises
``Wrong`` with what is wrong. Code that runs the learner's answer runs inside
``answering("your d_step")``, so that an exception of the answer becomes a ``Wrong`` that names
it and the line it came from, instead of a traceback; an exception anywhere else is a bug of the
checker and propagates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import traceback
from pathlib import Path

import numpy as np

from tinygan import backend
from tinygan.tensor import Tensor

_PACKAGE = Path(__file__).resolve().parents[1]  # tinygan/


class Wrong(Exception):
    """What is wrong with an answer, for the learner: which input, which value, expected and got."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str
    chapter: int      # of docs/tour.md
    task: str         # what to write, in one line
    checker: object = dataclasses.field(repr=False)


EXERCISES = {}


def exercise(name, chapter, task):
    """Register the decorated checker as exercise ``name`` of tour chapter ``chapter``."""
    def register(checker):
        if name in EXERCISES:
            raise ValueError(f"exercise {name!r} is registered twice")
        EXERCISES[name] = Exercise(name, chapter, task, checker)
        return checker
    return register


def _where(exc):
    """' (in backward, line 7)': the innermost frame of the traceback outside tinygan, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not Path(f.filename).resolve().is_relative_to(_PACKAGE)]
    if not frames:
        return ""
    f = frames[-1]
    return f" (in {f.name}, line {f.lineno})"


@contextlib.contextmanager
def answering(what):
    """Run code that calls the answer: its exceptions become ``Wrong("{what} raised ...")``."""
    try:
        yield
    except Wrong:
        raise
    except RecursionError as exc:
        raise Wrong(f"{what} raised RecursionError ({exc}){_where(exc)}") from None
    except Exception as exc:  # noqa: BLE001 (a learner's mistake is reported, never a traceback)
        raise Wrong(f"{what} raised {type(exc).__name__}: {exc}{_where(exc)}") from None


def describe(value):
    """A short description of a value a learner returned: its type, and the value when small."""
    if value is None:
        return "None"
    if value is Ellipsis:
        return "... (the exercise's placeholder)"
    if isinstance(value, Tensor):
        return f"a Tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (int, float, np.number)):
        return f"the number {value!r}"
    text = repr(value)
    return f"a {type(value).__name__}" + (f" ({text})" if len(text) <= 40 else "")


def to_array(value, what, shape=None):
    """A learner's result as a float64 NumPy array (from a Tensor, an array or a number), or Wrong."""
    if isinstance(value, Tensor):
        value = backend.to_numpy(value.data)
    elif backend.device_of(value) == "cuda":
        value = backend.to_numpy(value)
    if not isinstance(value, (np.ndarray, int, float, np.number, list, tuple)) or isinstance(value, bool):
        raise Wrong(f"{what} is {describe(value)}; expected numbers" + (f" of shape {shape}" if shape else ""))
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} is {describe(value)}; expected numbers") from None
    if shape is not None and array.shape != tuple(shape):
        if array.size == int(np.prod(shape)) and array.size == 1:
            return array.reshape(shape)
        raise Wrong(f"{what} has shape {array.shape}; expected shape {tuple(shape)}")
    return array


def number(x):
    """A number as a learner reads it: 6 significant digits."""
    return f"{float(x):.6g}"


def numbers(a, limit=6):
    """A short list of numbers: [-2, -0.3, 0.4] (the first ``limit`` of them)."""
    flat = np.asarray(a, dtype=np.float64).ravel()
    text = ", ".join(number(v) for v in flat[:limit])
    return f"[{text}{', ...' if flat.size > limit else ''}]"


def mismatch(got, expected, rtol=1e-5, atol=1e-8):
    """The index of the worst element where ``got`` and ``expected`` differ beyond the tolerance
    (NaN counts as a difference), or None when they agree."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    err = np.abs(got - expected) - (atol + rtol * np.abs(expected))
    err = np.where(np.isnan(got) & ~np.isnan(expected), np.inf, err)
    if err.size == 0 or not err.max() > 0:
        return None
    return np.unravel_index(int(np.argmax(err)), err.shape)


def at(index):
    """'[1, 2]' for an index tuple; '' for a 0-d one."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]" if len(index) else ""


def compare(got, expected, what, where="", rtol=1e-5, atol=1e-8):
    """Raise Wrong naming the first element of ``what`` that differs from ``expected``."""
    index = mismatch(got, expected, rtol, atol)
    if index is not None:
        got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        raise Wrong(f"{where}{what}{at(index)} is {number(got[index])}, expected {number(expected[index])}")
