"""The `tinygan` command: listing, sampling from a checkpoint, and clear failures with non-zero
exit codes for bad flags, unknown variants and missing files."""

import subprocess
import sys

import numpy as np
import pytest

from tinygan import cli
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.vanilla import VanillaGAN


def run(*args):
    return subprocess.run([sys.executable, "-m", "tinygan", *args], capture_output=True, text=True, timeout=120)


def test_list_names_every_variant():
    out = run("list")
    assert out.returncode == 0
    for name in ("vanilla", "dcgan"):
        assert name in out.stdout


def test_unknown_variant_is_a_usage_error():
    out = run("train", "stylegan9")
    assert out.returncode == 2
    assert "invalid choice: 'stylegan9'" in out.stderr and "vanilla" in out.stderr


def test_bad_flag_is_a_usage_error():
    out = run("train", "vanilla", "--epochs", "many")
    assert out.returncode == 2 and "--epochs" in out.stderr
    out = run("train", "vanilla", "--g-cost", "wrong")
    assert out.returncode == 1 and "g_cost" in out.stderr


def test_recipe_options_become_flags():
    out = run("train", "dcgan", "--help")
    assert out.returncode == 0 and "--generator" in out.stdout and "--bn-momentum" in out.stdout


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    out = run("sample", str(tmp_path / "nope.npz"))
    assert out.returncode == 1
    assert "no such file" in out.stderr and "nope.npz" in out.stderr


def test_sample_from_a_checkpoint(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    Trainer(VanillaGAN(), DataLoader(images, batch_size=16, seed=0), tmp_path, TrainConfig(steps=2),
            log=lambda line: None).fit()
    out_png = tmp_path / "grid.png"
    assert cli.main(["sample", str(tmp_path / "checkpoint.npz"), "--n", "16", "--out", str(out_png)]) == 0
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a label for an unconditional variant is refused
    assert cli.main(["sample", str(tmp_path / "checkpoint.npz"), "--label", "3", "--out", str(out_png)]) == 1


def test_resume_without_checkpoint_fails_cleanly(tmp_path, monkeypatch):
    monkeypatch.setattr("tinygan.data.load_mnist", lambda split, root=None: (
        np.zeros((64, 28, 28), np.uint8), np.zeros(64, np.int64)))
    assert cli.main(["train", "vanilla", "--steps", "1", "--out", str(tmp_path / "run"), "--resume"]) == 1


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["sample", "--help"], ["eval", "--help"]])
def test_help_pages(argv):
    assert run(*argv).returncode == 0
