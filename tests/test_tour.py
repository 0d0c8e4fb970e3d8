"""docs/tour.md cannot rot: every chapter's ```python blocks run here, in order, in one namespace
per chapter, from a scratch directory (so the files they write go there)."""

import linecache
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "docs" / "tour.md"

CHAPTER_TITLES = [
    "A Tensor and the chain rule", "Writing a Function's backward with Tensor ops", "gradcheck: catching a wrong derivative",
    "Convolution as im2col + GEMM, and its adjoint", "Batch-norm's backward", "The GAN game",
    "A variant as a recipe: DCGAN, then WGAN-GP's double backprop", "Adding your own variant",
]


def chapters():
    """[(number, title, text)] of the tour's '## N. Title' sections."""
    text = TOUR.read_text(encoding="utf-8")
    parts = re.split(r"^## (\d+)\. (.+)$", text, flags=re.M)
    return [(int(parts[i]), parts[i + 1].strip(), parts[i + 2]) for i in range(1, len(parts), 3)]


def python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def test_the_tour_has_its_eight_chapters_each_with_code_and_files_to_read():
    found = chapters()
    assert [(n, t) for n, t, _ in found] == list(enumerate(CHAPTER_TITLES, start=1))
    for n, title, text in found:
        assert python_blocks(text), f"chapter {n} has no python block"
        read = re.search(r"\*\*Read:\*\*(.*?)\n\n", text, flags=re.S)
        assert read, f"chapter {n} does not say which files to read"
        paths = re.findall(r"`((?:tinygan|demos|tests|scripts)/[\w/]+\.py)`", read.group(1))
        assert paths, f"chapter {n}: no file named in its Read line"
        for p in paths:
            assert (ROOT / p).is_file(), f"chapter {n} points to {p}, which does not exist"
    text = TOUR.read_text(encoding="utf-8")
    for picture in re.findall(r"\((graph_[\w]+\.png)\)", text):
        assert (TOUR.parent / picture).is_file(), picture
    assert "graph_dcgan_step.png" in text and "graph_wgan_gp_penalty.png" in text


@pytest.mark.parametrize("number", range(1, 9))
def test_chapter_code_runs(number, tmp_path, monkeypatch, request):
    number_, title, text = chapters()[number - 1]
    if number == 8:  # trains on MNIST, found the way the CLI finds it (tests/conftest.py: mnist_root)
        monkeypatch.setenv("TINYGAN_DATA", str(request.getfixturevalue("mnist_root")))
        from tinygan.gan import registry
        monkeypatch.setattr(registry, "RECIPES", dict(registry.RECIPES))  # the chapter registers a recipe
    monkeypatch.chdir(tmp_path)
    for name in ("demos",):  # blocks that load the repository's files find them from here
        (tmp_path / name).symlink_to(ROOT / name)
    namespace = {"__name__": f"tour_chapter_{number}"}
    for i, block in enumerate(python_blocks(text)):
        where = f"docs/tour.md, chapter {number}, block {i + 1}"
        linecache.cache[where] = (len(block), None, block.splitlines(True), where)  # tracebacks show the line
        code = compile(block, where, "exec")
        exec(code, namespace)  # noqa: S102 (the tour's own code)
