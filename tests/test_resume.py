"""The checkpoint is the run: `tinygan train --resume` takes the run's settings from its checkpoint
and refuses a flag that disagrees; Ctrl-C (SIGINT) and SIGTERM save the run after the current step,
a second one stops at once; checkpoints also come by wall time. Each resumed run is compared bit
for bit with a run that was never stopped.

The commands run in-process through ``cli.main`` (the function `tinygan` calls) on a small random
"MNIST" (the ``fake_mnist`` fixture); the SIGINT test starts real `tinygan train` processes on
the real MNIST.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import cli
from tinygan.checkpoint import load_checkpoint, read_meta
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer, TrainingInterrupted
from tinygan.gan.trainer import run_settings
from tinygan.gan.vanilla import VanillaGAN


def train(*args):
    return cli.main(["train", *map(str, args)])


def weights(path):
    """Every array of a checkpoint but the metadata: networks, optimizer moments, extras."""
    with np.load(path) as archive:
        return {k: archive[k] for k in archive.files if k != "__meta__.json"}


def assert_same_run(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    ma, mb = read_meta(a), read_meta(b)
    for key in ("step", "config", "run", "loader", "rng", "recipe_state"):
        assert ma.get(key) == mb.get(key), key
    assert run_settings(ma) == run_settings(mb)      # the cadence (checkpoint_every, ...) may differ


def metrics(run):
    return [{k: v for k, v in json.loads(line).items() if k not in ("time", "it_per_s")}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


VANILLA = ("vanilla", "--batch-size", 16, "--log-every", 2, "--checkpoint-every", 3, "--seed", 3)


def test_resume_continues_to_a_new_total_as_one_longer_run(fake_mnist, tmp_path):
    assert train(*VANILLA, "--steps", 7, "--out", tmp_path / "straight") == 0
    assert train(*VANILLA, "--steps", 4, "--out", tmp_path / "run") == 0
    tg.manual_seed(99)  # what the resumed process did before must not matter
    # the recipe options, seed and batch size come from the checkpoint: they need not be repeated
    assert train("vanilla", "--steps", 7, "--out", tmp_path / "run", "--resume", "--log-every", 2) == 0
    assert_same_run(tmp_path / "straight" / "checkpoint.npz", tmp_path / "run" / "checkpoint.npz")
    assert metrics(tmp_path / "run") == metrics(tmp_path / "straight")
    # without --steps or --epochs a resumed run goes to the total it had
    assert train("vanilla", "--out", tmp_path / "run", "--resume") == 0
    assert read_meta(tmp_path / "run" / "checkpoint.npz")["step"] == 7


@pytest.mark.parametrize("flag, value, run_value", [
    ("--lr", 0.5, "0.0002"), ("--seed", 4, "3"), ("--batch-size", 8, "16"), ("--d-steps", 2, "1"),
    ("--schedule", "keras", "alternating"), ("--g-cost", "minimax", "non-saturating"), ("--z-dim", 64, "100"),
    ("--ema", 0.9, "0.0"),
])
def test_resume_refuses_a_setting_that_differs_from_the_run(fake_mnist, tmp_path, capsys, flag, value, run_value):
    run = tmp_path / "run"
    assert train(*VANILLA, "--steps", 3, "--out", run) == 0
    before = (run / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    assert train("vanilla", "--steps", 6, "--out", run, "--resume", flag, value) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{flag}: the run's is {run_value}, given {value}" in err[0] and "start a new run" in err[0], err[0]
    assert (run / "checkpoint.npz").read_bytes() == before
    # the run's own value, given again, is fine
    assert train("vanilla", "--steps", 4, "--out", run, "--resume", flag, run_value) == 0


def test_stackgan_resumed_in_stage_two_stays_in_stage_two(fake_mnist, tmp_path):
    """--stage1-steps is not repeated on resume, and the run keeps it: Stage-II goes on, not Stage-I."""
    tiny = ("--z-dim", 8, "--c-dim", 4, "--cond-dim", 4, "--ngf", 8, "--ndf", 4, "--n-res", 1)
    run = tmp_path / "sg"
    assert train("stackgan", *tiny, "--stage1-steps", 2, "--steps", 3, "--batch-size", 8, "--out", run) == 0
    assert read_meta(run / "checkpoint.npz")["recipe_state"] == {"stage": 2}
    assert train("stackgan", "--steps", 4, "--out", run, "--resume") == 0
    meta = read_meta(run / "checkpoint.npz")
    assert meta["recipe_state"] == {"stage": 2} and meta["step"] == 4
    assert meta["config"]["stage1_steps"] == 2 and meta["config"]["ngf"] == 8 and meta["run"]["batch_size"] == 8


def test_resuming_as_another_recipe_names_the_recipe_first(fake_mnist, tmp_path, capsys):
    assert train(*VANILLA, "--steps", 2, "--out", tmp_path) == 0
    capsys.readouterr()
    assert train("dcgan", "--out", tmp_path, "--resume") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a vanilla run, not dcgan" in err[0], err


def test_resume_without_a_checkpoint_says_so(fake_mnist, tmp_path, capsys):
    assert train("vanilla", "--steps", 2, "--out", tmp_path / "none", "--resume") == 1
    assert "--resume: no checkpoint at" in capsys.readouterr().err


def _rewrite_meta(path, change):
    """Rewrite a checkpoint's metadata with ``change(meta)`` (to make one that an older tinygan wrote)."""
    with np.load(path) as archive:
        entries = {k: archive[k] for k in archive.files}
    doc = json.loads(entries["__meta__.json"].tobytes())
    change(doc["meta"])
    entries["__meta__.json"] = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **entries)


def test_a_checkpoint_without_the_run_settings_still_resumes(fake_mnist, tmp_path, capsys):
    """Older checkpoints record neither the seed nor the batch size apart (it is in the loader's
    state), nor the partial log sums: they resume with what they have."""
    assert train(*VANILLA, "--steps", 6, "--out", tmp_path / "straight") == 0
    assert train(*VANILLA, "--steps", 4, "--out", tmp_path / "old") == 0
    _rewrite_meta(tmp_path / "old" / "checkpoint.npz",
                  lambda m: [m.pop(k) for k in ("run", "pending_log")] + [m["train_config"].update(d_steps=None)])
    capsys.readouterr()
    assert train("vanilla", "--steps", 6, "--out", tmp_path / "old", "--resume", "--seed", 3) == 0
    assert "does not record --seed" in capsys.readouterr().err
    meta = read_meta(tmp_path / "old" / "checkpoint.npz")
    assert meta["run"] == {"batch_size": 16, "seed": 3} and meta["train_config"]["d_steps"] == 1
    np.testing.assert_array_equal(weights(tmp_path / "old" / "checkpoint.npz")["model/G/0.weight"],
                                  weights(tmp_path / "straight" / "checkpoint.npz")["model/G/0.weight"])


# -- interrupts ------------------------------------------------------------------------------------


class _Signalling(VanillaGAN):
    """A vanilla GAN that sends its own process ``signals`` (a list, one per step; None: none) at
    the start of each discriminator loss, i.e. in the middle of a step."""

    name = "vanilla"
    signals = []

    def d_loss(self, real, labels):
        sig = self.signals.pop(0) if self.signals else None
        for s in sig or ():
            os.kill(os.getpid(), s)
        return super().d_loss(real, labels)


def _trainer(out, steps, recipe_cls=VanillaGAN, **config):
    tg.manual_seed(0)
    recipe = recipe_cls(device="cpu")
    images = np.random.default_rng(1).integers(0, 256, (128, 28, 28), dtype=np.uint8)
    loader = DataLoader(images, batch_size=16, seed=5)
    config = dict(dict(steps=steps, log_every=4, sample_every=10**6, checkpoint_every=10**6,
                       checkpoint_minutes=0), **config)
    return Trainer(recipe, loader, out, TrainConfig(**config), log=lambda line: None, run_info={"seed": 0})


def test_a_signal_saves_after_the_current_step_and_the_run_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(Trainer, "save_samples", lambda self: None)
    _trainer(tmp_path / "straight", 8).fit()
    monkeypatch.setattr(_Signalling, "signals", [None, None, [signal.SIGTERM]])
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as info:
        _trainer(tmp_path / "run", 8, _Signalling).fit()
    assert (info.value.signal_name, info.value.step) == ("SIGTERM", 3)       # the step it was in, finished
    meta = read_meta(tmp_path / "run" / "checkpoint.npz")
    assert meta["step"] == 3 and meta["pending_log"]["count"] == 3            # between two progress lines
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # handlers put back
    _trainer(tmp_path / "run", 8).fit(resume=True)
    assert_same_run(tmp_path / "straight" / "checkpoint.npz", tmp_path / "run" / "checkpoint.npz")
    assert metrics(tmp_path / "run") == metrics(tmp_path / "straight")       # the same logged means too


def test_a_second_signal_stops_at_once_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(Trainer, "save_samples", lambda self: None)
    monkeypatch.setattr(_Signalling, "signals", [None, None, [signal.SIGINT, signal.SIGINT]])
    trainer = _trainer(tmp_path, 8, _Signalling, checkpoint_every=2)
    handler = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job
    with pytest.raises(KeyboardInterrupt) as info:
        trainer.fit()
    assert not isinstance(info.value, TrainingInterrupted) and trainer.step == 2  # step 3 never finished
    assert read_meta(tmp_path / "checkpoint.npz")["step"] == 2
    load_checkpoint(tmp_path / "checkpoint.npz", trainer.recipe.networks(), trainer.recipe.optimizers())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert signal.getsignal(signal.SIGINT) is handler


def test_checkpoints_come_by_wall_time_too(tmp_path, monkeypatch):
    monkeypatch.setattr(Trainer, "save_samples", lambda self: None)
    saved = []
    monkeypatch.setattr(Trainer, "save_checkpoint", lambda self: saved.append(self.step))
    _trainer(tmp_path / "a", 5, checkpoint_minutes=1e-9).fit()
    assert saved == [1, 2, 3, 4, 5]
    saved.clear()
    _trainer(tmp_path / "b", 5, checkpoint_minutes=0).fit()
    assert saved == [5]                       # by steps only (checkpoint_every is large): the last one
    with pytest.raises(ValueError, match="checkpoint_minutes"):
        TrainConfig(checkpoint_minutes=-1)


def test_ctrl_c_of_tinygan_train_saves_and_the_printed_command_resumes_exactly(tmp_path, mnist_root):
    """SIGINT a real `tinygan train` after it logged a step; it saves and prints the command that
    continues it; that command ends with the weights of a run never interrupted, bit for bit."""
    env = dict(os.environ, TINYGAN_DATA=str(mnist_root))
    cmd = [sys.executable, "-m", "tinygan", "train", "vanilla", "--steps", "60", "--batch-size", "16",
           "--log-every", "1", "--sample-every", "1000", "--checkpoint-every", "1000", "--seed", "3"]
    proc = subprocess.Popen(cmd + ["--out", str(tmp_path / "run")], env=env, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("step 1/"):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=300) == 130, "".join(seen) + rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith("tinygan: SIGINT: stopped after step ") and "continue with: tinygan train" in last, rest
    step = read_meta(tmp_path / "run" / "checkpoint.npz")["step"]
    assert 1 <= step < 60, "interrupted too late to test anything"
    resume = last.split("continue with: ", 1)[1].split()
    assert resume[:2] == ["tinygan", "train"] and resume[-1] == "--resume"
    straight = subprocess.run(cmd + ["--out", str(tmp_path / "straight")], env=env, capture_output=True, text=True,
                              cwd=tmp_path, timeout=300)
    assert straight.returncode == 0, straight.stderr
    resumed = subprocess.run([sys.executable, "-m", "tinygan", *resume[1:]], env=env, capture_output=True, text=True,
                             cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(tmp_path / "straight" / "checkpoint.npz", tmp_path / "run" / "checkpoint.npz")


def test_sample_and_eval_interrupted_say_nothing_of_resume(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load_run", interrupted)
    for command in (["sample", str(tmp_path / "c.npz")], ["eval", str(tmp_path / "c.npz")]):
        assert cli.main(command) == 130
        err = capsys.readouterr().err
        assert err.strip() == "tinygan: interrupted", err


def test_an_interrupt_outside_the_loop_says_what_was_kept(fake_mnist, tmp_path, monkeypatch, capsys):
    """Ctrl-C before the loop (while MNIST loads, say): nothing saved for a new run; for a resumed
    one, its checkpoint is intact and the command to continue it is printed."""
    assert train(*VANILLA, "--steps", 2, "--out", tmp_path / "old") == 0

    def interrupted(self, resume=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", interrupted)
    capsys.readouterr()
    assert train(*VANILLA, "--steps", 2, "--out", tmp_path / "new") == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "tinygan: stopped at once; nothing was saved"
    assert train("vanilla", "--steps", 9, "--out", tmp_path / "old", "--resume") == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "checkpoint.npz, step 2) is intact; continue with: tinygan train vanilla --steps 9" in err, err
