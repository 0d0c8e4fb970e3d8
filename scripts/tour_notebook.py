"""docs/tour.ipynb from docs/tour.md: the tour as a notebook, for Jupyter or a hosted notebook service.

    python scripts/tour_notebook.py            # writes docs/tour.ipynb
    python scripts/tour_notebook.py --check    # exit status 1 when docs/tour.ipynb is not what tour.md gives

No Jupyter is needed to make it: a notebook is JSON (nbformat 4). Each ```python block of the
tour becomes a code cell and the text between blocks a markdown cell (other fenced blocks, the
formulas, stay in the markdown). A first pair of cells sets the notebook up: in a clone, it
moves to the repository root, where the tour's code runs; on a hosted service, it clones the
repository (its URL from pyproject.toml's [project.urls], when given) and installs it. The
output has no outputs, no execution counts and numbered cell ids, so the file changes only when
the tour does (tests/test_tour.py fails when it is stale).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "docs" / "tour.md"
NOTEBOOK = ROOT / "docs" / "tour.ipynb"

SETUP_TEXT = """## Setup

Run the next cell first. Opened from a clone of tinygan (Jupyter started in the repository or
in `docs/`), it moves to the repository root, where the tour's code expects to run, and imports
tinygan from the clone (install it once with `pip install -e ".[test]"`). On a hosted notebook
service, it clones the repository and installs it with pip. The tour runs on the CPU; to train
on a GPU afterwards, install the `[gpu]` extra, which brings CuPy (`pip install -e ".[gpu]"`),
and pass `--device cuda` to `tinygan train`."""

SETUP_CODE = """import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = {url!r}  # the git URL to clone on a hosted notebook service

if Path("../tinygan/__init__.py").is_file() and not Path("tinygan/__init__.py").is_file():
    os.chdir("..")                                   # opened from docs/: run from the repository root
if not Path("tinygan/__init__.py").is_file():        # a hosted service: fetch and install tinygan
    if not REPOSITORY:
        raise RuntimeError("set REPOSITORY above to the git URL of tinygan's repository, or open this notebook "
                           "from a clone")
    if not Path("tinygan-repo").is_dir():
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "tinygan-repo"], check=True)
    os.chdir("tinygan-repo")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "."], check=True)  # ".[gpu]" for CuPy
if os.getcwd() not in sys.path:
    sys.path.insert(0, os.getcwd())                  # the clone's tinygan, without restarting the kernel

import tinygan
print("tinygan", tinygan.__version__, "from", Path(tinygan.__file__).parent)"""


def repository_url(pyproject):
    """The repository's URL from pyproject.toml's [project.urls] (Repository, Source or
    Homepage), or "" when it names none."""
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    section = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
    if not section:
        return ""
    for key in ("Repository", "Source", "Homepage"):
        found = re.search(rf'^\s*"?{key}"?\s*=\s*"([^"]+)"', section.group(1), flags=re.M | re.I)
        if found:
            return found.group(1)
    return ""


def split_tour(text):
    """[(kind, source)]: "markdown" for the text between ```python blocks, "code" for each block."""
    cells, pos = [], 0
    for block in re.finditer(r"^```python\n(.*?)^```\n?", text, flags=re.M | re.S):
        cells.append(("markdown", text[pos:block.start()]))
        cells.append(("code", block.group(1)))
        pos = block.end()
    cells.append(("markdown", text[pos:]))
    return [(kind, source.strip("\n")) for kind, source in cells if source.strip()]


def _lines(source):
    lines = source.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def notebook(text, url=""):
    """The nbformat-4 notebook (a dict) of the tour's text."""
    cells = [("markdown", SETUP_TEXT), ("code", SETUP_CODE.format(url=url))] + split_tour(text)
    out = []
    for i, (kind, source) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i:03d}", "metadata": {}, "source": _lines(source)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {
        "cells": out,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_text(text, url=""):
    """The notebook as the file holds it: JSON with sorted keys, one space of indent, UTF-8."""
    return json.dumps(notebook(text, url), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether docs/tour.ipynb is up to date")
    args = parser.parse_args(argv)
    wanted = notebook_text(TOUR.read_text(encoding="utf-8"), repository_url(ROOT / "pyproject.toml"))
    current = NOTEBOOK.read_text(encoding="utf-8") if NOTEBOOK.is_file() else None
    if args.check:
        if current != wanted:
            print(f"{NOTEBOOK.relative_to(ROOT)} is stale: run python scripts/tour_notebook.py", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK.relative_to(ROOT)} is up to date")
        return 0
    if current != wanted:
        from tinygan.data.atomic import atomic_write
        with atomic_write(NOTEBOOK) as f:
            f.write(wanted.encode("utf-8"))
    print(f"wrote {NOTEBOOK.relative_to(ROOT)}: {len(notebook(TOUR.read_text(encoding='utf-8'))['cells'])} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
