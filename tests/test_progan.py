"""ProGAN: its three layers (gradients to second order, forward values against loops
and closed forms, the equalized learning rate against a plain layer), the growing networks'
fade-in at alpha = 0 and 1, the growth schedule, the padded data, Adam on blocks not yet in use,
bit-identical resume across a phase boundary, and a short run on real MNIST that must learn."""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, gradcheck, gradgradcheck, nn
from tinygan.cli import load_run
from tinygan.data import load_mnist
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.progan import ProGAN, ProGANConfig
from tinygan.gan.progan_schedule import GrowthSchedule
from tinygan.ops import avg_pool2d, upsample_nearest
from tinygan.tensor import Tensor, no_grad

from helpers import tensor, to_np

QUIET = dict(log=lambda line: None)
TINY = dict(z_dim=8, channels="8,8,4,4")


def _x(shape, device, seed=0):
    return tensor(np.random.default_rng(seed).standard_normal(shape), device, requires_grad=True)


# -- the layers: first and second derivatives in float64 --------------------------------------------
LAYERS = {
    "pixel_norm_4d": (lambda: nn.PixelNorm(), (2, 3, 2, 2)),
    "pixel_norm_2d": (lambda: nn.PixelNorm(), (3, 5)),
    "mbstd_g4": (lambda: nn.MinibatchStdDev(4), (8, 2, 2, 3)),
    "mbstd_g2": (lambda: nn.MinibatchStdDev(2), (4, 3, 2, 2)),
    "mbstd_batch_smaller_than_group": (lambda: nn.MinibatchStdDev(4), (3, 2, 2, 2)),
    "eq_linear": (lambda: nn.EqualizedLR(nn.Linear(4, 3)), (2, 4)),
    "eq_conv3x3": (lambda: nn.EqualizedLR(nn.Conv2d(2, 3, 3, padding=1)), (2, 2, 4, 4)),
    "eq_conv1x1_gain1": (lambda: nn.EqualizedLR(nn.Conv2d(2, 1, 1), gain=1.0), (2, 2, 3, 3)),
}


def _layer(name, device):
    make, shape = LAYERS[name]
    tg.manual_seed(0)
    layer = make().to(device).double()
    for p in layer.parameters():  # biases away from their 0 start, so a wrong bias path shows
        p.data += backend.to_device(np.random.default_rng(5).uniform(-0.5, 0.5, p.shape), device)
    return layer, shape


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradcheck(name, device):
    layer, shape = _layer(name, device)
    assert gradcheck(lambda x, *ps: layer(x), [_x(shape, device), *layer.parameters()])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradgradcheck(name, device):
    layer, shape = _layer(name, device)
    assert gradgradcheck(lambda x, *ps: layer(x), [_x(shape, device), *layer.parameters()])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_keeps_float32(name, device):
    make, shape = LAYERS[name]
    layer = make().to(device)
    x = tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32), device, requires_grad=True)
    y = layer(x)
    (y * y).sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


# -- forward values ------------------------------------------------------------------------------
def naive_minibatch_stddev(x, group_size):
    """The paper's definition with loops: image n is in group n mod (N / G)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    m = n // g
    out = np.zeros((n, c + 1, h, w))
    out[:, :c] = x
    for j in range(m):
        members = [k * m + j for k in range(g)]
        stds = []
        for ch in range(c):
            for i in range(h):
                for q in range(w):
                    v = [x[k, ch, i, q] for k in members]
                    mu = sum(v) / g
                    stds.append(math.sqrt(sum((a - mu) ** 2 for a in v) / g + 1e-8))
        for k in members:
            out[k, c] = sum(stds) / len(stds)
    return out


@pytest.mark.parametrize("shape,group", [((8, 2, 3, 2), 4), ((6, 3, 2, 2), 2), ((2, 2, 2, 2), 4)])
def test_minibatch_stddev_matches_the_loop(shape, group, device):
    x = np.random.default_rng(1).standard_normal(shape)
    y = to_np(nn.MinibatchStdDev(group)(tensor(x, device)))
    np.testing.assert_allclose(y, naive_minibatch_stddev(x, group), rtol=1e-12, atol=1e-12)


def test_minibatch_stddev_of_identical_images_is_zero_and_errors_are_clear(device):
    x = np.repeat(np.random.default_rng(2).standard_normal((1, 2, 3, 3)), 4, axis=0)
    y = to_np(nn.MinibatchStdDev(4)(tensor(x, device)))
    np.testing.assert_allclose(y[:, 2], 1e-4, rtol=1e-6)  # sqrt(0 + 1e-8)
    with pytest.raises(ValueError, match="divisible by the group size 4, got 6"):
        nn.MinibatchStdDev(4)(tensor(np.zeros((6, 1, 2, 2)), device))
    with pytest.raises(ValueError, match="group_size: expected a positive integer"):
        nn.MinibatchStdDev(0)


def test_pixel_norm_closed_form(device):
    x = np.random.default_rng(3).standard_normal((2, 5, 3, 3))
    y = to_np(nn.PixelNorm()(tensor(x, device)))
    expected = x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_allclose((y ** 2).mean(axis=1), 1.0, rtol=1e-6)  # unit mean square per pixel


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_equalized_lr_matches_a_plain_layer_with_the_scaled_weight(kind, device):
    """Output, input gradient and weight gradient: the stored w gets c times the plain layer's."""
    tg.manual_seed(0)
    if kind == "linear":
        make, shape, fan_in = (lambda: nn.Linear(6, 4)), (3, 6), 6
    else:
        make, shape, fan_in = (lambda: nn.Conv2d(3, 2, 3, padding=1)), (2, 3, 5, 5), 27
    eq = nn.EqualizedLR(make()).to(device).double()
    plain = make().to(device).double()
    c = math.sqrt(2.0) / math.sqrt(fan_in)
    assert eq.scale == pytest.approx(c)
    np.testing.assert_allclose(to_np(eq.effective_weight()), to_np(eq.layer.weight) * c, rtol=1e-15)
    plain.weight.data[...] = eq.layer.weight.data * c
    plain.bias.data[...] = backend.to_device(np.random.default_rng(1).standard_normal(plain.bias.shape), device)
    eq.layer.bias.data[...] = plain.bias.data
    xs = [_x(shape, device, seed=4) for _ in range(2)]
    outs = [m(x) for m, x in zip((eq, plain), xs)]
    np.testing.assert_allclose(to_np(outs[0]), to_np(outs[1]), rtol=1e-12)
    g = tensor(np.random.default_rng(6).standard_normal(outs[0].shape), device)
    for out in outs:
        (out * g).sum().backward()
    np.testing.assert_allclose(to_np(xs[0].grad), to_np(xs[1].grad), rtol=1e-12)
    np.testing.assert_allclose(to_np(eq.layer.weight.grad), c * to_np(plain.weight.grad), rtol=1e-12)
    np.testing.assert_allclose(to_np(eq.layer.bias.grad), to_np(plain.bias.grad), rtol=1e-12)


def test_equalized_lr_initialises_n01_weights_and_zero_biases():
    tg.manual_seed(0)
    layer = nn.equalized_lr(nn.Conv2d(64, 64, 3))
    w = to_np(layer.layer.weight)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01
    assert not to_np(layer.layer.bias).any()
    with pytest.raises(TypeError, match="expected a Linear or a Conv2d, got ConvTranspose2d"):
        nn.EqualizedLR(nn.ConvTranspose2d(2, 2, 3))


# -- the growing networks ------------------------------------------------------------------------
def _recipe(device="cpu", seed=0, **options):
    tg.manual_seed(seed)
    return ProGAN(ProGANConfig(**{**TINY, **options}), device=device)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_fade_in_endpoints_are_exact(level, device):
    r = _recipe(device)
    z = Tensor(backend.to_device(np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32), device))
    size = 4 * 2 ** level
    x = Tensor(backend.to_device(np.random.default_rng(1).uniform(-1, 1, (4, 1, size, size)).astype(np.float32),
                                 device))
    with no_grad():
        # G: alpha = 0 is the previous resolution's G, upsampled; alpha = 1 the new path alone.
        old = to_np(upsample_nearest(r.G(z, level - 1), 2))
        np.testing.assert_array_equal(to_np(r.G(z, level, 0.0)), old)
        h = r.G.blocks[0](r.G.latent_norm(z))
        for i in range(1, level + 1):
            h = r.G.blocks[i](h)
        np.testing.assert_array_equal(to_np(r.G(z, level, 1.0)), to_np(r.G.to_rgb[level](h)))
        mid = to_np(r.G(z, level, 0.25))
        np.testing.assert_allclose(mid, 0.75 * old + 0.25 * to_np(r.G.to_rgb[level](h)), rtol=1e-5, atol=1e-6)
        # D mirrored: alpha = 0 is the previous D on the average-pooled image.
        np.testing.assert_array_equal(to_np(r.D(x, level, 0.0)), to_np(r.D(avg_pool2d(x, 2), level - 1)))
        assert not np.array_equal(to_np(r.D(x, level, 1.0)), to_np(r.D(x, level, 0.0)))
    assert r.G(z, level).shape == (4, 1, size, size) and r.D(x, level).shape == (4, 1)


def test_growth_schedule():
    s = GrowthSchedule(levels=4, fade_images=100, stable_images=60)
    assert s.total_images == 60 + 3 * 160
    assert s.at(0) == (0, 1.0) and s.at(59) == (0, 1.0)
    assert s.at(60) == (1, 0.0) and s.at(85) == (1, 0.25) and s.at(160) == (1, 1.0)
    assert s.at(220) == (2, 0.0) and s.at(10 ** 6) == (3, 1.0)
    assert [p[:2] for p in s.phases()] == [("stable", 0), ("fade", 1), ("stable", 1), ("fade", 2), ("stable", 2),
                                           ("fade", 3), ("stable", 3)]
    assert str(s) == ("growth (real images): 4x4 stable for 60; then 8x8, 16x16, 32x32, each faded in over 100 and "
                      "stable for 60; the last stable phase lasts until training stops")  # ProGAN's card says this
    with pytest.raises(ValueError, match="fade_images: expected a positive integer"):
        GrowthSchedule(4, 0, 10)


def test_real_images_padded_with_background_and_shown_at_the_current_resolution():
    r = _recipe()
    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28), dtype=np.uint8)
    loader = r.make_loader(images, None, 16, "cpu")
    x, _ = next(iter(loader))
    xs = to_np(x)
    assert xs.shape == (16, 1, 32, 32)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert (xs[:, 0][:, border] == -1.0).all()
    r.before_step(0, 16)
    assert r.level == 0 and r.alpha == 1.0
    np.testing.assert_allclose(to_np(r.real_at_resolution(x)), xs.reshape(16, 1, 4, 8, 4, 8).mean(axis=(3, 5)),
                               rtol=1e-5, atol=1e-6)
    r.level, r.alpha = 2, 0.25    # a fade into 16x16: blended with the 8x8 version, upsampled
    x16 = xs.reshape(16, 1, 16, 2, 16, 2).mean(axis=(3, 5))
    x8 = np.repeat(np.repeat(x16.reshape(16, 1, 8, 2, 8, 2).mean(axis=(3, 5)), 2, axis=2), 2, axis=3)
    np.testing.assert_allclose(to_np(r.real_at_resolution(x)), 0.75 * x8 + 0.25 * x16, rtol=1e-5, atol=1e-6)


def test_generate_crops_to_28_and_grids_show_32(device):
    r = _recipe(device)
    r.level, r.alpha = 1, 0.5
    with no_grad():
        latent = r.sample_latent(4)
        grid, images = r.sample_images(latent), r.generate(latent)
    assert grid.shape == (4, 1, 32, 32) and images.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(to_np(images), to_np(grid)[:, :, 2:30, 2:30])
    assert to_np(images).min() >= -1.0 and to_np(images).max() <= 1.0


def _fake_images(n=96):
    return np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _params(recipe):
    return {f"{n}.{k}": v for n, m in recipe.networks().items() for k, v in m.state_dict().items()}


def test_adam_leaves_blocks_not_yet_in_use_untouched(tmp_path):
    r = _recipe()
    before = _params(r)
    trainer = Trainer(r, r.make_loader(_fake_images(), None, 8, "cpu"), tmp_path, TrainConfig(steps=2), **QUIET)
    batches = trainer._batches()
    for step in range(2):
        trainer.step = step
        trainer._train_step(batches)
    after = _params(r)
    for net, opt in ((r.G, r.opt_g), (r.D, r.opt_d)):
        in_use = {id(p) for m in (net.blocks[0], (net.to_rgb if net is r.G else net.from_rgb)[0])
                  for p in m.parameters()}
        for i, p in enumerate(opt.params):
            assert (opt.param_steps[i] == 2) == (id(p) in in_use)
            assert bool(opt.state[i]) == (id(p) in in_use)  # no moments for a block not used yet
    changed = {k for k in before if not np.array_equal(before[k], after[k])}
    assert changed and all(k.split(".")[1:3] in (["blocks", "0"], ["to_rgb", "0"], ["from_rgb", "0"])
                           for k in changed), sorted(changed)


def test_resume_across_a_phase_boundary_is_bit_identical(tmp_path, monkeypatch):
    """Stop in the middle of the 4 -> 8 fade (alpha 0.25), resume in a fresh state: the weights
    after the 8x8 stable phase and the start of the 16x16 fade equal an unbroken run's."""
    monkeypatch.setattr(Trainer, "save_samples", lambda self: None)  # matplotlib is most of the time here
    schedule = dict(fade_images=32, stable_images=24)   # batch 8: 3 steps at 4x4, then 4 steps of fade
    images = _fake_images()

    def run(out, steps, resume=False, seed=0, loader_seed=3):
        r = _recipe(seed=seed, **schedule)
        loader = r.make_loader(images, None, 8, "cpu")
        loader.seed = loader_seed
        trainer = Trainer(r, loader, out, TrainConfig(steps=steps, checkpoint_every=5, sample_every=100), **QUIET)
        trainer.fit(resume=resume)
        return r

    straight = run(tmp_path / "a", 12)
    first = run(tmp_path / "b", 5)
    assert (first.level, first.alpha) == (1, 0.25)          # the state of step 5 (images 4 * 8 = 32)
    tg.manual_seed(123)   # the resumed run must not depend on the fresh process's random state
    second = run(tmp_path / "b", 12, resume=True, seed=99, loader_seed=77)
    assert (second.level, second.alpha) == (straight.level, straight.alpha) == (2, 0.25)
    a, b = _params(straight), _params(second)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert straight.growth.keys() == second.growth.keys() == {0, 1}
    for level in straight.growth:
        np.testing.assert_array_equal(straight.growth[level], second.growth[level])
    # `tinygan sample` and `tinygan eval` rebuild the recipe at the checkpoint's phase, at 28x28.
    loaded, meta = load_run(tmp_path / "b" / "checkpoint.npz")
    assert (loaded.level, loaded.alpha, loaded.images_shown) == (second.level, second.alpha, 11 * 8)
    with no_grad():
        assert loaded.generate(loaded.sample_latent(4)).shape == (4, 1, 28, 28)


def test_state_that_disagrees_with_the_schedule_is_refused():
    r = _recipe(fade_images=32, stable_images=24)
    with pytest.raises(ValueError, match="level 0, alpha 1.0 at 40 images.*gives level 1, alpha 0.5"):
        r.load_state_dict({"images_shown": 40, "level": 0, "alpha": 1.0, "batch_size": 8})
    assert r.default_steps(8) == -(-(24 + 3 * 56) // 8)


def test_short_run_on_mnist_learns_the_low_resolution_digits(tmp_path, monkeypatch, mnist_root):
    """4x4 then the fade to 8x8 on 512 real digits: the samples' mean image moves to MNIST's."""
    monkeypatch.setattr(Trainer, "save_samples", lambda self: None)
    images, _ = load_mnist("train", root=mnist_root)
    images = images[np.random.default_rng(0).choice(len(images), 512, replace=False)]
    r = _recipe(fade_images=640, stable_images=320, channels="16,16,4,4", z_dim=16)
    loader = r.make_loader(images, None, 16, "cpu")
    real8 = to_np(avg_pool2d(Tensor(loader._x[:512]), 4)).mean(axis=0)

    def distance():
        r.level, r.alpha = 1, 1.0
        with no_grad():
            fake = to_np(r.G(*r.sample_latent(256), 1))
        return np.abs(fake.mean(axis=0) - real8).mean()

    before = distance()
    Trainer(r, loader, tmp_path, TrainConfig(steps=40, log_every=10, sample_every=100), **QUIET).fit()
    assert (r.level, r.alpha) == (1, 0.475)  # 39 * 16 images: 19 * 16 into the fade
    after = distance()
    assert after < 0.5 * before, (before, after)
    for p in list(r.G.parameters()) + list(r.D.parameters()):
        assert p.dtype == np.float32


def test_cli_trains_the_schedule_unless_told_otherwise(monkeypatch, tmp_path):
    """`tinygan train progan` runs as many steps as the schedule has images (--steps or --epochs win)."""
    import tinygan.data
    import tinygan.gan
    from tinygan.cli import main
    seen = []

    class FakeTrainer:
        checkpoint_path = tmp_path / "checkpoint.npz"

        def __init__(self, recipe, loader, out, config, evaluator=None, run_info=None):
            seen.append((recipe, loader, config))

        def fit(self, resume=False):
            pass

    monkeypatch.setattr(tinygan.gan, "Trainer", FakeTrainer)
    monkeypatch.setattr(tinygan.data, "load_mnist", lambda split, root=None: (_fake_images(), np.zeros(96, np.int64)))
    base = ["train", "progan", "--batch-size", "16", "--fade-images", "160", "--stable-images", "96",
            "--channels", "8,8,4,4", "--out", str(tmp_path)]
    assert main(base) == 0 and main(base + ["--epochs", "2"]) == 0 and main(base + ["--steps", "7"]) == 0
    (recipe, loader, config), (_, _, by_epochs), (_, _, by_steps) = seen
    assert config.steps == 54 == recipe.default_steps(16)    # (96 + 3 * (160 + 96)) / 16
    assert by_epochs.steps is None and by_epochs.epochs == 2.0 and by_steps.steps == 7
    assert next(iter(loader))[0].shape == (16, 1, 32, 32)
    assert main(["train", "vanilla", "--batch-size", "16", "--out", str(tmp_path)]) == 0
    assert seen[-1][2].steps is None and seen[-1][2].epochs == 5.0   # recipes without a schedule: 5 epochs
