"""Every place where arrays cross between the host and a device, on the device under test.

As they stand these tests run on the CPU. ``pytest --device fakecuda`` (CI's second run) runs
them with device "cuda" played by tests/fakecupy.py, a CPU stand-in that refuses what CuPy
refuses (implicit conversion to NumPy, mixing with NumPy arrays, NumPy-only routines), so a
host/device slip in state dicts, optimizers, checkpoints, metrics, the Trainer, the recipes or
the CLI fails here; ``pytest --device cuda`` runs them on a real GPU.
"""

import dataclasses
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, cli, nn
from tinygan.checkpoint import load_checkpoint, save_checkpoint
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.registry import RECIPES
from tinygan.gan.two_domain import TranslationRecipe
from tinygan.metrics import classifier, evaluate, scores
from tinygan.metrics import fid as scores_fid
from tinygan.optim import Adam
from tinygan.viz import save_grid

from helpers import tensor

QUIET = dict(log=lambda line: None)


def _net(device, seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).to(device)


def _step(net, opt, device):
    x = tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3), device)
    opt.zero_grad()
    loss = (net(x) ** 2).mean()
    loss.backward()
    opt.step()
    return loss.item()


def _raw_state(net):
    """Parameters and buffers as they live on their device (not the host copies of state_dict)."""
    state = {name: p.data for name, p in net.named_parameters()}
    state.update(dict(net.named_buffers()))
    return state


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert type(sa[k]) is np.ndarray and type(sb[k]) is np.ndarray, k  # state_dict is host arrays
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


# ----------------------------------------------------------------------------------------------
# load_state_dict, optimizers, checkpoints
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["cpu", "same"])
def test_load_state_dict_takes_arrays_from_a_device_model(device, target):
    target = device if target == "same" else target
    src = _net(device, 0)
    _step(src, Adam(src.parameters()), device)  # batch-norm's running statistics move off their initial values
    dst = _net(target, 1)
    dst.load_state_dict(_raw_state(src))
    _assert_same_state(src, dst)
    assert all(p.device == target for p in dst.parameters())
    assert all(backend.device_of(b) == target for b in dst.buffers())
    before = dst.state_dict()
    for p in src.parameters():  # a copy, never an alias of the arrays it was given
        p.data += 1.0
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_optimizer_state_loads_from_device_arrays_onto_either_device(device):
    src = _net(device, 0)
    opt = Adam(src.parameters(), lr=0.01)
    for _ in range(2):
        _step(src, opt, device)
    state = opt.state_dict()
    assert state["arrays"] and all(type(v) is np.ndarray for v in state["arrays"].values())
    expected = {k: v.copy() for k, v in state["arrays"].items()}
    on_device = dict(state, arrays={k: backend.to_device(v, device) for k, v in state["arrays"].items()})
    for target in ("cpu", device):
        dst = _net(target, 1)
        dst_opt = Adam(dst.parameters(), lr=0.01)
        dst_opt.load_state_dict(on_device)
        assert all(backend.device_of(v) == target for s in dst_opt.state for v in s.values())
        loaded = dst_opt.state_dict()
        assert loaded["step_count"] == 2
        for k, v in loaded["arrays"].items():
            np.testing.assert_array_equal(v, expected[k], err_msg=k)
    for v in on_device["arrays"].values():  # the optimizer copied them: changing them changes nothing
        v += 1.0
    for k, v in dst_opt.state_dict()["arrays"].items():
        np.testing.assert_array_equal(v, expected[k], err_msg=k)


def test_checkpoint_moves_between_devices(tmp_path, device):
    for src_device, dst_device in ((device, "cpu"), ("cpu", device)):
        net = _net(src_device, 0)
        opt = Adam(net.parameters(), lr=0.01)
        _step(net, opt, src_device)
        z = backend.to_device(np.arange(6, dtype=np.float32).reshape(2, 3), src_device)
        path = save_checkpoint(tmp_path / "ck.npz", {"net": net}, {"opt": opt}, meta={"step": 1},
                               arrays={"z": z, "z_tensor": tg.Tensor(z)})
        other = _net(dst_device, 5)
        other_opt = Adam(other.parameters(), lr=0.01)
        meta, extras = load_checkpoint(path, {"net": other}, {"opt": other_opt})
        assert meta == {"step": 1}
        np.testing.assert_array_equal(extras["z"], np.arange(6, dtype=np.float32).reshape(2, 3))
        np.testing.assert_array_equal(extras["z_tensor"], extras["z"])
        _assert_same_state(net, other)
        assert all(p.device == dst_device for p in other.parameters())
        assert all(backend.device_of(v) == dst_device for s in other_opt.state for v in s.values())
        # the two optimizers take the same next step
        np.testing.assert_allclose(_step(other, other_opt, dst_device), _step(net, opt, src_device), rtol=1e-5)
        _assert_close_state(net, other)


def _assert_close_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-5, atol=1e-6, err_msg=k)


# ----------------------------------------------------------------------------------------------
# Tensors, data, pictures
# ----------------------------------------------------------------------------------------------


def test_tensor_prints_and_converts_on_the_device(device):
    t = tensor(np.array([[1.5, -2.0], [0.25, 3.0]], np.float32), device, requires_grad=True)
    text = repr(t)
    assert "1.5" in text and "0.25" in text and "requires_grad=True" in text
    assert (device == "cpu") == ("device=" not in text)
    assert str(t.sum()) and f"{t.sum().item():.2f}" == "2.75"
    assert type(t.numpy()) is np.ndarray and t.tolist() == [[1.5, -2.0], [0.25, 3.0]]
    assert isinstance(t.sum().item(), float) and t.max().item() == 3.0
    assert len(t) == 2


def test_dataloader_batches_live_on_the_device(device):
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    x, y = next(iter(DataLoader(images, labels, batch_size=8, device=device, seed=0)))
    assert x.device == device and x.dtype == np.float32 and x.shape == (8, 1, 28, 28)
    assert backend.device_of(y) == device and y.dtype == np.int64
    assert -1.0 <= x.numpy().min() and x.numpy().max() <= 1.0


def test_save_grid_takes_device_arrays(tmp_path, device):
    images = backend.to_device(np.linspace(-1, 1, 4 * 28 * 28, dtype=np.float32).reshape(4, 1, 28, 28), device)
    save_grid(images, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------


def test_classifier_features_agree_across_devices(device):
    images = np.random.default_rng(0).uniform(-1, 1, (12, 1, 28, 28)).astype(np.float32)
    f_cpu, p_cpu = classifier.features_and_probs(images, device="cpu", batch_size=5)
    for given in (backend.to_device(images, device), tg.Tensor(backend.to_device(images, device))):
        f, p = classifier.features_and_probs(given, batch_size=5)
        assert type(f) is np.ndarray and type(p) is np.ndarray and f.dtype == p.dtype == np.float64
        np.testing.assert_allclose(f, f_cpu, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(p, p_cpu, rtol=1e-4, atol=1e-6)
    uint8 = backend.to_device(np.zeros((3, 28, 28), np.uint8), device)  # MNIST as stored, scaled on the device
    f8, _ = classifier.features_and_probs(uint8)
    f_ref, _ = classifier.features_and_probs(-np.ones((3, 1, 28, 28), np.float32), device="cpu")
    np.testing.assert_allclose(f8, f_ref, rtol=1e-4, atol=1e-5)


def test_scores_take_device_arrays(device):
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((20, 5))
    probs = rng.dirichlet(np.ones(10), size=30)
    mu, sigma = scores_fid.feature_statistics(backend.to_device(feats, device))
    assert type(mu) is np.ndarray and type(sigma) is np.ndarray
    np.testing.assert_allclose(mu, feats.mean(axis=0))
    np.testing.assert_allclose(sigma, np.cov(feats, rowvar=False))
    assert scores.classifier_score(backend.to_device(probs, device)) == scores.classifier_score(probs)
    assert scores.mode_coverage(backend.to_device(probs, device)) == scores.mode_coverage(probs)
    labels = probs.argmax(axis=1)
    assert scores.class_histogram(backend.to_device(labels, device)) == scores.class_histogram(labels)


def test_infogan_code_grid_takes_z_from_either_device(device):
    tg.manual_seed(0)
    recipe = RECIPES["infogan"](device=device)
    z = np.linspace(-1, 1, recipe.config.z_dim).astype(np.float32)
    for given in (z, backend.to_device(z, device), z.tolist()):
        grid = recipe.code_grid(2, 3, z=given)
        assert all(t.device == device for t in grid)
        np.testing.assert_allclose(grid[0].numpy(), np.tile(z, (6, 1)), rtol=1e-6)


@pytest.mark.parametrize("variant", ["dcgan", "cgan"])
def test_evaluate_a_recipe_on_the_device(device, variant):
    tg.manual_seed(0)
    recipe = RECIPES[variant](device=device)
    result = evaluate.evaluate_recipe(recipe, n=30, seed=1, batch_size=16)
    assert math.isfinite(result["fid"]) and 1.0 <= result["classifier_score"] <= 10.0
    assert sum(result["class_histogram"]) == 30
    json.dumps(result)
    assert evaluate.evaluate_recipe(recipe, n=30, seed=1, batch_size=16) == result
    out = evaluate.make_evaluator(n=20, device=device)(recipe)
    assert set(out) == {"fid", "classifier_score", "classes_covered"}


# ----------------------------------------------------------------------------------------------
# Every recipe through the Trainer, and the CLI
# ----------------------------------------------------------------------------------------------


def _images(n=64):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def _train(variant, device, out, steps=1, every=1):
    """``steps`` generator steps of ``variant`` on 64 random images; samples and a checkpoint
    every ``every`` steps and at the end."""
    tg.manual_seed(0)
    recipe = RECIPES[variant](device=device)
    loader = recipe.make_loader(*_images(), batch_size=16, device=device)  # two domains for the translation models
    Trainer(recipe, loader, out, TrainConfig(steps=steps, sample_every=every, checkpoint_every=every, log_every=1),
            **QUIET).fit()
    return recipe


def _latent_on(latent, device):
    return tuple(t.to(device) for t in latent)


@pytest.mark.parametrize("variant", sorted(RECIPES))
def test_every_recipe_trains_saves_and_samples_on_the_device(tmp_path, device, variant):
    recipe = _train(variant, device, tmp_path)
    for net in recipe.networks().values():
        assert all(p.device == device and p.dtype == np.float32 for p in net.parameters())
    assert (tmp_path / "checkpoint.npz").exists() and (tmp_path / "samples.png").exists()
    # the checkpoint gives the same generator on the host and on the device
    on_cpu, _ = cli.load_run(tmp_path / "checkpoint.npz", "cpu")
    on_device, _ = cli.load_run(tmp_path / "checkpoint.npz", device)
    assert on_device.device == device and on_cpu.device == "cpu"
    tg.manual_seed(3)
    latent, _ = on_cpu.fixed_latent(9)
    with tg.no_grad():
        a = on_cpu.generate(latent).numpy()
        b = on_device.generate(_latent_on(latent, device)).numpy()
    inputs = 3 if isinstance(on_cpu, TranslationRecipe) else 9   # a translation grid of ~9 images: 3 inputs
    assert a.shape == (inputs, 1, 28, 28)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_resume_on_the_device_continues_the_run(tmp_path, device):
    """Resuming a run continues it from its checkpoint; on the CPU bit for bit. (On a GPU the noise
    after a resume is not the straight run's: CuPy's RandomState has no state a checkpoint could
    keep, so only the CPU generator's state is saved.)"""
    straight = _train("vanilla", device, tmp_path / "a", steps=4)
    two = _train("vanilla", device, tmp_path / "b", steps=2)
    at_two = {name: net.state_dict() for name, net in two.networks().items()}
    tg.manual_seed(123)
    resumed = RECIPES["vanilla"](device=device)
    loader = DataLoader(*_images(), batch_size=16, device=device, seed=0)
    trainer = Trainer(resumed, loader, tmp_path / "b", TrainConfig(steps=4, sample_every=1, checkpoint_every=1,
                                                                  log_every=1), **QUIET)
    trainer.fit(resume=True)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4] and trainer.step == 4
    for name, net in resumed.networks().items():
        assert all(p.device == device for p in net.parameters())
        assert any(not np.array_equal(v, at_two[name][k]) for k, v in net.state_dict().items())
        if device == "cpu":
            _assert_same_state(net, straight.networks()[name])


def test_cli_train_sample_and_eval_on_the_device(tmp_path, device, monkeypatch):
    monkeypatch.setattr("tinygan.data.load_mnist", lambda split, root=None: _images())
    run = tmp_path / "run"
    assert cli.main(["train", "cgan", "--steps", "2", "--batch-size", "16", "--out", str(run), "--device", device,
                     "--sample-every", "1", "--checkpoint-every", "1", "--eval-every", "2",
                     "--eval-samples", "20"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("eval/fid" in r and math.isfinite(r["eval/fid"]) for r in records)
    ckpt = str(run / "checkpoint.npz")
    png = tmp_path / "grid.png"
    assert cli.main(["sample", ckpt, "--n", "16", "--out", str(png), "--device", device]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["sample", ckpt, "--n", "8", "--label", "3", "--out", str(png), "--device", device]) == 0
    assert cli.main(["eval", ckpt, "--n", "30", "--device", device, "--out", str(run / "eval.json")]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["recipe"] == "cgan" and math.isfinite(result["fid"]) and sum(result["class_histogram"]) == 30


# ----------------------------------------------------------------------------------------------
# The demos that take --device
# ----------------------------------------------------------------------------------------------

DEMOS = Path(__file__).resolve().parents[1] / "demos"


def test_demos_run_on_the_device(tmp_path, device, monkeypatch):
    monkeypatch.syspath_prepend(str(DEMOS))
    ckpt = {}
    for variant in ("dcgan", "cgan", "infogan"):  # untrained weights do: the demos' plumbing is under test
        tg.manual_seed(0)
        recipe = RECIPES[variant](device=device)
        ckpt[variant] = save_checkpoint(tmp_path / f"{variant}.npz", recipe.networks(), meta={
            "recipe": variant, "config": dataclasses.asdict(recipe.config), "step": 0})
    out = tmp_path / "out"
    common = ["--out", str(out), "--device", device]
    importlib.import_module("conditional_grid").main([ckpt["cgan"], "--cols", "3", *common])
    importlib.import_module("latent_interpolation").main([ckpt["dcgan"], "--rows", "2", "--steps", "3", *common])
    importlib.import_module("latent_interpolation").main([ckpt["dcgan"], "--rows", "2", "--steps", "3",
                                                          "--spherical", *common])
    importlib.import_module("infogan_codes").main([ckpt["infogan"], "--n", "20", *common])
    # vector arithmetic needs concepts the (untrained) generator draws: its most frequent digit
    recipe, _ = cli.load_run(ckpt["dcgan"], "cpu")
    pool = np.random.default_rng(0).standard_normal((200, recipe.config.z_dim)).astype(np.float32)
    with tg.no_grad():
        _, probs = classifier.features_and_probs(recipe.generate((tg.Tensor(pool),)), device="cpu")
    digit = str(int(np.bincount(probs.argmax(axis=1), minlength=10).argmax()))
    importlib.import_module("vector_arithmetic").main([ckpt["dcgan"], "--pool", "200", "--a", digit, "--b", digit,
                                                       "--c", digit, *common])
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) >= 5, pngs
    assert all((out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in pngs)
