"""The reading path: every function of tinygan that one training step runs, file by file.

    python scripts/reading_path.py vanilla                  # the textbook path (kernels off)
    python scripts/reading_path.py dcgan --kernels on       # the same step with the kernels
    python scripts/reading_path.py vanilla dcgan --markdown # the tables of docs/reading.md
    python scripts/reading_path.py --check docs/reading.md  # exit 1 when the doc's tables are stale
    python scripts/reading_path.py --write docs/reading.md  # rewrite them

The recipe's Trainer runs one warm-up step, then one more under ``sys.setprofile``: every call
of a Python function whose code lies in the tinygan package is recorded, except in the parts a
reader of the step can leave aside: data loading (``tinygan/data/``, ``Trainer._batches``),
checkpoints, the command line, plots, metrics and the profiler. A function counts its lines
from its ``def`` to its last line, docstring included; one that runs inside another that ran (a
closure, a lambda) is part of it and is not counted twice. Files come in reading order: the
engine, the ops, the layers, the optimizer, the loss, the trainer, and with the kernels on,
``tinygan/kernels/``.

The step is on the CPU at batch 64, with the recipe's default configuration; the images are
random (the loader is left out, and which functions run does not depend on pixel values).
"""

from __future__ import annotations

import argparse
import collections
import inspect
import os
import re
import sys
import tempfile

import numpy as np

import tinygan
from tinygan import kernels
from tinygan.data.atomic import atomic_write
from tinygan.gan.registry import get_recipe
from tinygan.gan.trainer import TrainConfig, Trainer

PACKAGE = os.path.dirname(os.path.abspath(tinygan.__file__))
LEFT_OUT = ("data/", "checkpoint.py", "cli.py", "viz.py", "metrics/", "profiler.py", "graph.py")
LEFT_OUT_FUNCTIONS = {("gan/trainer.py", "Trainer._batches")}
# Reading order: groups, and within each the files a reader meets first; other files of a group
# follow its listed ones, by name.
GROUPS = [
    ("engine", ["tensor.py", "backend.py", "random.py"]),
    ("ops", ["ops/_util.py", "ops/math.py", "ops/reduce.py", "ops/shape.py", "ops/linalg.py", "ops/activation.py",
             "ops/nn.py", "ops/norm.py", "ops/conv.py"]),
    ("layers", ["nn/module.py", "nn/_checks.py", "nn/linear.py", "nn/activation.py", "nn/norm.py", "nn/shape.py",
                "nn/conv.py"]),
    ("optimizer", ["optim.py"]),
    ("loss", ["gan/losses.py"]),
    ("trainer", ["gan/recipe.py"]),
    ("kernels", ["kernels/__init__.py", "kernels/pool.py"]),
]
BATCH = 64


def group_of(path):
    if path.startswith("kernels/"):
        return "kernels"
    if path.startswith("ops/"):
        return "ops"
    if path.startswith("nn/"):
        return "layers"
    if path == "optim.py":
        return "optimizer"
    if path == "gan/losses.py":
        return "loss"
    if path.startswith("gan/"):
        return "trainer"
    return "engine"


def reading_order(path):
    group = group_of(path)
    names = [g for g, _ in GROUPS]
    listed = dict(GROUPS)[group]
    last = path == "gan/trainer.py"  # the loop itself closes the path
    return names.index(group), last, listed.index(path) if path in listed else len(listed), path


def trace_step(recipe_name, kernels_on=False, batch=BATCH):
    """{file: [code objects]} of the functions one training step of the recipe runs."""
    previous = kernels.enabled(kernels_on)
    try:
        tinygan.manual_seed(0)
        recipe = get_recipe(recipe_name)(device="cpu")
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (4 * batch, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, 4 * batch)
        loader = recipe.make_loader(images, labels, batch, "cpu")
        with tempfile.TemporaryDirectory() as out:
            trainer = Trainer(recipe, loader, out, TrainConfig(steps=2), log=lambda line: None)
            batches = trainer._batches()
            trainer._train_step(batches)  # the warm-up: buffers made, kernels started
            seen = {}

            def record(frame, event, arg):
                if event == "call" and frame.f_code.co_filename.startswith(PACKAGE):
                    seen[frame.f_code] = None
            sys.setprofile(record)
            try:
                trainer._train_step(batches)
            finally:
                sys.setprofile(None)
    finally:
        kernels.enabled(previous)
    files = collections.defaultdict(list)
    for code in seen:
        path = os.path.relpath(code.co_filename, PACKAGE).replace(os.sep, "/")
        if path.startswith(LEFT_OUT) or (path, code.co_qualname) in LEFT_OUT_FUNCTIONS:
            continue
        files[path].append(code)
    return files


def functions(codes):
    """[(qualified name, first line, lines)] of the outermost functions among ``codes`` (those
    not inside another one that ran), in the order of the file."""
    spans = []
    for code in codes:
        lines, start = inspect.getsourcelines(code)
        spans.append((start, start + len(lines) - 1, code.co_qualname))
    outer = []
    for first, last, name in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not outer or first > outer[-1][1]:  # functions nest or lie apart: this one is not inside the last
            outer.append((first, last, name))
    return [(name, first, last - first + 1) for first, last, name in outer]


def summary(files):
    """[(group, path, [(name, first line, lines)], lines)] in reading order."""
    rows = []
    for path in sorted(files, key=reading_order):
        funcs = functions(files[path])
        rows.append((group_of(path), path, funcs, sum(n for _, _, n in funcs)))
    return rows


def as_text(recipe_name, kernels_on, rows):
    out = [f"{recipe_name}: one training step (batch {BATCH}, CPU, kernels {'on' if kernels_on else 'off'}), "
           "the functions it runs"]
    group = None
    for g, path, funcs, lines in rows:
        if g != group:
            out.append(f"\n{g}")
            group = g
        out.append(f"  tinygan/{path:<40}{lines:>6} lines, {len(funcs)} functions")
        out += [f"      {name:<52}{n:>4}" for name, _, n in funcs]
    out.append(f"\ntotal: {total(rows)} lines, {sum(len(f) for _, _, f, _ in rows)} functions, {len(rows)} files")
    return "\n".join(out)


def total(rows):
    return sum(lines for _, _, _, lines in rows)


def as_markdown(recipe_name, rows):
    """The table of docs/reading.md for one recipe (kernels off)."""
    out = ["| part | file | lines | functions that ran (lines) |", "| --- | --- | ---: | --- |"]
    for group, path, funcs, lines in rows:
        names = ", ".join(f"`{name}` ({n})" for name, _, n in funcs)
        out.append(f"| {group} | `tinygan/{path}` | {lines} | {names} |")
    out.append(f"| **total** | {len(rows)} files | **{total(rows)}** | {sum(len(f) for _, _, f, _ in rows)} functions |")
    return "\n".join(out)


BLOCK = re.compile(r"(<!-- reading_path (\w+) -->\n)(.*?)(<!-- end -->)", re.S)


def refreshed(text):
    """``text`` (docs/reading.md) with each generated block made anew from a trace."""
    return BLOCK.sub(lambda m: m.group(1) + as_markdown(m.group(2), summary(trace_step(m.group(2)))) + "\n" + m.group(4),
                     text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=["vanilla"], help="recipe names (default: vanilla)")
    parser.add_argument("--kernels", choices=["off", "on"], default="off", help="trace with the kernels off (the "
                        "textbook path, the default) or on")
    parser.add_argument("--markdown", action="store_true", help="print the tables of docs/reading.md")
    parser.add_argument("--check", metavar="DOC", help="exit 1 when DOC's generated tables differ from a new trace")
    parser.add_argument("--write", metavar="DOC", help="rewrite DOC's generated tables from a new trace")
    args = parser.parse_args(argv)
    for doc in (args.check, args.write):
        if doc is None:
            continue
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        if not BLOCK.search(text):
            sys.exit(f"{doc}: no '<!-- reading_path RECIPE -->' ... '<!-- end -->' block to compare")
        new = refreshed(text)
        if args.check:
            if new != text:
                print(f"{doc} is out of date: run python scripts/reading_path.py --write {doc}", file=sys.stderr)
                return 1
            print(f"{doc} is up to date")
            return 0
        with atomic_write(doc) as f:
            f.write(new.encode("utf-8"))
        return 0
    for name in args.recipes:
        rows = summary(trace_step(name, args.kernels == "on"))
        print(as_markdown(name, rows) if args.markdown else as_text(name, args.kernels == "on", rows))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
