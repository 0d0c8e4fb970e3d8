"""Variant cards (`tinygan list --verbose`, `tinygan train --help-variant NAME`) and registering
a recipe of one's own."""

import subprocess
import sys
import textwrap

from pathlib import Path

import pytest

from tinygan import random
from tinygan.gan import RECIPES, Recipe, register
from tinygan import cli
from tinygan.gan.card import (CURRICULUM, HOOKS, TOUR_CHAPTERS, curriculum_order, network_lines, output_shapes,
                              recipe_card)
from tinygan.gan.registry import load_user_recipes
from tinygan.gan.vanilla import VanillaGAN

ROOT = Path(__file__).resolve().parents[1]


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
    schedule = card.split("\nschedule\n")[1].split("\nconfig (")[0]
    assert " object at 0x" not in schedule and "(undocumented)" not in schedule
    for method, _ in HOOKS:  # an overridden hook is described by its own docstring, not the default's
        assert getattr(Recipe, method).__doc__.strip().splitlines()[0] not in schedule, f"{name}: {method}"
    assert name in CURRICULUM, f"{name}: give it a place in card.CURRICULUM (its change and tour chapter)"
    source = card.split("source:  ")[1].split("\n")[0]
    assert source == f"tinygan/gan/{cls.__module__.rsplit('.', 1)[1]}.py" and (ROOT / source).is_file()
    assert f"changes: {CURRICULUM[name][0]}" in card and "\ntour:    docs/tour.md, chapter " in card
    shapes, why = output_shapes(recipe)
    assert why is None, f"{name}: the tiny step for the output shapes failed: {why}"
    ran = [net_name for net_name, net in recipe.networks().items() if any(id(m) in shapes for m in net.modules())]
    assert len(ran) >= 2, f"{name}: only {ran} ran in the first step"
    assert "(N, " in card


def test_card_values_of_wgan_and_wgan_gp():
    wgan = recipe_card(RECIPES["wgan"])
    assert "5 discriminator step(s)" in wgan and "Weight clipping" in wgan and "RMSprop(lr=5e-05" in wgan
    gp = recipe_card(RECIPES["wgan_gp"])
    assert "Adam(lr=0.0001, betas=(0.5, 0.9)" in gp and "lambda E_x_hat" in gp
    assert "clipp" not in gp.split("\nschedule\n")[1]  # no clipping hook in WGAN-GP (its change replaces it)


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
    heads = [line.split(":")[0] for line in out.stdout.splitlines() if ": " in line and line.split(":")[0] in RECIPES]
    assert heads == curriculum_order(RECIPES)
    one = subprocess.run([sys.executable, "-m", "tinygan", "list", "-v", "lsgan"], capture_output=True, text=True,
                         timeout=120)
    assert one.returncode == 0 and one.stdout.count("\nlosses\n") == 1 and "1/2 E_z[(D(G(z)) - c)^2]" in one.stdout


def test_the_list_follows_the_curriculum(capsys):
    first = ["vanilla", "dcgan", "cgan", "lsgan", "wgan", "wgan_gp", "infogan"]
    assert list(CURRICULUM)[:7] == first
    assert cli.main(["list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[:7] == first and sorted(names) == sorted(RECIPES)
    assert curriculum_order(["zeta_user", "wgan", "alpha_user", "vanilla"]) == ["vanilla", "wgan", "alpha_user", "zeta_user"]


def test_list_verbose_vanilla_prints_one_card_with_shapes_and_its_source(capsys):
    assert cli.main(["list", "--verbose", "vanilla"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nlosses\n") == 1 and out.startswith("=" * 78 + "\nvanilla: Goodfellow et al. 2014")
    assert "source:  tinygan/gan/vanilla.py" in out and "changes: the game itself" in out
    assert "tour:    docs/tour.md, chapter 0, From zero: a scalar autograd" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("      ")}
    # the vanilla G: 100 -> 256 -> 512 -> 1024 -> 784 -> (1, 28, 28); D: flatten -> 512 -> 256 -> 1
    assert "(N, 256)" in lines["G.0"] and "(N, 784)" in lines["G.9"] and "(N, 1, 28, 28)" in lines["G.11"]
    assert "(N, 784)" in lines["D.0"] and "(N, 1)" in lines["D.5"]


def test_output_shapes_are_those_of_a_forward_pass():
    dcgan = RECIPES["dcgan"](device="cpu")
    shapes, why = output_shapes(dcgan)
    assert why is None
    assert shapes[id(dcgan.D[0])] == (2, 64, 14, 14) and shapes[id(dcgan.D[2])] == (2, 128, 7, 7)
    assert shapes[id(dcgan.G)] == (2, 1, 28, 28) and shapes[id(dcgan.D)] == (2, 1)
    lines = network_lines("D", dcgan.D, shapes)
    assert lines[1].split()[:3] == ["D.0", "1,088", "(N,"] and "(N, 64, 14, 14)" in lines[1]


def test_stage_wise_networks_not_run_in_the_first_step_have_no_shape():
    card = recipe_card(RECIPES["stackgan"])
    stage2 = [line for line in card.splitlines() if line.strip().startswith("G2.")]
    assert stage2 and all("  .  " in line for line in stage2)
    assert "'.': not called in it" in card


def test_a_recipe_of_ones_own_gets_its_file_and_a_note_on_what_is_missing():
    class Mine(VanillaGAN):
        name = "mine_card"

    card = recipe_card(Mine)
    assert f"source:  {Path(__file__).resolve()}" in card or "source:  tests/test_cards.py" in card
    assert "changes: (not stated: set change" in card and "\ntour:" not in card

    class Told(Mine):
        change = "one line on what it changes"
        tour_chapter = 8

    card = recipe_card(Told)
    assert "changes: one line on what it changes" in card and "tour:    docs/tour.md, chapter 8, Adding your own" in card


def test_a_card_says_why_it_has_no_shapes():
    class Broken(VanillaGAN):
        name = "broken_card"

        def d_loss(self, real, labels):
            raise RuntimeError("needs paired data")

    card = recipe_card(Broken)
    assert "no output shapes: one training step on random images failed: RuntimeError: needs paired data" in card
    assert "(N, " not in card


def test_the_tour_chapters_named_on_cards_exist():
    tour = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    for number, title in TOUR_CHAPTERS.items():
        assert f"\n## {number}. {title}" in tour
    assert all(chapter in TOUR_CHAPTERS for _, (chapter, _) in CURRICULUM.values())
