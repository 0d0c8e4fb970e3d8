"""docs/reading.md stays true to what a training step runs (scripts/reading_path.py), the
textbook path stays short, and the kernels change nothing in it but skipping what they replace."""

from pathlib import Path

import pytest

from helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reading.md"
LIMITS = {"vanilla": 900, "dcgan": 1200}  # lines of the textbook path of one step


@pytest.fixture(scope="module")
def reading_path():
    return load_script("reading_path")


@pytest.fixture(scope="module")
def traces(reading_path):
    """{(recipe, kernels on): {file: [code objects]}}, each traced once for the module."""
    cache = {}

    def trace(name, on=False):
        if (name, on) not in cache:
            cache[(name, on)] = reading_path.trace_step(name, kernels_on=on)
        return cache[(name, on)]
    return trace


@pytest.mark.parametrize("name", ["vanilla", "dcgan"])
def test_the_doc_lists_what_the_step_runs(reading_path, traces, name):
    blocks = {m.group(2): m.group(3) for m in reading_path.BLOCK.finditer(DOC.read_text(encoding="utf-8"))}
    assert name in blocks, f"docs/reading.md has no generated table for {name}"
    expected = reading_path.as_markdown(name, reading_path.summary(traces(name))) + "\n"
    assert blocks[name] == expected, ("docs/reading.md is out of date: run "
                                      "python scripts/reading_path.py --write docs/reading.md")


@pytest.mark.parametrize("name", ["vanilla", "dcgan"])
def test_the_textbook_path_of_a_step_stays_short(reading_path, traces, name):
    rows = reading_path.summary(traces(name))
    assert reading_path.total(rows) <= LIMITS[name]
    assert not any(path.startswith("kernels/") for _, path, _, _ in rows)  # the kernels were off


def test_with_the_kernels_on_the_step_enters_them_and_skips_only_what_they_replace(reading_path, traces):
    off, on = traces("dcgan"), traces("dcgan", True)
    assert any(path.startswith("kernels/") for path in on)

    def names(files):
        return {(path, name) for _, path, funcs, _ in reading_path.summary(files) if not path.startswith("kernels/")
                for name, _, _ in funcs}
    assert names(on) <= names(off)
    skipped = {name for path, name in names(off) - names(on)}
    assert {"Conv2d.forward", "ConvTranspose2d.backward", "BatchNorm.backward", "Adam._update"} <= skipped


def test_check_and_write_keep_the_doc_atomic(reading_path, tmp_path, monkeypatch):
    stale = tmp_path / "reading.md"
    stale.write_text("# title\n\n<!-- reading_path vanilla -->\n| old |\n<!-- end -->\n", encoding="utf-8")
    monkeypatch.setattr(reading_path, "trace_step", lambda name, kernels_on=False: {})
    assert reading_path.main(["--check", str(stale)]) == 1
    assert reading_path.main(["--write", str(stale)]) == 0
    assert "| **total** | 0 files | **0** |" in stale.read_text(encoding="utf-8")
    assert reading_path.main(["--check", str(stale)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["reading.md"]  # no temporary file left behind
    empty = tmp_path / "empty.md"
    empty.write_text("nothing generated here\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no '<!-- reading_path RECIPE -->'"):
        reading_path.main(["--check", str(empty)])
