"""Checkpoints: modules, optimizers, metadata and extra arrays in one ``.npz`` file, without pickle.

Format (version 1): one NumPy ``.npz`` archive, written with ``np.savez`` and read with
``np.load(path, allow_pickle=False)``, whose entries are

    model/<module name>/<state name>    each entry of each module's state_dict (parameters and
                                        buffers, host arrays in their own dtype), e.g. model/G/0.weight
    optim/<optimizer name>/<i>.<key>    each buffer of each optimizer's state_dict, e.g. optim/opt_g/0.exp_avg
    extra/<name>                        each extra array passed by the caller (fixed latents, ...)
    __meta__.json                       a uint8 array holding UTF-8 JSON text:

    {"format": "tinygan-checkpoint", "version": 1, "tinygan_version": "0.1.0",
     "modules": ["G", "D"], "module_types": {"G": "Sequential", "D": "Sequential"},
     "optimizers": {"opt_g": {"type": "Adam", "hyper": {"lr": 0.0002, "betas": [0.5, 0.999], ...},
                              "step_count": 3, "num_params": 8}, ...},
     "extras": ["fixed_z"],
     "meta": {...}}                     the caller's metadata (JSON: tuples come back as lists)

So a checkpoint is readable with NumPy alone, and loading one never runs code from the file.

Writing is atomic: the archive goes to a temporary file in the destination's directory, is
flushed and fsync'ed, and only then renamed onto the final name (``os.replace``). A crash or
an error mid-write leaves the previous checkpoint of that name as it was and no temporary file.

Loading checks everything it can before it assigns anything: that the file is a complete
``.npz`` archive, that it carries tinygan metadata, that every requested module and optimizer
is in it, and that every optimizer buffer fits its parameter. A module that refuses its state
(``load_state_dict`` changes nothing when it refuses) is reported with the file and module name,
and the modules and optimizers loaded before it are put back as they were: either the whole
checkpoint loads, or nothing changes. Every problem with the file is a ``CheckpointError``.
"""

from __future__ import annotations

import json
import os
import secrets

import numpy as np

from tinygan import __version__, backend
from tinygan.nn.module import Module
from tinygan.optim import Optimizer
from tinygan.tensor import Tensor

FORMAT = "tinygan-checkpoint"
VERSION = 1
META_KEY = "__meta__.json"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded: truncated, not an .npz, not tinygan's, or not
    matching the modules and optimizers it is loaded into. The message names the file."""


# ----------------------------------------------------------------------------------------------
# Saving
# ----------------------------------------------------------------------------------------------


def _check_names(kind, table, expected_type):
    table = dict(table or {})
    for name, value in table.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"save_checkpoint: {kind} names must be non-empty strings without '/', got {name!r}")
        if expected_type is not None and not isinstance(value, expected_type):
            raise TypeError(f"save_checkpoint: {kind}[{name!r}]: expected a {expected_type.__name__}, "
                            f"got {type(value).__name__}")
    return table


def _plain(value):
    """Hyper-parameters as plain JSON values (NumPy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def save_checkpoint(path, modules, optimizers=None, meta=None, arrays=None):
    """Write ``modules`` (name -> Module), ``optimizers`` (name -> Optimizer), ``meta`` (a
    JSON-serialisable dict) and ``arrays`` (name -> array) to ``path`` as one .npz file,
    atomically (see the module docstring for the format). Returns ``path``."""
    path = os.fspath(path)
    modules = _check_names("modules", modules, Module)
    optimizers = _check_names("optimizers", optimizers, Optimizer)
    arrays = _check_names("arrays", arrays, None)
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        raise TypeError(f"save_checkpoint: meta: expected a dict, got {type(meta).__name__}")

    entries = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            entries[f"model/{name}/{key}"] = value
    doc_optimizers = {}
    for name, opt in optimizers.items():
        state = opt.state_dict()
        for key, value in state["arrays"].items():
            entries[f"optim/{name}/{key}"] = value
        doc_optimizers[name] = {"type": state["type"], "hyper": state["hyper"], "step_count": state["step_count"],
                                "param_steps": state["param_steps"], "num_params": len(opt.params)}
    for name, value in arrays.items():
        value = value.numpy() if isinstance(value, Tensor) else np.asarray(backend.to_numpy(value))
        if value.dtype.kind not in "biufc":
            raise TypeError(f"save_checkpoint: arrays[{name!r}]: expected a numeric array, got dtype {value.dtype} "
                            "(checkpoints never hold pickled objects)")
        entries[f"extra/{name}"] = value

    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_checkpoint: meta must be JSON-serialisable (dicts, lists, strings, numbers, "
                        f"booleans, None): {exc}") from None
    doc = {"format": FORMAT, "version": VERSION, "tinygan_version": __version__,
           "modules": list(modules), "module_types": {k: type(m).__name__ for k, m in modules.items()},
           "optimizers": doc_optimizers, "extras": list(arrays), "meta": meta}
    try:
        text = json.dumps(doc, default=_plain)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_checkpoint: optimizer hyper-parameters must be JSON-serialisable: {exc}") from None
    entries[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    _write_atomically(path, entries)
    return path


def _write_atomically(path, entries):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_checkpoint: the directory of {path} does not exist")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:
            np.savez(f, **entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX; not possible on every platform)
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------


ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")   # a zip archive (an .npz), or an empty one
NPY_MAGIC = b"\x93NUMPY"
KNOWN_HEADERS = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                 (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip file"))


def _check_kind(path):
    """Refuse, in words, a path that is not a file or a file that is not a zip archive at all (an
    image, a text file, a single .npy array), before NumPy tries to read it."""
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: a directory, not a checkpoint file (a checkpoint is one .npz file, "
                              f"e.g. {os.path.join(path, 'checkpoint.npz')})")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_checkpoint: no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(ZIP_MAGIC):
        return
    if head.startswith(NPY_MAGIC):
        raise CheckpointError(f"{path}: not a tinygan checkpoint (a single .npy array, not an .npz archive)")
    kind = next((name for magic, name in KNOWN_HEADERS if head.startswith(magic)), None)
    if kind is None:
        kind = "an empty file" if not head else "a text file" if _is_text(head) else "not a zip archive"
    raise CheckpointError(f"{path}: not a tinygan checkpoint ({kind}; a checkpoint is an .npz archive)")


def _is_text(head):
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c.isspace() for c in text)


def _read(path, keys=None):
    """The entries of the archive (all of them, or those in ``keys``; each read completely, so that
    a corrupt member fails here) and the parsed metadata."""
    _check_kind(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: not a tinygan checkpoint (a single .npy array, not an .npz archive)")
        with archive:
            entries = {key: archive[key] for key in archive.files if keys is None or key in keys}
    except CheckpointError:
        raise
    except Exception as exc:  # zipfile, zlib, numpy's format checks, pickle refusal: all mean "corrupt"
        raise CheckpointError(f"{path}: not a readable .npz archive (truncated, corrupt, or another kind of "
                              f"file): {type(exc).__name__}: {exc}") from exc

    raw = entries.pop(META_KEY, None)
    if raw is None:
        raise CheckpointError(f"{path}: not a tinygan checkpoint (an .npz archive without the "
                              f"'{META_KEY}' metadata entry)")
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"expected a 1-d uint8 array, got dtype {raw.dtype} and shape {raw.shape}")
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not a tinygan checkpoint (unreadable '{META_KEY}': {exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        tag = doc.get("format") if isinstance(doc, dict) else None
        raise CheckpointError(f"{path}: not a tinygan checkpoint (format tag {tag!r}, expected {FORMAT!r})")
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r}; this tinygan reads versions 1 to "
                              f"{VERSION} (was it written by a newer tinygan?)")
    for field, kind in (("modules", list), ("optimizers", dict), ("extras", list), ("meta", dict)):
        if not isinstance(doc.get(field), kind):
            raise CheckpointError(f"{path}: corrupt metadata: '{field}' should be a {kind.__name__}, "
                                  f"got {type(doc.get(field)).__name__}")
    return entries, doc


def _section(entries, prefix):
    """The entries under ``prefix`` (e.g. 'model/G/'), with the prefix removed, in file order."""
    return {key[len(prefix):]: value for key, value in entries.items() if key.startswith(prefix)}


def _optimizer_state(path, name, opt, info, buffers):
    """The state dict to give ``opt``, after checking that it fits (nothing is assigned here)."""
    where = f"{path}: optimizer {name!r}"
    if not isinstance(info, dict) or not {"type", "hyper", "step_count", "num_params"} <= set(info):
        raise CheckpointError(f"{where}: corrupt metadata entry {info!r}")
    if info["type"] != type(opt).__name__:
        raise CheckpointError(f"{where}: the checkpoint holds a {info['type']} optimizer, "
                              f"it is being loaded into a {type(opt).__name__}")
    if info["num_params"] != len(opt.params):
        raise CheckpointError(f"{where}: the checkpoint's optimizer has {info['num_params']} parameters, "
                              f"this one has {len(opt.params)}")
    arrays = {}
    for key, value in buffers.items():
        index, _, buffer = key.partition(".")
        if not index.isdigit() or not buffer or int(index) >= len(opt.params):
            raise CheckpointError(f"{where}: unexpected buffer {key!r} (expected '<parameter index>.<name>' with an "
                                  f"index below {len(opt.params)})")
        shape = tuple(opt.params[int(index)].shape)
        if tuple(value.shape) != shape:
            raise CheckpointError(f"{where}: buffer {key!r}: expected shape {shape} (its parameter's), "
                                  f"got {tuple(value.shape)}")
        arrays[key] = value
    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in info["hyper"].items()}  # JSON made tuples lists
    return {"type": info["type"], "hyper": hyper, "step_count": info["step_count"],
            "param_steps": info.get("param_steps", [info["step_count"]] * len(opt.params)), "arrays": arrays}


def read_meta(path):
    """The caller's metadata of a checkpoint (what ``save_checkpoint`` got as ``meta``), read
    without its arrays: a quick look at a run before anything is built for it. Raises
    CheckpointError (or FileNotFoundError) as ``load_checkpoint`` does."""
    path = os.fspath(path)
    return _read(path, keys={META_KEY})[1]["meta"]


def load_checkpoint(path, modules=None, optimizers=None, strict=True):
    """Load a checkpoint written by ``save_checkpoint`` into ``modules`` and ``optimizers``
    (name -> object; each name must be in the file, the file may hold more). ``strict`` is
    passed to each module's ``load_state_dict``. Returns ``(meta, arrays)``: the caller's
    metadata and the extra arrays. Raises CheckpointError, changing nothing, when the file
    is not a complete tinygan checkpoint or does not fit."""
    path = os.fspath(path)
    modules, optimizers = dict(modules or {}), dict(optimizers or {})
    entries, doc = _read(path)

    # 1. Check everything that can be checked without touching the objects.
    for kind, table, available in (("module", modules, doc["modules"]), ("optimizer", optimizers, doc["optimizers"])):
        for name in table:
            if name not in available:
                raise CheckpointError(f"{path}: no {kind} {name!r} in this checkpoint (it has: "
                                      f"{', '.join(map(str, available)) or 'none'})")
    module_states = {name: _section(entries, f"model/{name}/") for name in modules}
    optimizer_states = {name: _optimizer_state(path, name, opt, doc["optimizers"][name],
                                               _section(entries, f"optim/{name}/"))
                        for name, opt in optimizers.items()}

    # 2. Assign; a module that refuses its state puts everything loaded before it back.
    done = []  # (object, its state before loading)
    try:
        for name, module in modules.items():
            before = module.state_dict()
            try:
                module.load_state_dict(module_states[name], strict=strict)
            except (ValueError, TypeError) as exc:
                raise CheckpointError(f"{path}: module {name!r}: {exc}") from exc
            done.append((module, before))
        for name, opt in optimizers.items():
            before = opt.state_dict()
            try:
                opt.load_state_dict(optimizer_states[name])
            except (ValueError, TypeError) as exc:
                raise CheckpointError(f"{path}: optimizer {name!r}: {exc}") from exc
            done.append((opt, before))
    except BaseException:
        for obj, before in reversed(done):
            obj.load_state_dict(before)
        raise

    extras = {name: entries[f"extra/{name}"] for name in doc["extras"] if f"extra/{name}" in entries}
    return doc["meta"], extras


__all__ = ["CheckpointError", "load_checkpoint", "read_meta", "save_checkpoint"]
