"""Variant cards (`tinygan list --verbose`, `tinygan train --help-variant NAME`) and registering
a recipe of one's own."""

import subprocess
import sys
import textwrap

import pytest

from tinygan import random
from tinygan.gan import RECIPES, Recipe, register
from tinygan.gan.card import network_lines, recipe_card
from tinygan.gan.registry import load_user_recipes
from tinygan.gan.vanilla import VanillaGAN


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_registered_recipe_has_a_full_card(name):
    cls = RECIPES[name]
    assert cls.name == name
    assert isinstance(cls.paper, str) and "arXiv" in cls.paper, f"{name}: set paper (title and arXiv id)"
    assert isinstance(cls.loss_formulas, dict) and cls.loss_formulas, f"{name}: set loss_formulas"
    assert all(isinstance(v, str) and v.strip() for v in cls.loss_formulas.values())
    card = recipe_card(cls)
    recipe = cls(device="cpu")
    assert cls.paper in card and "no loss_formulas" not in card
    for key, formula in cls.loss_formulas.items():
        assert f"{key}:" in card and formula in card
    for net_name, net in recipe.networks().items():
        assert f"{net_name}: {type(net).__name__}, {net.num_parameters(trainable_only=False):,} parameters" in card
    for opt_name, opt in recipe.optimizers().items():
        assert f"{opt_name}: {type(opt).__name__}(lr={opt.hyper['lr']}" in card
    assert f"{recipe.n_critic} discriminator step(s) per generator step" in card


def test_card_values_of_wgan_and_wgan_gp():
    wgan = recipe_card(RECIPES["wgan"])
    assert "5 discriminator step(s)" in wgan and "Weight clipping" in wgan and "RMSprop(lr=5e-05" in wgan
    gp = recipe_card(RECIPES["wgan_gp"])
    assert "Adam(lr=0.0001, betas=(0.5, 0.9)" in gp and "lambda E_x_hat" in gp
    assert "clipp" not in gp  # no clipping hook in WGAN-GP


def test_network_lines_count_each_layer():
    from tinygan.gan.dcgan import conv_discriminator
    lines = network_lines("D", conv_discriminator())
    # Conv(1, 64, 4): 64*16 + 64; Conv(64, 128, 4): 128*64*16 + 128; BN: 2*128; Linear(6272, 1): 6273
    counts = {line.split()[0]: line.split()[1] for line in lines}
    assert counts == {"D": "Sequential", "D.0": "1,088", "D.1": "-", "D.2": "131,200", "D.3": "256", "D.4": "-",
                      "D.5": "-", "D.6": "6,273"}
    assert "(138,817 parameters)" in lines[0]


def test_shared_weights_are_counted_once():
    from tinygan import nn
    a = nn.Linear(3, 3)
    net = nn.Sequential(a, nn.Tanh(), a)
    lines = network_lines("N", net)
    assert "(12 parameters)" in lines[0]
    assert lines[1].split()[1] == "12" and lines[3].split()[1] == "-"


def test_a_card_without_formulas_says_so_and_leaves_the_noise_alone():
    class Bare(VanillaGAN):
        name = "bare"
        paper = ""
        loss_formulas = {}

    random.manual_seed(3)
    state = random.get_rng_state()
    card = recipe_card(Bare)
    assert "no loss_formulas given" in card and "no paper given" in card
    assert random.get_rng_state() == state


def test_schedule_hooks_a_recipe_overrides_are_on_its_card():
    class Growing(VanillaGAN):
        name = "growing"
        schedule = {"growth": "8x8 for 2 epochs, then 16x16"}

        def before_step(self, step, batch_size):
            """Set the resolution and the fade-in alpha of this step."""

    card = recipe_card(Growing)
    assert "before each iteration: Set the resolution and the fade-in alpha of this step." in card
    assert "growth: 8x8 for 2 epochs, then 16x16" in card
    assert "before each iteration" not in recipe_card(VanillaGAN)


def test_register_checks_and_returns_the_class(monkeypatch):
    monkeypatch.setattr("tinygan.gan.registry.RECIPES", dict(RECIPES))
    from tinygan.gan import registry

    class Mine(VanillaGAN):
        name = "mine"

    assert register(Mine) is Mine and registry.RECIPES["mine"] is Mine
    assert register(Mine) is Mine  # the same class again is fine
    with pytest.raises(ValueError, match="taken"):
        register(type("Other", (VanillaGAN,), {"name": "mine"}))
    with pytest.raises(ValueError, match="name"):
        register(type("NoName", (VanillaGAN,), {"name": "bad name"}))
    with pytest.raises(TypeError, match="subclass"):
        register(object)
    assert issubclass(registry.get_recipe("mine"), Recipe)


RECIPE_FILE = '''
from tinygan.gan import register
from tinygan.gan.vanilla import VanillaGAN

@register
class Hinge(VanillaGAN):
    name = "user_hinge"
    paper = "a test recipe (arXiv:0000.00000)"
    loss_formulas = {"D": "E relu(1 - D(x)) + E relu(1 + D(G(z)))", "G": "-E D(G(z))"}
'''


def test_the_command_line_loads_recipes_from_TINYGAN_RECIPES(tmp_path):
    path = tmp_path / "my_gan.py"
    path.write_text(textwrap.dedent(RECIPE_FILE))
    env = {**__import__("os").environ, "TINYGAN_RECIPES": str(path)}
    out = subprocess.run([sys.executable, "-m", "tinygan", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "user_hinge" in out.stdout and "a test recipe" in out.stdout
    out = subprocess.run([sys.executable, "-m", "tinygan", "train", "--help-variant", "user_hinge"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "E relu(1 - D(x))" in out.stdout and "networks" in out.stdout
    env["TINYGAN_RECIPES"] = str(tmp_path / "missing.py")
    out = subprocess.run([sys.executable, "-m", "tinygan", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1 and "missing.py" in out.stderr
    with pytest.raises(FileNotFoundError):
        load_user_recipes(str(tmp_path / "missing.py"))


def test_list_verbose_prints_every_card():
    out = subprocess.run([sys.executable, "-m", "tinygan", "list", "--verbose"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0
    for name, cls in RECIPES.items():
        assert f"{name}: {cls.paper}" in out.stdout
    assert out.stdout.count("\nlosses\n") == len(RECIPES) and out.stdout.count("\noptimizers\n") == len(RECIPES)
    one = subprocess.run([sys.executable, "-m", "tinygan", "list", "-v", "lsgan"], capture_output=True, text=True,
                         timeout=120)
    assert one.returncode == 0 and one.stdout.count("\nlosses\n") == 1 and "1/2 E_z[(D(G(z)) - c)^2]" in one.stdout
