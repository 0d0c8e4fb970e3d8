"""No silent flags: every option a recipe shows in `tinygan train NAME --help` is read.

For each recipe the options are taken from its --help page as a user sees it. For each option
the recipe is built twice from the same seed, with the default and with another value, and the
test looks for a difference in what that value should change, cheapest first: the networks
(layer types and their settings, parameter shapes, initial weights), the optimizers' types and
hyper-parameters, the schedule (n_critic, the default length, the phase and recipe state that
``before_step`` sets at steps 0 to 10,000), the sample inputs and images, and, last, two training
steps through the Trainer (the logged values, the weights after them, the recipe's state). An
option that none of these shows is read by nothing and fails the test. The fields a Config lists
as ``unused`` must not be shown, and setting one must be an error.
"""

import contextlib
import dataclasses
import hashlib
import io
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, cli
from tinygan.gan import TrainConfig, Trainer
from tinygan.gan.registry import RECIPES
from tinygan.nn.module import Module
from tinygan.tensor import no_grad

# Other values to try for the options whose type alone does not give one (tried in order; the
# default and values the Config refuses are skipped).
STRING_VALUES = {
    "latent": ["uniform", "normal"], "g_cost": ["minimax"], "generator": ["upsample", "paper"],
    "discriminator": ["paper"], "networks": ["mlp", "dcgan"], "conditioning": ["concat"],
    "domain_b": ["edges"], "channels": ["32,16,8,4"],
}
SCHEDULE_STEPS = (0, 1, 3, 10, 30, 100, 300, 1000, 3000, 10000)
BATCH = 4


def shown_options(name):
    """The recipe options on the page of `tinygan train NAME --help`: {flag: dest field name}."""
    page = io.StringIO()
    with contextlib.redirect_stdout(page), pytest.raises(SystemExit) as exit_info:
        cli.main(["train", name, "--help"])
    assert exit_info.value.code == 0
    lines = page.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name} options ("))
    flags = []
    for line in lines[start + 1:]:
        if line and not line.startswith(" "):
            break
        if line.startswith("  --"):
            flags.append(line.split()[0])
    return {flag: flag[2:].replace("-", "_") for flag in flags}


def candidates(field, default):
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [1, 2 * default, default + 1, max(1, default // 2)]
    if isinstance(default, float):
        return [2 * default, default / 2, 0.3, 0.0] if default else [0.5, 0.3]
    return STRING_VALUES.get(field, [])


def _digest(array):
    array = np.ascontiguousarray(backend.to_numpy(array))
    return (array.shape, str(array.dtype), hashlib.sha1(array.tobytes()).hexdigest())


def _plain(value):
    """A value as something == compares: arrays and tensors by shape, dtype and bytes."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return _digest(value.data if hasattr(value, "data") and not isinstance(value, np.ndarray) else value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _settings(module):
    return {k: v for k, v in vars(module).items() if isinstance(v, (int, float, str, bool, tuple)) and k != "training"}


def static_view(recipe):
    """What building the recipe shows: the networks' layers, their settings and shapes, the
    optimizers and the schedule's length (the initial weights are compared after training)."""
    nets = {name: ([(n, type(m).__name__, _settings(m)) for n, m in net.named_modules()],
                   {k: tuple(v.shape) for k, v in net.state_dict().items()})
            for name, net in recipe.networks().items()}
    opts = {name: (type(o).__name__, _plain(o.hyper), len(o.params)) for name, o in recipe.optimizers().items()}
    return {"networks": nets, "optimizers": opts, "n_critic": recipe.n_critic,
            "default_steps": recipe.default_steps(BATCH), "phase": recipe.current_phase()}


def schedule_view(recipe):
    """The phase and state ``before_step`` sets along a long run."""
    view = []
    for step in SCHEDULE_STEPS:
        recipe.before_step(step, BATCH)
        view.append((recipe.current_phase(), _plain(recipe.state_dict())))
    return view


def sample_view(recipe):
    tg.manual_seed(1)
    with no_grad():
        inputs = recipe.sample_inputs(BATCH)
        return _plain([list(inputs), recipe.sample_images(inputs)])


def training_view(recipe, tmp_path):
    """Two steps through the Trainer: the logged values, the weights and the recipe's state."""
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (32, 28, 28), dtype=np.uint8), rng.integers(0, 10, 32)
    loader = recipe.make_loader(images, labels, batch_size=BATCH, device="cpu")
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    Trainer(recipe, loader, out, TrainConfig(steps=2, log_every=1, sample_every=10**6, checkpoint_every=10**6,
                                             checkpoint_minutes=0, grid_size=4), log=lambda line: None).fit()
    records = [{k: v for k, v in json.loads(line).items() if k not in ("time", "it_per_s")}
               for line in (out / "metrics.jsonl").read_text().splitlines()]
    weights = {name: {k: _digest(v) for k, v in net.state_dict().items()} for name, net in recipe.networks().items()}
    return records, weights, _plain(recipe.state_dict())


def views(recipe, tmp_path):
    """The views above, cheapest first, taken in turn from one recipe (a later view sees what the
    earlier ones did to it, the same for every value of an option)."""
    yield static_view(recipe)
    yield sample_view(recipe)
    yield training_view(recipe, tmp_path)
    yield schedule_view(recipe)


def build(recipe_cls, **options):
    tg.manual_seed(0)
    return recipe_cls(recipe_cls.Config(**options), device="cpu")


@pytest.fixture(autouse=True)
def fake_test_images(monkeypatch):
    """Translation recipes sample from MNIST test images: random ones here (no files needed);
    the Trainer writes no grids and no checkpoints."""
    rng = np.random.default_rng(5)
    fake = (rng.integers(0, 256, (64, 28, 28), dtype=np.uint8), rng.integers(0, 10, 64))
    monkeypatch.setattr("tinygan.gan.two_domain.mnist_test_images", lambda root=None: fake)
    monkeypatch.setattr(Trainer, "save_samples", lambda self: None)      # files are not what is compared
    monkeypatch.setattr(Trainer, "save_checkpoint", lambda self: None)


OPTIONS = [(name, flag, field) for name in sorted(RECIPES) for flag, field in shown_options(name).items()]
_baselines = {}


@pytest.mark.parametrize("name, flag, field", OPTIONS, ids=[f"{n}-{f}" for n, f, _ in OPTIONS])
def test_every_shown_option_is_read(name, flag, field, tmp_path):
    recipe_cls = RECIPES[name]
    default = {f.name: f.default for f in dataclasses.fields(recipe_cls.Config)}[field]
    if name not in _baselines:
        _baselines[name] = list(views(build(recipe_cls), tmp_path))
    tried = []
    for value in candidates(field, default):
        if value == default:
            continue
        try:
            recipe = build(recipe_cls, **{field: value})
        except ValueError:   # a value the Config or an optimizer refuses (beta1 = 1, ngf not a multiple of 4)
            continue
        tried.append(value)
        if any(view != baseline for view, baseline in zip(views(recipe, tmp_path), _baselines[name])):
            return
    assert tried, f"{name} {flag}: no other value to try; add one to STRING_VALUES"
    pytest.fail(f"{name} {flag}: {', '.join(map(repr, tried))} instead of {default!r} changes nothing observable "
                f"(networks, optimizers, schedule, samples, two training steps): no option should be shown that "
                f"nothing reads")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_help_shows_the_options_and_hides_the_unused_fields(name):
    recipe_cls = RECIPES[name]
    fields = [f.name for f in dataclasses.fields(recipe_cls.Config)]
    shown = set(shown_options(name).values())
    assert shown == set(fields) - set(recipe_cls.Config.unused)
    for field in recipe_cls.Config.unused:
        default = {f.name: f.default for f in dataclasses.fields(recipe_cls.Config)}[field]
        other = next(v for v in candidates(field, default) if v != default)
        with pytest.raises(ValueError, match=f"{field}: not used by this recipe"):
            recipe_cls.Config(**{field: other})


def test_translation_models_and_wgan_hide_what_they_do_not_use():
    assert {"z_dim", "latent"} <= set(RECIPES["cyclegan"].Config.unused) & set(RECIPES["discogan"].Config.unused)
    assert {"beta1", "beta2"} <= set(RECIPES["wgan"].Config.unused)
    assert "z_dim" in shown_options("cogan").values()   # CoGAN does draw z


def test_a_module_setting_counts_as_an_observable_difference():
    """The static view sees a layer's settings (e.g. batch-norm momentum), not only its shapes."""
    a, b = build(RECIPES["vanilla"]), build(RECIPES["vanilla"], bn_momentum=0.5)
    assert static_view(a) != static_view(b)
    assert isinstance(a.G, Module)
