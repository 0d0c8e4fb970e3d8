"""The `tinygan` command: listing, sampling from a checkpoint, and clear failures with non-zero
exit codes for bad flags, unknown variants and missing files: one line for every bad input
(numbers, checkpoints, output paths, conflicting flags), and nothing left behind."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tinygan import cli
from tinygan.checkpoint import read_meta
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.vanilla import VanillaGAN
from tinygan.viz import save_grid


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


# -- one line for every bad input, nothing left behind ---------------------------------------------


def one_line_error(capsys, code, argv):
    """Run `tinygan ARGV`, expect exit ``code`` and exactly one line on stderr, which is returned."""
    if code == 2:   # argparse: the usage, then one line of error
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("tinygan ") and "error:" in err[-1], err
        return err[-1]
    capsys.readouterr()
    assert cli.main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1"])
def test_epochs_must_be_a_positive_finite_number(capsys, value):
    line = one_line_error(capsys, 2, ["train", "dcgan", "--epochs", value])
    assert "--epochs: expected a positive finite number, got " + value in line


def test_sample_n_has_a_ceiling(capsys, tmp_path):
    line = one_line_error(capsys, 2, ["sample", str(tmp_path / "c.npz"), "--n", "100000000"])
    assert "--n: expected at most 10,000 samples in one grid, got 100000000" in line


@pytest.fixture
def vanilla_run(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    Trainer(VanillaGAN(), DataLoader(images, batch_size=16, seed=0), tmp_path / "run",
            TrainConfig(steps=1, sample_every=10), log=lambda line: None).fit()
    return tmp_path / "run" / "checkpoint.npz"


def _with_meta(path, out, change):
    with np.load(path) as archive:
        entries = {k: archive[k] for k in archive.files}
    doc = json.loads(entries["__meta__.json"].tobytes())
    change(doc["meta"])
    entries["__meta__.json"] = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    np.savez(out, **entries)
    return out


def test_bad_checkpoints_are_one_line_each(vanilla_run, tmp_path, capsys):
    unknown = _with_meta(vanilla_run, tmp_path / "unknown.npz", lambda m: m["config"].update(gen_cost="x"))
    line = one_line_error(capsys, 1, ["sample", str(unknown)])
    assert "unknown.npz: its config has option(s) gen_cost that the vanilla recipe does not know" in line
    no_config = _with_meta(vanilla_run, tmp_path / "none.npz", lambda m: m.pop("config"))
    assert "none.npz: no recipe config in its metadata" in one_line_error(capsys, 1, ["eval", str(no_config)])
    bad_value = _with_meta(vanilla_run, tmp_path / "bad.npz", lambda m: m["config"].update(g_cost="x"))
    assert "bad.npz: its vanilla config is not valid: g_cost" in one_line_error(capsys, 1, ["sample", str(bad_value)])
    line = one_line_error(capsys, 1, ["sample", str(vanilla_run.parent)])
    assert "a directory, not a checkpoint file" in line and "checkpoint.npz" in line
    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint\n")
    assert "notes.npz: not a tinygan checkpoint (a text file" in one_line_error(capsys, 1, ["sample", str(text)])
    png = tmp_path / "grid.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert "grid.png: not a tinygan checkpoint (a PNG image" in one_line_error(capsys, 1, ["eval", str(png)])


def test_sample_out_naming_a_directory_leaves_nothing_behind(vanilla_run, tmp_path, capsys):
    target = tmp_path / "grids"
    target.mkdir()
    line = one_line_error(capsys, 1, ["sample", str(vanilla_run), "--out", str(target)])
    assert f"--out: {target} is a directory" in line
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []
    with pytest.raises(IsADirectoryError):   # the library's own save refuses it too, and cleans up
        save_grid(np.zeros((4, 1, 28, 28), np.float32), target)
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []


def test_n_critic_and_d_steps_are_one_number(fake_mnist, tmp_path, capsys):
    line = one_line_error(capsys, 1, ["train", "wgan", "--n-critic", "2", "--d-steps", "3", "--out", str(tmp_path)])
    assert "--n-critic 2 and --d-steps 3 disagree" in line
    assert cli.main(["train", "wgan", "--networks", "mlp", "--d-steps", "3", "--steps", "1", "--batch-size", "16",
                     "--out", str(tmp_path / "w")]) == 0
    meta = read_meta(tmp_path / "w" / "checkpoint.npz")
    assert meta["config"]["n_critic"] == 3 and meta["train_config"]["d_steps"] == 3
    assert meta["loader"]["batch"] == 3               # three batches: three critic steps


def test_stackgan_stage2_steps_sets_the_length_and_must_agree_with_steps(fake_mnist, tmp_path, capsys):
    tiny = ["--z-dim", "8", "--c-dim", "4", "--cond-dim", "4", "--ngf", "8", "--ndf", "4", "--n-res", "1",
            "--batch-size", "8", "--stage1-steps", "2"]
    line = one_line_error(capsys, 1, ["train", "stackgan", *tiny, "--stage2-steps", "1", "--steps", "5",
                                      "--out", str(tmp_path / "a")])
    assert "--stage2-steps makes the run 3 steps long, but --steps says 5" in line
    line = one_line_error(capsys, 1, ["train", "stackgan", *tiny, "--stage2-steps", "1", "--epochs", "1",
                                      "--out", str(tmp_path / "a")])
    assert "give it or --epochs, not both" in line
    assert cli.main(["train", "stackgan", *tiny, "--stage2-steps", "1", "--out", str(tmp_path / "b")]) == 0
    assert read_meta(tmp_path / "b" / "checkpoint.npz")["step"] == 3      # stage1_steps + stage2_steps


def test_eval_prints_and_writes_only_where_out_says(vanilla_run, tmp_path, capsys):
    run_dir = vanilla_run.parent
    files = sorted(p.name for p in run_dir.iterdir())
    assert cli.main(["eval", str(vanilla_run), "--n", "20"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["n"] == 20 and sorted(p.name for p in run_dir.iterdir()) == files   # nothing written
    out = tmp_path / "scores.json"
    assert cli.main(["eval", str(vanilla_run), "--n", "20", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(capsys.readouterr().out)
    kept = out.read_bytes()
    line = one_line_error(capsys, 1, ["eval", str(vanilla_run), "--n", "10", "--out", str(out)])
    assert "holds an evaluation of 20 samples and this one has 10; not replacing it" in line
    assert out.read_bytes() == kept
    assert cli.main(["eval", str(vanilla_run), "--n", "30", "--out", str(out)]) == 0      # more samples: replaced
    assert json.loads(out.read_text())["n"] == 30
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    assert "not a tinygan evaluation" in one_line_error(capsys, 1, ["eval", str(vanilla_run), "--out", str(other)])
    assert other.read_text() == "mine"
    line = one_line_error(capsys, 1, ["eval", str(vanilla_run), "--data", str(tmp_path / "nonexistent")])
    assert "--data: the vanilla variant's evaluation reads no MNIST files" in line


def test_translation_sample_says_what_it_drew(fake_mnist, tmp_path, capsys):
    assert cli.main(["train", "cyclegan", "--channels", "4", "--n-res", "1", "--steps", "1", "--batch-size", "8",
                     "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    out = tmp_path / "grid.png"
    assert cli.main(["sample", str(tmp_path / "c" / "checkpoint.npz"), "--n", "200", "--out", str(out)]) == 0
    assert f"wrote a grid of 84 images (--n 200) to {out}" in capsys.readouterr().err   # 14 inputs x 6 rows
    assert "translation and reconstruction" in run("sample", "--help").stdout
    line = one_line_error(capsys, 1, ["train", "cyclegan", "--z-dim", "64", "--out", str(tmp_path / "z")])
    assert "z_dim: not used by this recipe (a translation model draws no noise" in line
