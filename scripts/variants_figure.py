"""One row of samples per trained variant, from the runs' checkpoints: ``docs/variants.png``.

    python scripts/variants_figure.py [RUNS_DIR] [--out docs/variants.png] [--all]

The rows of ``scripts/budgets.json`` named under its ``"figure"`` key (each recipe's best showing,
in that order; ``--all``: every row) that have a checkpoint in RUNS_DIR get one line of ten images
each, drawn with the running average of G's weights where the run kept one (as ``tinygan sample``
draws), seed 0; when none of the named rows is trained yet, every trained row is drawn:

* an image GAN: ten samples; a conditional one: the digits 0 to 9;
* CoGAN: five pairs (G_A(z), G_B(z)) side by side;
* DiscoGAN, CycleGAN: five MNIST test digits x_A, each followed by its translation G_AB(x_A).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PER_ROW = 10


def row_images(recipe, n=PER_ROW):
    """The n images (n, 1, 28, 28) in [-1, 1] of one line of the figure (seed 0)."""
    import tinygan
    from tinygan import backend
    from tinygan.gan.two_domain import TranslationRecipe
    from tinygan.ops import reshape, stack
    from tinygan.tensor import no_grad
    tinygan.manual_seed(0)
    with no_grad():
        if isinstance(recipe, TranslationRecipe):
            x_a = recipe.sample_inputs((n // 2) ** 2)[0]     # a grid of k^2 images has k inputs a domain
            pairs = stack([x_a, recipe.G_AB(x_a)], axis=1)
            images = reshape(pairs, (n,) + tuple(x_a.shape[1:]))
        elif hasattr(recipe, "generate_pair"):
            images = recipe.sample_images(recipe.sample_inputs(n // 2))
        elif recipe.conditional:
            labels = backend.xp_for(recipe.device).arange(n, dtype="int64") % 10
            images = recipe.generate(recipe.sample_inputs(n, labels))
        else:
            images = recipe.generate(recipe.sample_inputs(n))
    return np.asarray(images.numpy())


def figure_rows(rows, runs, names=None):
    """The rows to draw: those called ``names`` (in that order) that have a checkpoint in ``runs``, or
    every row with a checkpoint where ``names`` is None or none of them has one."""
    trained = {row["name"]: row for row in rows if (Path(runs) / row["name"] / "checkpoint.npz").exists()}
    chosen = [trained[name] for name in names or () if name in trained]
    return chosen or list(trained.values())


def variants_figure(rows, runs, out, device=None, data=None, names=None):
    """Draw the figure of ``figure_rows(rows, runs, names)`` to ``out``; returns the names drawn.
    ``data``: the MNIST directory (the translation rows draw test digits; default: as tinygan finds it)."""
    from tinygan.cli import load_run
    from tinygan.viz import _atomic_savefig, _pyplot, grid_image
    drawn = []
    for row in figure_rows(rows, runs, names):
        recipe, meta = load_run(Path(runs) / row["name"] / "checkpoint.npz", device)
        recipe.data_root = data
        drawn.append((row["name"], meta.get("step"), grid_image(row_images(recipe), nrow=PER_ROW)))
    if not drawn:
        raise FileNotFoundError(f"no checkpoint of a budgets.json row in {runs}: nothing to draw")
    plt = _pyplot()
    height = drawn[0][2].shape[0] / 40
    fig, axes = plt.subplots(len(drawn), 1, figsize=(drawn[0][2].shape[1] / 40 + 2.2, height * len(drawn)),
                             squeeze=False)
    for ax, (name, step, grid) in zip(axes[:, 0], drawn):
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(f"{name}\n{step:,} steps", rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(left=0.2, right=1, top=1, bottom=0, hspace=0.05)
    _atomic_savefig(fig, out)
    plt.close(fig)
    return [name for name, _, _ in drawn]


def main(argv=None):
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from reproduce_results import load_budgets
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="?", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("docs/variants.png"))
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    parser.add_argument("--all", action="store_true", help="every trained row, not only budgets.json's figure rows")
    args = parser.parse_args(argv)
    spec, rows = load_budgets()
    names = variants_figure(rows, args.runs, args.out, args.device, names=None if args.all else spec.get("figure"))
    print(f"wrote {args.out}: {', '.join(names)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
