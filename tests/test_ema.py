"""The running average of G's weights (``--ema``): its update against the closed form, the swap
in and out, checkpoints and exact resume, sampling from it (and ``--raw``), and the animation of
the sample grids a run writes."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.checkpoint import load_checkpoint
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.ema import EMA, WARMUP
from tinygan.gan.progan import ProGAN
from tinygan.gan.vanilla import VanillaGAN

QUIET = dict(log=lambda line: None)


def test_update_follows_the_closed_form_with_its_warm_up(device):
    """After updates with weights w_1, w_2, ... the average is the recurrence
    s_t = b_t s_{t-1} + (1 - b_t) w_t with b_t = min(decay, (1 + t) / (10 + t)), t = 0, 1, ...,
    computed here in float64 by hand."""
    layer = nn.Linear(3, 2).to(device)
    ema = EMA({"G": layer}, decay=0.9)
    rng = np.random.default_rng(0)
    expected = layer.weight.numpy().astype(np.float64)
    for t in range(30):
        w = rng.standard_normal(layer.weight.shape).astype(np.float32)
        layer.weight.data = tg.Tensor(w, device=device).data
        beta = min(0.9, (1 + t) / (WARMUP + t))
        expected = beta * expected + (1 - beta) * w
        ema.update()
    assert ema.updates == 30
    np.testing.assert_allclose(tg.backend.to_numpy(ema.shadow["G.weight"]), expected, rtol=1e-5, atol=1e-6)
    # after the warm-up the decay itself rules: (1 + t) / (10 + t) > 0.9 from t = 80 on
    ema.updates = 200
    assert ema.beta() == 0.9


def test_swapped_in_computes_with_the_average_and_puts_the_live_weights_back():
    layer = nn.Linear(4, 3)
    ema = EMA({"G": layer}, decay=0.5)
    live = layer.weight.numpy().copy()
    layer.weight.data = layer.weight.data + 1.0  # the live weights move; the average stays behind
    ema.update()
    beta = min(0.5, 1 / WARMUP)                  # the first update: s = beta live + (1 - beta)(live + 1)
    average = live + (1 - beta)
    x = tg.Tensor(np.ones((2, 4), np.float32))
    with ema.swapped_in():
        np.testing.assert_allclose(layer.weight.numpy(), average, rtol=1e-6)
        inside = layer(x).numpy()
    np.testing.assert_allclose(inside, x.numpy() @ average.T + layer.bias.numpy(), rtol=1e-5)
    np.testing.assert_array_equal(layer.weight.numpy(), live + 1.0)


def test_decay_is_checked():
    with pytest.raises(ValueError, match="decay.*got 1.0"):
        EMA({"G": nn.Linear(2, 2)}, decay=1.0)
    with pytest.raises(ValueError, match="ema: expected a decay in"):
        TrainConfig(ema=-0.1)


def _images(n=160):
    return np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _run(out, steps, ema=0.9, resume=False, seed=0):
    tg.manual_seed(seed)
    recipe = VanillaGAN()
    trainer = Trainer(recipe, DataLoader(_images(), batch_size=16, seed=3), out,
                      TrainConfig(steps=steps, checkpoint_every=4, sample_every=2, ema=ema), **QUIET)
    trainer.fit(resume=resume)
    return trainer


def test_the_average_is_checkpointed_and_resumed_exactly(tmp_path):
    straight = _run(tmp_path / "a", 8)
    _run(tmp_path / "b", 4)
    resumed = _run(tmp_path / "b", 8, resume=True, seed=5)
    assert straight.ema.updates == resumed.ema.updates == 8
    for key in straight.ema.shadow:
        np.testing.assert_array_equal(straight.ema.shadow[key], resumed.ema.shadow[key], err_msg=key)
    meta, arrays = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert meta["ema"] == {"decay": 0.9, "updates": 8}
    assert meta["train_config"]["ema"] == 0.9
    assert {k for k in arrays if k.startswith("ema.")} == {f"ema.G.{k}" for k, _ in resumed.recipe.G.named_parameters()}
    # the average is not the last weights, and the grids were drawn from it
    assert any(not np.array_equal(resumed.ema.shadow[k], p.data) for k, p in resumed.ema.params.items())


def test_resume_refuses_a_different_choice_of_average(tmp_path):
    _run(tmp_path, 4, ema=0.9)
    with pytest.raises(ValueError, match="ema is 0.0 here but 0.9 in the run; start a new run to change them"):
        _run(tmp_path, 8, ema=0, resume=True)


def test_grids_and_the_progress_animation(tmp_path):
    from PIL import Image
    _run(tmp_path, 8)
    grids = sorted(p.name for p in (tmp_path / "samples").glob("step_*.png"))
    assert grids == [f"step_{s:06d}.png" for s in (2, 4, 6, 8)]
    with Image.open(tmp_path / "progress.gif") as gif:
        assert gif.n_frames == 4
    # a resumed run draws the grids after its checkpoint again, so stale ones are removed first
    _run(tmp_path, 10, resume=True)
    with Image.open(tmp_path / "progress.gif") as gif:
        assert gif.n_frames == 5


def test_progan_samples_from_an_average_by_default_and_ema_0_turns_it_off(tmp_path):
    recipe = ProGAN()
    loader = recipe.make_loader(_images(), np.zeros(160, np.int64), batch_size=16, device="cpu")
    assert Trainer(recipe, loader, tmp_path, TrainConfig(steps=1), **QUIET).ema.decay == 0.999
    assert Trainer(recipe, loader, tmp_path, TrainConfig(steps=1, ema=0), **QUIET).ema is None
    assert Trainer(VanillaGAN(), loader, tmp_path, TrainConfig(steps=1), **QUIET).ema is None


def test_sample_and_eval_use_the_average_unless_raw(tmp_path):
    run = _run(tmp_path / "run", 6)
    ckpt = tmp_path / "run" / "checkpoint.npz"
    from tinygan.cli import load_run
    averaged, meta = load_run(ckpt)
    raw, raw_meta = load_run(ckpt, raw=True)
    assert meta["weights"].startswith("running average") and raw_meta["weights"] == "last"
    for key, p in run.ema.params.items():
        name, pname = key.split(".", 1)
        np.testing.assert_array_equal(dict(averaged.networks()[name].named_parameters())[pname].data,
                                      run.ema.shadow[key])
        np.testing.assert_array_equal(dict(raw.networks()[name].named_parameters())[pname].data, p.data)
    out = tmp_path / "raw.png"
    done = subprocess.run([sys.executable, "-m", "tinygan", "sample", str(ckpt), "--raw", "--n", "4",
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.exists()


def test_batch_norm_with_momentum_none_keeps_the_average_of_the_batches():
    bn = nn.BatchNorm1d(3, momentum=None)
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((8, 3)).astype(np.float32) * (i + 1) + i for i in range(3)]
    for b in batches:
        bn(tg.Tensor(b))
    assert bn.batches_tracked == 3
    np.testing.assert_allclose(bn.running_mean, np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-5)
    with pytest.raises(ValueError, match="momentum.*or None"):
        nn.BatchNorm1d(3, momentum=1.5)


def test_batch_norm_statistics_are_measured_anew_for_the_averaged_weights():
    """Inside swapped_in(recipe) each batch-norm of G holds the mean and (unbiased) variance of what
    reaches it when the recipe's grid of 512 latents (seed 0) is drawn with the averaged weights,
    computed here by hand for G's first batch-norm; after the block the live statistics, modes and
    momenta are back, and the training run's random stream was not touched."""
    tg.manual_seed(0)
    recipe = VanillaGAN()
    ema = EMA(recipe.generators(), decay=0.5)
    for p in recipe.G.parameters():
        p.data = p.data * 1.5  # the live weights move away from the average
    ema.update()
    first_bn = recipe.G[2]
    live = (first_bn.running_mean.copy(), first_bn.running_var.copy())
    recipe.G.eval()
    state = tg.random.get_rng_state()
    with ema.swapped_in(recipe):
        with tg.random.seeded(0):
            z = recipe.sample_latent(512)[0]
        with tg.no_grad():
            h = recipe.G[1](recipe.G[0](z)).numpy()  # LeakyReLU(Linear z): the input of the first batch-norm
        np.testing.assert_allclose(first_bn.running_mean, h.mean(0), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(first_bn.running_var, h.var(0, ddof=1), rtol=1e-4, atol=1e-6)
        assert not recipe.G.training and first_bn.momentum == 0.2
    np.testing.assert_array_equal(first_bn.running_mean, live[0])
    np.testing.assert_array_equal(first_bn.running_var, live[1])
    assert tg.random.get_rng_state() == state


@pytest.mark.parametrize("name", ["discogan", "stackgan", "cogan", "began", "hrdcgan"])
def test_every_kind_of_recipe_samples_from_an_average_with_its_own_statistics(name, tmp_path, fake_mnist):
    """Two steps with --ema, then a grid and the averaged weights back in a sampling run: the
    translation, staged, coupled and auto-encoder recipes draw their grids through the same path."""
    from tinygan.gan.registry import get_recipe
    tg.manual_seed(0)
    recipe = get_recipe(name)()
    images, labels = fake_mnist["train"]
    loader = recipe.make_loader(images, labels, batch_size=8, device="cpu")
    trainer = Trainer(recipe, loader, tmp_path, TrainConfig(steps=2, grid_size=9, ema=0.9), **QUIET)
    trainer.fit()
    grid = trainer.sample_grid()
    assert np.isfinite(grid).all() and grid.shape[0] >= 9
    from tinygan.cli import load_run
    again, meta = load_run(tmp_path / "checkpoint.npz")
    assert meta["weights"].startswith("running average")
