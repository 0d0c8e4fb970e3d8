"""BEGAN (the equilibrium control k_t, the convergence measure, exact resume of k_t, an auto-encoder
that learns) and HR-DCGAN (BS layers, training at 64x64 from resized MNIST, 28x28 output), on
real MNIST images with networks made small through the recipes' own width options."""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.checkpoint import load_checkpoint
from tinygan.data import DataLoader, load_mnist
from tinygan.gan import TrainConfig, Trainer, get_recipe
from tinygan.gan.began import BEGAN, BEGANConfig
from tinygan.gan.hrdcgan import HRDCGAN, HRDCGANConfig
from tinygan.tensor import Tensor
from tinygan.viz import read_metrics

from helpers import load_script

QUIET = dict(log=lambda line: None)


@pytest.fixture(scope="module")
def mnist(mnist_root):
    images, labels = load_mnist("train", root=mnist_root)
    idx = np.random.default_rng(0).choice(len(images), 256, replace=False)
    return images[idx], labels[idx]


def real_batch(images, n):
    return Tensor(images[:n, None].astype(np.float32) / np.float32(127.5) - np.float32(1))


def small_began(seed=0, **options):
    tg.manual_seed(seed)
    return BEGAN(BEGANConfig(n=4, z_dim=8, **options))


def params(recipe):
    return {f"{n}.{k}": v for n, m in recipe.networks().items() for k, v in m.state_dict().items()}


# -- BEGAN ------------------------------------------------------------------------------------------
def test_began_step_updates_k_by_the_proportional_control(mnist):
    recipe = small_began(gamma=0.4, lambda_k=0.05)
    recipe.k = 0.3
    real = real_batch(mnist[0], 8)
    d_loss, d_info = recipe.d_loss(real, None)
    loss_real, loss_fake_d = d_info["L(x)"].item(), d_info["L(G(z_D))"].item()
    assert math.isclose(d_loss.item(), loss_real - 0.3 * loss_fake_d, rel_tol=1e-5)
    d_loss.backward()
    g_loss, g_info = recipe.g_step_loss(real, None)
    loss_fake = g_loss.item()
    assert recipe.k == 0.3                      # k_t moves after the generator's update, in after_g_step
    g_info.update(recipe.after_g_step(g_info))
    assert math.isclose(recipe.k, 0.3 + 0.05 * (0.4 * loss_real - loss_fake), rel_tol=1e-6)
    assert math.isclose(g_info["M_global"].item(), loss_real + abs(0.4 * loss_real - loss_fake), rel_tol=1e-5)
    assert math.isclose(g_info["k"].item(), recipe.k, rel_tol=1e-6)
    for k, v in {**d_info, **g_info}.items():
        assert v.dtype == np.float32 and v.shape == (), k
    g_loss.backward()
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in recipe.G.parameters())


def test_began_k_stays_in_the_unit_interval(mnist):
    real = real_batch(mnist[0], 8)
    for gamma, start, bound in ((1.0, 0.99, 1.0), (0.01, 0.01, 0.0)):
        recipe = small_began(gamma=gamma, lambda_k=100.0)
        recipe.k = start
        recipe.d_loss(real, None)
        recipe.after_g_step(recipe.g_step_loss(real, None)[1])
        assert recipe.k == bound


def test_began_k_starts_at_k_init_and_stays_there_without_control(mnist):
    assert small_began().k == 0.0                               # the paper's k_0
    real = real_batch(mnist[0], 8)
    held = small_began(k_init=0.6, lambda_k=0.0)
    controlled = small_began(k_init=0.6, lambda_k=0.05)
    for recipe in (held, controlled):
        assert recipe.k == 0.6
        for _ in range(3):
            d_loss, d_info = recipe.d_loss(real, None)
            assert math.isclose(d_loss.item(), d_info["L(x)"].item() - recipe.k * d_info["L(G(z_D))"].item(),
                                rel_tol=1e-5)
            recipe.after_g_step(recipe.g_step_loss(real, None)[1])
    assert held.k == 0.6                                        # lambda_k = 0: k_t held
    assert controlled.k != 0.6                                  # the control moves it


def test_began_reconstruction_error_is_the_mean_l1_per_image():
    recipe = small_began()
    x = Tensor(np.random.default_rng(1).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32))
    expected = np.abs(x.numpy() - recipe.D(x).numpy()).reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(recipe.reconstruction_error(x).numpy(), expected, rtol=1e-5)
    z = recipe.sample_latent(500)[0].numpy()
    assert z.shape == (500, 8) and z.min() >= -1 and z.max() <= 1 and z.min() < -0.9 and z.max() > 0.9


def test_began_resumes_k_exactly(mnist, tmp_path):
    def run(out, steps, resume=False, seed=0):
        recipe = small_began(seed)
        loader = DataLoader(*mnist, batch_size=16, seed=3)
        Trainer(recipe, loader, out, TrainConfig(steps=steps, checkpoint_every=3, log_every=1), **QUIET).fit(resume)
        return recipe

    straight = run(tmp_path / "a", 6)
    run(tmp_path / "b", 3)
    meta, _ = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert meta["recipe_state"]["k"] > 0
    resumed = run(tmp_path / "b", 6, resume=True, seed=9)
    assert resumed.k == straight.k
    a, b = params(straight), params(resumed)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with pytest.raises(ValueError, match="'k'"):
        resumed.load_state_dict({})


@pytest.mark.parametrize("discriminator", ["small", "paper"])
def test_began_auto_encoder_learns_real_digits(mnist, tmp_path, discriminator):
    recipe = small_began(lr=1e-3, discriminator=discriminator)   # ten times the paper's rate, for 30 steps
    loader = DataLoader(*mnist, batch_size=16, seed=0)
    Trainer(recipe, loader, tmp_path, TrainConfig(steps=30, log_every=5, sample_every=1000,
                                                  checkpoint_every=1000), **QUIET).fit()
    records = [r for r in read_metrics(tmp_path / "metrics.jsonl") if "L(x)" in r]
    assert records[-1]["L(x)"] < 0.7 * records[0]["L(x)"]      # D reconstructs real digits better
    assert all("M_global" in r and 0 <= r["k"] <= 1 for r in records)


def test_began_config_is_checked():
    with pytest.raises(ValueError, match="gamma"):
        BEGANConfig(gamma=0)
    with pytest.raises(ValueError, match="lambda_k"):
        BEGANConfig(lambda_k=-1)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"k_init: expected a number in \[0, 1\]"):
            BEGANConfig(k_init=bad)
    with pytest.raises(ValueError, match="generator: expected 'paper' or 'dcgan', got 'elu'"):
        BEGANConfig(generator="elu")
    with pytest.raises(ValueError, match="discriminator: expected 'paper' or 'small'"):
        BEGANConfig(discriminator="big")
    with pytest.raises(ValueError, match="z_dim"):
        BEGANConfig(z_dim=0)


def test_began_networks_paper_and_default():
    """The paper's networks: ELU, no batch-norm, two 3x3 convolutions at 28x28 before the linear output
    conv; the defaults: DCGAN's generator (BN, ReLU, tanh) and a small auto-encoder without BN."""
    paper = small_began(generator="paper", discriminator="paper")
    for net in (paper.G, paper.D[1]):
        kinds = [type(m) for m in net]
        assert nn.ELU in kinds and nn.BatchNorm2d not in kinds and nn.Tanh not in kinds
        assert kinds[-6:] == [nn.Upsample, nn.Conv2d, nn.ELU, nn.Conv2d, nn.ELU, nn.Conv2d]
    assert nn.ELU in [type(m) for m in paper.D[0]]
    default = small_began()
    g_kinds, d_kinds = [type(m) for m in default.G], [type(m) for m in default.D]
    assert nn.BatchNorm2d in g_kinds and g_kinds[-1] is nn.Tanh and nn.ConvTranspose2d in g_kinds
    assert nn.BatchNorm2d not in d_kinds and d_kinds[-1] is nn.Tanh
    dense = [m for m in default.D if isinstance(m, nn.Linear)]
    assert [m.weight.shape for m in dense] == [(8, 16 * 14 * 14), (16 * 14 * 14, 8)]  # bottleneck h = z_dim
    for recipe in (paper, default):
        images = recipe.generate(recipe.sample_latent(3))
        assert images.shape == (3, 1, 28, 28) and recipe.D(images).shape == (3, 1, 28, 28)


# -- HR-DCGAN ---------------------------------------------------------------------------------------
def test_hrdcgan_networks_have_bs_layers():
    recipe = HRDCGAN(HRDCGANConfig())
    for net in (recipe.G, recipe.D):
        kinds = [type(m) for m in net]
        assert nn.SELU in kinds and nn.ReLU not in kinds and nn.LeakyReLU not in kinds
        for i, m in enumerate(net):  # every batch-norm is followed by a SELU: the paper's BS layer
            if isinstance(m, nn.BatchNorm2d):
                assert isinstance(net[i + 1], nn.SELU)
    assert isinstance(recipe.D[1], nn.SELU)  # D's first layer has no batch-norm, as in DCGAN
    assert get_recipe("hrdcgan") is HRDCGAN and get_recipe("began") is BEGAN
    for cls in (HRDCGAN, BEGAN):
        assert "arXiv:" in cls.paper and {"D", "G"} <= set(cls.loss_formulas)


def test_hrdcgan_trains_at_the_high_resolution_and_outputs_28(mnist, tmp_path):
    tg.manual_seed(0)
    recipe = HRDCGAN(HRDCGANConfig(resolution=32, channels=4))
    loader = recipe.make_loader(*mnist, batch_size=16, device="cpu")
    real, _ = next(iter(loader))
    assert real.shape == (16, 1, 32, 32) and real.dtype == np.float32
    assert recipe.generate_full(recipe.sample_latent(2)).shape == (2, 1, 32, 32)
    assert recipe.generate(recipe.sample_latent(2)).shape == (2, 1, 28, 28)
    Trainer(recipe, loader, tmp_path, TrainConfig(steps=12, log_every=4, sample_every=1000,
                                                  checkpoint_every=1000), **QUIET).fit()
    records = [r for r in read_metrics(tmp_path / "metrics.jsonl") if "D(x)" in r]
    assert records[-1]["D(x)"] > records[-1]["D(G(z))"]        # D separates real 32x32 digits from fakes
    assert all(p.dtype == np.float32 for net in recipe.networks().values() for p in net.parameters())
    assert all(p.grad.dtype == np.float32 for p in recipe.G.parameters())   # after the last (G) step


@pytest.mark.parametrize("resolution", [32, 64])
def test_hrdcgan_generate_gives_an_enlarged_real_digit_back(mnist, resolution):
    """The 28x28 images the metrics read undo the data's enlargement: a G that drew exactly the
    enlarged training digits would be scored on the digits themselves, not on a blurred copy."""
    recipe = HRDCGAN(HRDCGANConfig(resolution=resolution, channels=4))
    digits = mnist[0][:8].astype(np.float32)[:, None] / np.float32(127.5) - np.float32(1)
    recipe.generate_full = lambda latent: tg.resize(Tensor(digits), resolution, "bilinear")
    out = recipe.generate(None)
    assert out.shape == (8, 1, 28, 28)
    np.testing.assert_allclose(out.data, digits, atol=1e-5)
    recipe.generate_full = lambda latent: Tensor(np.full((2, 1, resolution, resolution), 3.0, np.float32))
    assert float(recipe.generate(None).data.max()) == 1.0                   # clipped to the pixel range


def test_hrdcgan_d_projection_keeps_enlarged_digits_and_removes_the_rest(mnist):
    """With d_projection D sees P x: an enlarged real digit unchanged, a pattern off the enlargements'
    subspace (a 64x64 checkerboard) removed to its projection, which P leaves where it is (P P = P);
    without it D sees the image itself. D's loss reads the projected images."""
    digits = mnist[0][:4].astype(np.float32)[:, None] / np.float32(127.5) - np.float32(1)
    enlarged = tg.resize(Tensor(digits), 64, "bilinear")
    checker = Tensor(np.tile(np.array([[1.0, -1.0], [-1.0, 1.0]], np.float32), (32, 32))[None, None])
    plain = HRDCGAN(HRDCGANConfig(channels=4))
    projected = HRDCGAN(HRDCGANConfig(channels=4, d_projection=True))
    np.testing.assert_allclose(projected.d_view(enlarged).data, enlarged.data, atol=1e-5)
    assert plain.d_view(checker) is checker
    once = projected.d_view(checker)
    # the checkerboard is (nearly) all off the subspace: most of its energy goes
    assert float((once.data ** 2).sum()) < 0.25 * float((checker.data ** 2).sum())
    np.testing.assert_allclose(projected.d_view(once).data, once.data, atol=1e-4)
    seen = []
    projected.D = lambda x: seen.append(x.data.copy()) or tg.ops.mean(x.reshape(x.shape[0], -1), axis=1).reshape(-1, 1)
    projected.generate_full = lambda latent: Tensor(np.repeat(checker.data, 4, axis=0))
    projected.d_loss(enlarged, None)
    np.testing.assert_allclose(seen[0], enlarged.data, atol=1e-5)
    np.testing.assert_allclose(seen[1], np.repeat(once.data, 4, axis=0), atol=1e-5)


def test_hrdcgan_config_is_checked():
    with pytest.raises(ValueError, match="resolution"):
        HRDCGANConfig(resolution=40)
    with pytest.raises(ValueError, match="channels"):
        HRDCGANConfig(channels=0)


def test_began_class_errors_reads_per_class_means_and_the_ink_correlation():
    """scripts/began_class_errors.py on a stand-in D whose error is a known function of the image:
    the per-class means are the means of that function, and an error equal to the ink correlates 1."""
    script = load_script("began_class_errors")
    rng = np.random.default_rng(0)
    images = (rng.random((60, 28, 28)) < rng.uniform(0.05, 0.4, size=(60, 1, 1))).astype(np.uint8) * 255
    labels = np.repeat(np.arange(3), 20)
    ink = (images > 127).mean(axis=(1, 2))
    as_ink = script.class_errors(lambda b: ((b[:, 0] + 1) / 2 > 0.5).mean(axis=(1, 2)), images, labels, batch_size=7)
    assert as_ink["ink_correlation"] == pytest.approx(1.0)
    for c, error, class_ink in as_ink["per_class"]:
        assert error == pytest.approx(ink[labels == c].mean()) and class_ink == pytest.approx(ink[labels == c].mean())
    by_class = script.class_errors(lambda b: -((b[:, 0] + 1) / 2 > 0.5).mean(axis=(1, 2)), images, labels)
    assert by_class["ink_correlation"] == pytest.approx(-1.0)


def test_began_class_errors_reads_g_samples_per_class():
    """The --samples reading on a stand-in G, D and classifier: counts, per-class mean errors and
    ink equal a direct computation over the same images, whatever the batch size."""
    script = load_script("began_class_errors")
    rng = np.random.default_rng(1)
    pool = np.where(rng.random((50, 1, 28, 28)) < rng.uniform(0.05, 0.4, size=(50, 1, 1, 1)), 1.0, -1.0)
    cursor = [0]

    def generate(b):
        cursor[0] += b
        return pool[cursor[0] - b:cursor[0]]

    error = lambda b: np.abs(b).mean(axis=(1, 2, 3)) * b[:, 0, 0, 0]  # noqa: E731 (any per-image number)
    classify = lambda b: (b[:, 0] > 0).sum(axis=(1, 2)) % 3           # noqa: E731
    result = script.sample_errors(error, generate, classify, 50, batch_size=7)
    labels, errors, ink = classify(pool), error(pool), (pool[:, 0] > 0).mean(axis=(1, 2))
    assert result["mean"] == pytest.approx(errors.mean())
    for c, count, mean_error, class_ink in result["per_class"]:
        assert count == (labels == c).sum()
        if count:
            assert mean_error == pytest.approx(errors[labels == c].mean())
            assert class_ink == pytest.approx(ink[labels == c].mean())
        else:
            assert np.isnan(mean_error) and np.isnan(class_ink)
    assert sum(count for _, count, _, _ in result["per_class"]) == 50 and result["per_class"][3][1] == 0


def test_hrdcgan_off_subspace_matches_a_naive_projection():
    """scripts/hrdcgan_off_subspace.py: r = x - B B^+ x B^+T B^T, with B built here from the bilinear
    enlargement of unit images and B^+ by numpy's pseudo-inverse; zero for enlarged digits."""
    script = load_script("hrdcgan_off_subspace")
    side = 32
    # column j of B is the enlargement of a 28-vector with a single 1 at j (resize is separable)
    units = np.zeros((28, 1, 28, 28), np.float32)
    units[np.arange(28), 0, np.arange(28), 0] = 1.0
    B = tg.resize(Tensor(units), side, "bilinear").data[:, 0, :, 0].T.astype(np.float64)   # (side, 28)
    projector = B @ np.linalg.pinv(B)
    rng = np.random.default_rng(0)
    digits = rng.uniform(-1, 1, (3, 28, 28))
    enlarged = np.einsum("ij,njk,lk->nil", B, digits, B)[:, None]
    noisy = enlarged + 0.3 * rng.standard_normal(enlarged.shape)
    energy, largest = script.off_subspace(enlarged)
    assert energy.max() < 1e-9 and largest.max() < 1e-4
    energy, largest = script.off_subspace(noisy)
    r = noisy[:, 0] - projector @ noisy[:, 0] @ projector.T
    np.testing.assert_allclose(energy, (r ** 2).sum(axis=(1, 2)) / ((noisy[:, 0] + 1) ** 2).sum(axis=(1, 2)), rtol=1e-4)
    np.testing.assert_allclose(largest, np.abs(r).max(axis=(1, 2)), rtol=1e-4, atol=1e-5)
