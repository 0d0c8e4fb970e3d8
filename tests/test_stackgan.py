"""StackGAN and StackGAN++ through the shared Trainer: the stage schedule (Stage-I, then Stage-II
with Stage-I frozen), exact resume across the stage boundary, the tree generator's branches, and
the label-accuracy metric both report.

The schedule and resume tests use tiny networks (4-8 channels) on synthetic images, so that
the file runs in seconds; the real runs are in docs/variants.md.
"""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import load_checkpoint
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer, get_recipe
from tinygan.gan.stack_blocks import text_embedding
from tinygan.gan.stackgan import StackGAN, StackGANConfig
from tinygan.gan.stackganpp import StackGANpp, StackGANppConfig
from tinygan.metrics.label_accuracy import balanced_labels, label_accuracy, label_accuracy_from_probs
from tinygan.tensor import Tensor

QUIET = dict(log=lambda line: None)
TINY = dict(z_dim=8, c_dim=4, cond_dim=4, ngf=8, ndf=4)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def _loader(data, seed=0):
    return DataLoader(*data, batch_size=8, seed=seed)


def _stackgan(seed=0, **kw):
    tg.manual_seed(seed)
    return StackGAN(StackGANConfig(**TINY, n_res=1, stage1_steps=3, stage2_steps=3, **kw))


def _state(recipe):
    """Every parameter and buffer of every network, as host arrays."""
    return {f"{name}.{k}": np.array(v) for name, net in recipe.networks().items()
            for k, v in net.state_dict().items()}


def _fit(recipe, data, out, steps, resume=False, loader_seed=0):
    trainer = Trainer(recipe, _loader(data, loader_seed), out, TrainConfig(steps=steps, checkpoint_every=100,
                                                                          sample_every=100, grid_size=4), **QUIET)
    trainer.fit(resume=resume)
    return trainer


@pytest.mark.parametrize("split", [2, 4], ids=["stop-in-stage-1", "stop-in-stage-2"])
def test_resume_across_the_stage_boundary_continues_exactly(split, tmp_path):
    data = _data()
    straight = _stackgan()
    _fit(straight, data, tmp_path / "a", 6)
    first = _stackgan()
    _fit(first, data, tmp_path / "b", split)
    meta, _ = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert meta["recipe_state"] == {"stage": 1 if split < 3 else 2}
    tg.manual_seed(123)  # the resumed run must not depend on the fresh process's state
    second = _stackgan(seed=99)
    _fit(second, data, tmp_path / "b", 6, resume=True, loader_seed=77)
    assert second.stage == 2
    a, b = _state(straight), _state(second)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_stage_one_trains_only_stage_one_and_stage_two_freezes_it(tmp_path):
    data = _data()
    recipe = _stackgan()
    start = _state(recipe)
    _fit(recipe, data, tmp_path / "a", 3)          # Stage-I only
    after1 = _state(recipe)
    for k in start:
        changed = not np.array_equal(start[k], after1[k])
        if k.startswith(("G2.", "D2.")):
            assert not changed, f"{k} moved during Stage-I"
    assert any(not np.array_equal(start[k], after1[k]) for k in start if k.startswith("G1."))
    assert any(not np.array_equal(start[k], after1[k]) for k in start if k.startswith("D1."))
    assert recipe.current_phase()[:2] == (("D1",), ("G1",))
    _fit(recipe, data, tmp_path / "a", 6, resume=True)  # Stage-II
    after2 = _state(recipe)
    for k in start:
        if k.startswith(("G1.", "D1.")):   # weights AND batch-norm running statistics
            np.testing.assert_array_equal(after1[k], after2[k], err_msg=f"{k} moved during Stage-II")
    assert any(not np.array_equal(after1[k], after2[k]) for k in start if k.startswith("G2."))
    assert any(not np.array_equal(after1[k], after2[k]) for k in start if k.startswith("D2."))
    assert recipe.current_phase()[:2] == (("D2",), ("G2",))
    assert set(recipe.current_phase().frozen_in_g_step) == {"G1", "D1", "D2"}


def test_stackgan_images_of_each_stage():
    recipe = _stackgan()
    latent = recipe.sample_latent(5, np.arange(5))
    assert [t.shape for t in latent] == [(5, 8), (5,), (5, 4), (5, 4)]
    assert recipe.stage1(latent)[0].shape == (5, 1, 14, 14)
    assert recipe.generate(latent).shape == (5, 1, 28, 28)      # Stage-I up-sampled during Stage-I
    assert recipe.sample_images(latent).shape == (5, 1, 28, 28)
    recipe.before_step(3, 8)
    assert recipe.stage == 2 and not recipe.G1.training
    assert recipe.generate(latent).shape == (5, 1, 28, 28)
    assert recipe.sample_images(latent).shape == (5, 1, 28, 56)  # Stage-I | Stage-II
    with pytest.raises(ValueError, match="stage"):
        recipe.load_state_dict({"stage": 3})
    with pytest.raises(ValueError, match="stage1_steps"):
        StackGANConfig(stage1_steps=0)


def test_matching_aware_negatives_are_mismatched_labels():
    recipe = _stackgan()
    labels = np.arange(2000) % 10
    wrong = recipe.wrong_labels(labels).numpy()
    assert (wrong != labels).all() and wrong.min() >= 0 and wrong.max() <= 9
    assert len(np.unique(wrong[labels == 3])) == 9   # every other digit occurs


def test_stackganpp_branches_and_gradients():
    tg.manual_seed(0)
    recipe = StackGANpp(StackGANppConfig(**TINY))
    images, labels = _data(8)
    real = Tensor(images[:, None].astype(np.float32) / np.float32(127.5) - np.float32(1))
    latent = recipe.sample_latent(8, labels)
    branches, kl = recipe.G(*latent)
    assert [s.shape for s in branches] == [(8, 1, 7, 7), (8, 1, 14, 14), (8, 1, 28, 28)]
    assert recipe.sample_images(latent).shape == (8, 1, 28, 84)
    assert [x.shape[2] for x in recipe.scales(real)] == [7, 14, 28]
    for loss_fn, args, net in ((recipe.d_loss, (real, labels), recipe.D), (recipe.g_loss, (8, labels), recipe.G)):
        for m in recipe.networks().values():
            m.zero_grad()
        loss, info = loss_fn(*args)
        loss.backward()
        assert loss.dtype == np.float32 and all(math.isfinite(v.item()) for v in info.values())
        for name, p in net.named_parameters():   # every branch and both heads of every D get a gradient
            assert p.grad is not None and p.grad.dtype == np.float32, name
    assert recipe.conditional and "label_accuracy" in recipe.tracked_scores


def _softplus(x):
    return np.logaddexp(0.0, x)


@pytest.mark.parametrize("uncond_weight", [1.0, 0.0])
def test_stackganpp_d_loss_counts_real_wrong_and_fake_once_each(uncond_weight):
    """The authors' StackGAN-v2 weighting: real + wrong + fake, weight 1 each, each with its
    unconditional term (the wrong pair's image is real); without the unconditional loss, StackGAN's
    real + (wrong + fake) / 2. Recomputed here from D's heads with NumPy."""
    tg.manual_seed(0)
    recipe = StackGANpp(StackGANppConfig(**TINY, uncond_weight=uncond_weight))
    images, labels = _data(8)
    real = Tensor(images[:, None].astype(np.float32) / np.float32(127.5) - np.float32(1))
    rng_state = tg.random.get_rng_state()
    loss, _ = recipe.d_loss(real, labels)
    tg.random.set_rng_state(rng_state)                      # the same draws again, by hand
    latent = recipe.sample_latent(8, labels)
    y, y_wrong = latent[1], recipe.wrong_labels(latent[1])
    assert (y_wrong.numpy() != labels).all()
    fakes = recipe.G(*latent)[0]
    expected = 0.0
    for D, x, s in zip(recipe.D, recipe.scales(real), fakes):
        h_real, h_fake = D.encode(x), D.encode(s)
        rc, wc, fc = (D.cond(h, lab).numpy().astype(np.float64) for h, lab in
                      ((h_real, y), (h_real, y_wrong), (h_fake, y)))
        ru, fu = (D.uncond(h).numpy().astype(np.float64) for h in (h_real, h_fake))
        if uncond_weight:
            expected += (_softplus(-rc).mean() + _softplus(-ru).mean() + _softplus(wc).mean() + _softplus(-ru).mean()
                         + _softplus(fc).mean() + _softplus(fu).mean())
        else:
            expected += _softplus(-rc).mean() + 0.5 * (_softplus(wc).mean() + _softplus(fc).mean())
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_stackganpp_up_sampling_blocks_are_gated():
    tg.manual_seed(0)
    recipe = StackGANpp(StackGANppConfig(**TINY))
    for branch, c in zip(recipe.G.F, (8, 4)):
        up = branch.joint[-1]
        kinds = [type(m).__name__ for m in up]
        assert kinds == ["Upsample", "Conv2d", "BatchNorm2d", "GLU"]
        assert up[1].out_channels == 2 * (c // 2)          # twice the channels, halved again by the gate
    assert type(StackGAN(StackGANConfig(**TINY)).G1.up[-1]).__name__ == "ReLU"  # StackGAN's own block


@pytest.mark.parametrize("cls, config_cls, cas", [(StackGAN, StackGANConfig, lambda r: [r.G1.ca, r.G2.ca]),
                                                   (StackGANpp, StackGANppConfig, lambda r: [r.G.ca])])
def test_conditioning_augmentation_means_start_apart(cls, config_cls, cas):
    """The CA's mean rows are drawn with std ca_mean_std (the log-variance rows keep DCGAN's 0.02),
    so the ten digits start with distinct mu: c_hat carries the label from the first step."""
    tg.manual_seed(0)
    recipe = cls(config_cls(**dict(TINY, c_dim=16), ca_mean_std=1.0))
    for ca in cas(recipe):
        w = ca.fc.weight.data
        assert 0.7 < w[:16].std() < 1.3 and w[16:].std() < 0.05
        mu, _ = ca(text_embedding(Tensor(np.arange(10))), Tensor(np.zeros((10, 16), np.float32)))
        gaps = np.linalg.norm(mu.data[:, None] - mu.data[None], axis=-1)[~np.eye(10, dtype=bool)]
        assert gaps.min() > 1.0     # with DCGAN's 0.02 they would be ~0.1 apart
    with pytest.raises(ValueError, match="ca_mean_std"):
        config_cls(ca_mean_std=0.0)


def test_recipes_are_registered_with_paper_and_losses():
    for name, cls in (("stackgan", StackGAN), ("stackganpp", StackGANpp)):
        assert get_recipe(name) is cls
        assert "arXiv:" in cls.paper and cls.loss_formulas
    assert "1612.03242" in StackGAN.paper and "1710.10916" in StackGANpp.paper


# -- label accuracy ---------------------------------------------------------------------------------
def test_label_accuracy_from_probs_by_hand():
    probs = np.array([[0.9] + [0.1 / 9] * 9, [0.9] + [0.1 / 9] * 9, np.eye(10)[1], np.eye(10)[5]])
    scores = label_accuracy_from_probs(probs, np.array([0, 1, 1, 3]))
    assert scores["label_accuracy"] == 0.5
    assert scores["label_accuracy_per_digit"][:4] == [1.0, 0.5, None, 0.0]
    with pytest.raises(ValueError, match="labels: expected shape"):
        label_accuracy_from_probs(probs, np.array([0, 1]))
    assert list(balanced_labels(12)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


class _RealDigits:
    """A conditional 'generator' that returns real MNIST test digits of the asked label (or ignores it)."""

    conditional = True
    name = "real-digits"
    device = "cpu"

    def __init__(self, ignore_label):
        from tinygan.data import load_mnist
        images, labels = load_mnist("test")
        self.by_digit = [images[labels == d][:60] for d in range(10)]
        self.ignore_label = ignore_label

    def networks(self):
        return {}

    def sample_inputs(self, n, labels):
        return (np.asarray(labels),)

    def generate(self, latent):
        (labels,) = latent
        digits = np.zeros_like(labels) + 7 if self.ignore_label else labels
        x = np.stack([self.by_digit[d][i % 60] for i, d in enumerate(digits)])
        return Tensor(x[:, None].astype(np.float32) / np.float32(127.5) - np.float32(1))


def test_label_accuracy_of_real_digits_and_of_a_generator_that_ignores_the_label():
    pytest.importorskip("tinygan.data")
    try:
        honest = label_accuracy(_RealDigits(False), n=200)
    except (FileNotFoundError, OSError) as err:
        pytest.skip(f"MNIST test set not available: {err}")
    assert honest["label_accuracy"] > 0.95
    ignoring = label_accuracy(_RealDigits(True), n=200)
    assert abs(ignoring["label_accuracy"] - 0.1) < 0.02
    assert ignoring["label_accuracy_per_digit"][7] > 0.9 and ignoring["label_accuracy_per_digit"][3] < 0.05


def test_eval_of_a_conditional_recipe_reports_the_label_accuracy_of_its_samples():
    recipe = _stackgan()
    for net in recipe.networks().values():   # eval draws with running batch-norm statistics
        net.eval()
    scores = recipe.evaluate(n=100, seed=1)
    again = label_accuracy(recipe, n=100, seed=1)
    assert scores["label_accuracy"] == again["label_accuracy"]
    assert scores["label_accuracy_per_digit"] == again["label_accuracy_per_digit"]
    assert len(scores["label_accuracy_per_digit"]) == 10 and 0 <= scores["label_accuracy"] <= 1
