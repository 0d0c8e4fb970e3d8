"""docs/tour.md cannot rot: every chapter's ```python blocks run here, in order, in one namespace
per chapter, from a scratch directory that stands for the repository root (so the files they
write go there, and the test sees that nothing lands in the root itself). Then the chapter's
exercise blocks run with their blanks unfilled, and the checker must reject each without a
traceback; then the chapter's solutions from docs/solutions.md run, and the checker must
accept each. docs/tour.ipynb must be what scripts/tour_notebook.py makes of the tour."""

import contextlib
import io
import json
import linecache
import re
import tempfile
from pathlib import Path

import pytest

from tinygan.exercises import EXERCISES, exercises

from helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "docs" / "tour.md"
SOLUTIONS = ROOT / "docs" / "solutions.md"

CHAPTER_TITLES = [
    "From zero: a scalar autograd and a bare GAN loop", "A Tensor and the chain rule",
    "Writing a Function's backward with Tensor ops", "gradcheck: catching a wrong derivative",
    "Convolution as im2col + GEMM, and its adjoint", "Batch-norm's backward", "The GAN game",
    "A variant as a recipe: DCGAN, then WGAN-GP's double backprop", "Adding your own variant",
]
EXERCISES_HEADING = "\n### Exercises\n"


def chapters():
    """[(number, title, text)] of the tour's '## N. Title' sections."""
    text = TOUR.read_text(encoding="utf-8")
    parts = re.split(r"^## (\d+)\. (.+)$", text, flags=re.M)
    return [(int(parts[i]), parts[i + 1].strip(), parts[i + 2]) for i in range(1, len(parts), 3)]


def python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def lesson_and_exercises(text):
    """A chapter's text before its '### Exercises' heading, and after it."""
    lesson, _, practice = text.partition(EXERCISES_HEADING)
    return lesson, practice


def checked_names(text):
    return re.findall(r'^\s*(?:assert )?check\("(\w+)"', text, flags=re.M)


def solutions():
    """{chapter: [(exercise name, its python blocks)]} of docs/solutions.md."""
    found = {}
    for part in re.split(r"^## Chapter ", SOLUTIONS.read_text(encoding="utf-8"), flags=re.M)[1:]:
        number, _, body = part.partition("\n")
        sections = re.split(r"^### (\w+)\n", body, flags=re.M)
        found[int(number)] = [(sections[i], python_blocks(sections[i + 1])) for i in range(1, len(sections), 2)]
    return found


def run(block, namespace, where):
    linecache.cache[where] = (len(block), None, block.splitlines(True), where)  # tracebacks show the line
    exec(compile(block, where, "exec"), namespace)  # noqa: S102 (the tour's own code)


def test_the_tour_has_its_chapters_each_with_code_files_to_read_and_exercises():
    found = chapters()
    assert [(n, t) for n, t, _ in found] == list(enumerate(CHAPTER_TITLES))
    for n, title, text in found:
        lesson, practice = lesson_and_exercises(text)
        assert python_blocks(lesson), f"chapter {n} has no python block"
        assert 2 <= len(checked_names(practice)) <= 3, f"chapter {n}: expected two or three exercises"
        read = re.search(r"\*\*Read:\*\*(.*?)\n\n", lesson, flags=re.S)
        assert read, f"chapter {n} does not say which files to read"
        paths = re.findall(r"`((?:tinygan|demos|tests|scripts)/[\w/]+\.py)`", read.group(1))
        assert paths, f"chapter {n}: no file named in its Read line"
        for p in paths:
            assert (ROOT / p).is_file(), f"chapter {n} points to {p}, which does not exist"
    text = TOUR.read_text(encoding="utf-8")
    for picture in re.findall(r"\((\w+\.png)\)", text):
        assert (TOUR.parent / picture).is_file(), picture
    assert "![the graph of L = (tanh(w x + b) - t)^2" in text  # chapter 1 shows its picture
    assert "graph_dcgan_step.png" in text and "graph_wgan_gp_penalty.png" in text
    assert text.count("*the seed documents*") == 1  # defined once, by title


def test_every_exercise_sits_in_its_chapter_and_has_one_solution():
    in_tour = {n: checked_names(lesson_and_exercises(text)[1]) for n, _, text in chapters()}
    in_solutions = {n: [name for name, _ in found] for n, found in solutions().items()}
    for ex in exercises():
        assert ex.name in in_tour[ex.chapter], f"{ex.name}: not among chapter {ex.chapter}'s exercises"
        assert in_solutions.get(ex.chapter, []).count(ex.name) == 1, f"{ex.name}: one solution in its chapter"
    assert sorted(sum(in_tour.values(), [])) == sorted(EXERCISES)
    assert sorted(sum(in_solutions.values(), [])) == sorted(EXERCISES)
    for chapter, found in solutions().items():
        for name, blocks in found:
            assert blocks and f'assert check("{name}"' in blocks[-1], f"{name}: its solution must end by checking"


@pytest.mark.parametrize("number", range(len(CHAPTER_TITLES)))
def test_chapter_runs_its_exercises_say_not_yet_and_its_solutions_are_right(number, tmp_path, monkeypatch, request):
    _, _, text = chapters()[number]
    root, scratch = tmp_path / "root", tmp_path / "tmp"
    root.mkdir()
    scratch.mkdir()
    if number == 8:  # trains on MNIST, found the way the CLI finds it (tests/conftest.py: mnist_root)
        monkeypatch.setenv("TINYGAN_DATA", str(request.getfixturevalue("mnist_root")))
        from tinygan.gan import registry
        monkeypatch.setattr(registry, "RECIPES", dict(registry.RECIPES))  # the chapter registers a recipe
    monkeypatch.chdir(root)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the tour's temporary files go here
    (root / "demos").symlink_to(ROOT / "demos")  # blocks that load the repository's files find them from here

    namespace = {"__name__": f"tour_chapter_{number}"}
    lesson, practice = lesson_and_exercises(text)
    for i, block in enumerate(python_blocks(lesson)):
        run(block, namespace, f"docs/tour.md, chapter {number}, block {i + 1}")
    for i, block in enumerate(python_blocks(practice)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run(block, namespace, f"docs/tour.md, chapter {number}, exercise block {i + 1}")
        for name in checked_names(block):  # the blanks are not filled in: each answer is rejected, in words
            assert f"{name}: not yet. " in out.getvalue(), out.getvalue()
        assert ": right." not in out.getvalue()
    for name, blocks in dict(solutions())[number]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            for i, block in enumerate(blocks):
                run(block, namespace, f"docs/solutions.md, {name}, block {i + 1}")
        assert out.getvalue().startswith(f"{name}: right. "), out.getvalue()

    left = sorted(p.name for p in root.iterdir())
    assert set(left) <= {"demos", "docs"}, f"chapter {number} left {left} in the repository root"
    for picture in (root / "docs").glob("*") if (root / "docs").exists() else ():
        assert (ROOT / "docs" / picture.name).is_file(), f"chapter {number} writes docs/{picture.name}, not committed"
    if number == 1:
        assert (root / "docs" / "chain_rule.png").stat().st_size > 10_000
    if number in (7, 8):  # its picture or its run went to the temporary directory
        assert list(scratch.glob("tinygan_tour*/*"))


def test_the_notebook_is_the_tour_and_up_to_date(capsys):
    script = load_script("tour_notebook")
    text = TOUR.read_text(encoding="utf-8")
    committed = (ROOT / "docs" / "tour.ipynb").read_text(encoding="utf-8")
    assert committed == script.notebook_text(text, script.repository_url(ROOT / "pyproject.toml")), \
        "docs/tour.ipynb is stale: run python scripts/tour_notebook.py"
    assert script.main(["--check"]) == 0 and "up to date" in capsys.readouterr().out

    nb = json.loads(committed)
    assert nb["nbformat"] == 4 and nb["metadata"]["kernelspec"]["name"] == "python3"
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[1:] == [b.rstrip("\n") for b in python_blocks(text)]  # every block, in order, after the setup
    assert "pip" in code[0] and "install" in code[0] and "[gpu]" in code[0]
    markdown = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "```python" not in markdown and "## 0. From zero" in markdown and "[gpu]" in markdown
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in nb["cells"] if c["cell_type"] == "code")
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


def test_a_stale_notebook_is_caught(tmp_path, monkeypatch, capsys):
    script = load_script("tour_notebook")
    monkeypatch.setattr(script, "TOUR", tmp_path / "tour.md")
    monkeypatch.setattr(script, "NOTEBOOK", tmp_path / "tour.ipynb")
    monkeypatch.setattr(script, "ROOT", tmp_path)
    (tmp_path / "tour.md").write_text("# A tour\n\nSome text.\n\n```python\nx = 1\n```\n", encoding="utf-8")
    assert script.main(["--check"]) == 1 and "stale" in capsys.readouterr().err
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0
    nb = json.loads((tmp_path / "tour.ipynb").read_text(encoding="utf-8"))
    assert [c["cell_type"] for c in nb["cells"]] == ["markdown", "code", "markdown", "code"]
    assert nb["cells"][3]["source"] == ["x = 1"] and "REPOSITORY = ''" in "".join(nb["cells"][1]["source"])
    (tmp_path / "tour.md").write_text("# A tour\n\nOther text.\n", encoding="utf-8")
    assert script.main(["--check"]) == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_repository_url_comes_from_pyproject(tmp_path):
    script = load_script("tour_notebook")
    assert script.repository_url(tmp_path / "missing.toml") == ""
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\n\n[project.urls]\nHomepage = "https://a.example"\n'
                                     'Repository = "https://example.org/tinygan.git"\n\n[tool.x]\nRepository = "no"\n')
    assert script.repository_url(tmp_path / "p.toml") == "https://example.org/tinygan.git"
