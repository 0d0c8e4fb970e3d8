"""The seed's schedules as options of the shared Trainer and recipes: k discriminator steps per
generator step (``d_steps``), the Keras schedule of the chapter's code, the uniform latent of
"GAN 101", WGAN with the chapter's MLPs (and no silently ignored betas), and a conditional DCGAN.
Each option is checked to change what it says it changes, and exact resume to still hold."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import load_checkpoint
from tinygan.data import DataLoader
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.cgan import CGANConfig, ConditionalGAN
from tinygan.gan.lsgan import LSGAN
from tinygan.gan.vanilla import VanillaConfig, VanillaGAN
from tinygan.gan.wgan import WGAN, WGANConfig
from tinygan.tensor import Tensor

QUIET = dict(log=lambda line: None)


@pytest.fixture(scope="module")
def data():
    """64 random uint8 'images' with labels: the schedule tests count batches and updates, not quality."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (64, 28, 28), dtype=np.uint8), rng.integers(0, 10, 64)


def fit(recipe, data, out, steps, **options):
    loader = DataLoader(*data, batch_size=8, seed=0)
    config = TrainConfig(steps=steps, log_every=1, sample_every=10_000, checkpoint_every=10_000, **options)
    trainer = Trainer(recipe, loader, out, config, **QUIET)
    trainer.fit()
    return trainer, loader


def test_d_steps_advances_the_loader_k_batches_per_generator_step(data, tmp_path):
    tg.manual_seed(0)
    recipe = VanillaGAN()
    trainer, loader = fit(recipe, data, tmp_path, steps=2, d_steps=3)
    assert trainer.d_steps == 3
    assert loader.epoch * len(loader) + loader.batch == 6          # 3 real batches per generator step
    assert recipe.opt_d.step_count == 6 and recipe.opt_g.step_count == 2


def test_d_steps_overrides_the_recipe_n_critic_and_sets_the_epoch_length(data, tmp_path):
    tg.manual_seed(0)
    recipe = WGAN(WGANConfig(networks="mlp"))
    assert recipe.n_critic == 5
    trainer, _ = fit(recipe, data, tmp_path / "a", steps=2, d_steps=1)
    assert recipe.opt_d.step_count == 2 and recipe.opt_g.step_count == 2
    loader = DataLoader(*data, batch_size=8, seed=0)       # 8 batches an epoch
    wgan = WGAN(WGANConfig(networks="mlp"))
    assert Trainer(wgan, loader, tmp_path / "b", TrainConfig(epochs=2), **QUIET).total_steps == 3    # 16 // 5
    assert Trainer(VanillaGAN(), loader, tmp_path / "c", TrainConfig(epochs=2, d_steps=4), **QUIET).total_steps == 4


def test_bad_schedule_options_are_clear_errors(data, tmp_path):
    with pytest.raises(ValueError, match="d_steps"):
        TrainConfig(d_steps=0)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="pytorch")
    with pytest.raises(ValueError, match="lsgan.*d_loss_real"):
        Trainer(LSGAN(), DataLoader(*data, batch_size=8), tmp_path, TrainConfig(schedule="keras"), **QUIET)


def test_keras_schedule_two_d_updates_per_step_fakes_in_inference_mode(data, tmp_path):
    tg.manual_seed(0)
    recipe = VanillaGAN()
    modes, draw = [], recipe.draw_fakes

    def spy(n, labels=None):
        modes.append([m.training for m in recipe.G.modules()])
        return draw(n, labels)
    recipe.draw_fakes = spy
    trainer, loader = fit(recipe, data, tmp_path, steps=3, schedule="keras")
    assert recipe.opt_d.step_count == 6 and recipe.opt_g.step_count == 3   # real, then fake, each step
    assert loader.replacement and loader.epoch * len(loader) + loader.batch == 3
    assert len(modes) == 3 and not any(any(m) for m in modes)                # G in eval mode for the fakes
    assert recipe.G.training                                                  # and back in training mode
    record = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_loss", "D(x)", "D(G(z))", "g_loss"} <= set(record)


def test_keras_split_losses_add_up_to_the_joint_loss(data):
    """d_loss_real + d_loss_fake on the same batches is the alternating schedule's BCE loss."""
    from tinygan.gan import losses
    tg.manual_seed(0)
    for recipe, labels in ((VanillaGAN(), None), (ConditionalGAN(), np.arange(8) % 10)):
        recipe.D.eval()   # cGAN's D has dropout
        real = Tensor((data[0][:8, None] / 127.5 - 1).astype(np.float32))
        fake = recipe.draw_fakes(8, labels)
        args = (labels,) if recipe.conditional else ()
        joint = losses.d_loss_bce(recipe.D(real, *args), recipe.D(fake, *args)).item()
        split = recipe.d_loss_real(real, labels)[0].item() + recipe.d_loss_fake(fake, labels)[0].item()
        assert split == pytest.approx(joint, rel=1e-5)


def test_loader_with_replacement_resumes_exactly_and_repeats_indices(data):
    images = np.arange(64, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)   # image i is all i

    def ids(batch):
        return np.round((batch[0].numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int)

    a = DataLoader(images, batch_size=16, seed=3, replacement=True)        # 4 batches an "epoch"
    it = iter(a)
    first = [ids(next(it)) for _ in range(3)]
    state = a.state_dict()
    following = [ids(b) for b, _ in zip(a, range(1))] + [ids(b) for b, _ in zip(a, range(2))]  # crosses an epoch
    b = DataLoader(images, batch_size=16, seed=99, replacement=True)
    b.load_state_dict(state)
    resumed = [ids(x) for x, _ in zip(b, range(1))] + [ids(x) for x, _ in zip(b, range(2))]
    assert all(np.array_equal(x, y) for x, y in zip(following, resumed))
    # a repeat inside one batch, which cannot happen without replacement (an epoch is a permutation)
    assert any(len(np.unique(x)) < len(x) for x in first + following)
    plain = DataLoader(images, batch_size=16, seed=3)
    assert sorted(np.concatenate([ids(x) for x, _ in zip(plain, range(4))])) == list(range(64))
    with pytest.raises(ValueError, match="replacement"):
        DataLoader(images, batch_size=16, seed=3).load_state_dict(state)


def test_resume_is_exact_under_the_new_options(data, tmp_path):
    """2 + 2 steps with --resume equal 4 steps straight, with keras schedule, d_steps 2 and a
    uniform 256-d latent (bit for bit on the CPU)."""
    options = dict(schedule="keras", d_steps=2)

    def make():
        tg.manual_seed(0)
        return VanillaGAN(VanillaConfig(latent="uniform", z_dim=256)), DataLoader(*data, batch_size=8)

    straight, loader = make()
    Trainer(straight, loader, tmp_path / "straight", TrainConfig(steps=4, **options), **QUIET).fit()
    recipe, loader = make()
    Trainer(recipe, loader, tmp_path / "resumed", TrainConfig(steps=2, **options), **QUIET).fit()
    resumed, loader = make()
    tg.manual_seed(123)   # a resumed run takes its RNG state from the checkpoint
    Trainer(resumed, loader, tmp_path / "resumed", TrainConfig(steps=4, **options), **QUIET).fit(resume=True)
    for name, net in straight.networks().items():
        other = dict(resumed.networks()[name].named_parameters())
        for pname, p in net.named_parameters():
            assert np.array_equal(p.numpy(), other[pname].numpy()), f"{name}.{pname}"
        other = dict(resumed.networks()[name].named_buffers())
        for k, b in net.named_buffers():                   # batch-norm's running statistics
            assert np.array_equal(np.asarray(getattr(b, "data", b)), np.asarray(getattr(other[k], "data", other[k]))), k
    assert resumed.opt_d.step_count == straight.opt_d.step_count == 16      # 4 steps x 2 D steps x 2 updates
    meta, _ = load_checkpoint(tmp_path / "resumed" / "checkpoint.npz")
    assert meta["loader"]["replacement"] is True and meta["step"] == 4


def test_uniform_latent_lies_in_minus_one_one_and_normal_is_unchanged():
    tg.manual_seed(0)
    z = VanillaGAN(VanillaConfig(latent="uniform", z_dim=256)).sample_latent(2000)[0].numpy()
    assert z.shape == (2000, 256) and z.dtype == np.float32
    assert z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.01 and abs(z.var() - 1 / 3) < 0.01
    tg.manual_seed(0)
    recipe = VanillaGAN()
    tg.manual_seed(7)
    z = recipe.sample_latent(5)[0].numpy()
    tg.manual_seed(7)
    assert np.array_equal(z, tg.random.randn(5, 100))
    with pytest.raises(ValueError, match="latent"):
        VanillaConfig(latent="gaussian")
    cgan_z = ConditionalGAN(CGANConfig(latent="uniform")).sample_latent(100)[0].numpy()
    assert cgan_z.min() >= -1 and cgan_z.max() <= 1 and cgan_z.std() < 0.7


def test_wgan_with_the_chapter_mlps_trains_clipped_and_refuses_betas(data, tmp_path):
    tg.manual_seed(0)
    recipe = WGAN(WGANConfig(networks="mlp"))
    assert [type(m).__name__ for m in recipe.D][-1] == "Linear" and recipe.G[0].weight.shape[1] == 100
    fit(recipe, data, tmp_path, steps=2)
    assert max(float(np.abs(p.numpy()).max()) for p in recipe.D.parameters()) <= 0.01
    for name in ("beta1", "beta2"):
        with pytest.raises(ValueError, match=f"{name}.*RMSprop"):
            WGANConfig(**{name: 0.9})
    with pytest.raises(ValueError, match="networks"):
        WGANConfig(networks="resnet")


@pytest.mark.parametrize("conditioning", ["multiply", "concat"])
def test_conditional_dcgan_uses_the_label_in_both_networks(conditioning, data, tmp_path):
    tg.manual_seed(0)
    recipe = ConditionalGAN(CGANConfig(networks="dcgan", conditioning=conditioning))
    assert any(type(m).__name__ == "ConvTranspose2d" for m in recipe.G.modules())
    assert any(type(m).__name__ == "Conv2d" for m in recipe.D.modules())
    for m in recipe.networks().values():
        m.eval()
    z = recipe.sample_z(4)
    y0, y1 = Tensor(np.zeros(4, np.int64)), Tensor(np.full(4, 7, np.int64))
    with tg.no_grad():
        x0, x1 = recipe.generate((z, y0)), recipe.generate((z, y1))
        assert x0.shape == (4, 1, 28, 28) and not np.allclose(x0.numpy(), x1.numpy())
        assert not np.allclose(recipe.D(x0, y0).numpy(), recipe.D(x0, y1).numpy())
    for m in recipe.networks().values():
        m.train()
    fit(recipe, data, tmp_path, steps=2, schedule="keras")
    assert all(np.isfinite(p.numpy()).all() for p in recipe.D.parameters())


def test_cli_trains_with_the_schedule_options(tmp_path, mnist_root):
    """`tinygan train` takes --d-steps, --schedule, --latent, --networks; WGAN refuses --beta1."""
    data = mnist_root
    run = lambda *a: subprocess.run([sys.executable, "-m", "tinygan", *a], capture_output=True, text=True,  # noqa: E731
                                    timeout=300)
    out = run("train", "wgan", "--steps", "2", "--networks", "mlp", "--d-steps", "2", "--schedule", "keras",
              "--latent", "uniform", "--z-dim", "256", "--data", str(data), "--out", str(tmp_path / "w"),
              "--log-every", "1")
    assert out.returncode == 0, out.stderr
    assert "2 per step, schedule keras" in out.stderr
    meta, _ = load_checkpoint(tmp_path / "w" / "checkpoint.npz")
    assert meta["config"]["networks"] == "mlp" and meta["config"]["latent"] == "uniform"
    assert meta["train_config"]["d_steps"] == 2 and meta["loader"]["replacement"] is True
    out = run("train", "wgan", "--beta1", "0.9", "--data", str(data), "--out", str(tmp_path / "x"))
    assert out.returncode == 1 and "beta1" in out.stderr and "RMSprop" in out.stderr
