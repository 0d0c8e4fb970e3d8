"""BEGAN's diversity ratio gamma: the same latent batch through runs trained with different gammas.

gamma = E L(G(z)) / E L(x) at the equilibrium BEGAN's control k_t keeps. A low gamma has the
discriminator spend more of its effort auto-encoding real images, which the paper finds gives
sharper but less varied samples; a high gamma the reverse. This script draws one latent batch
(z ~ U(-1, 1), fixed by --seed) through the generator of each checkpoint and saves the grids side
by side, each titled with its gamma, its generator steps and the digit mix that the project's
MNIST classifier reads in these samples.

    tinygan train began --steps 1250 --out runs/began_g10          # gamma 1.0, the default
    tinygan train began --steps 1250 --gamma 0.5 --out runs/began_g05
    python demos/began_gammas.py runs/began_g10/checkpoint.npz runs/began_g05/checkpoint.npz --out demos_out
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_checkpoint_or_exit, save_figure  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="began checkpoints (one grid each)")
    parser.add_argument("--n", type=int, default=64, help="samples per grid, a square number (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="fixes the latent batch (default 0)")
    parser.add_argument("--out", type=Path, default=Path("demos_out"), help="directory for the PNG (default demos_out)")
    args = parser.parse_args(argv)

    import tinygan as tg
    from tinygan.metrics import classifier
    from tinygan.metrics.evaluate import eval_mode
    from tinygan.viz import grid_image
    panels = []
    for path in args.checkpoints:
        recipe, meta = load_checkpoint_or_exit(path, "began", train_flags="--gamma 0.5")
        tg.manual_seed(args.seed)
        with eval_mode(list(recipe.networks().values())), tg.no_grad():
            images = recipe.sample_images(recipe.sample_latent(args.n)).numpy()
        _, probs = classifier.features_and_probs(images, device="cpu")
        counts = np.bincount(probs.argmax(axis=1), minlength=10)
        panels.append((recipe.config.gamma, meta["step"], images, counts))
        print(f"{path}: gamma {recipe.config.gamma}, step {meta['step']}, k_t {recipe.k:.4f}, "
              f"digits read by the classifier (0-9): {counts.tolist()}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), squeeze=False)
    for ax, (gamma, step, images, counts) in zip(axes[0], panels):
        ax.imshow(grid_image(images), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"gamma = {gamma}, step {step}\ndigits {''.join(str(d) for d in np.flatnonzero(counts))}",
                     fontsize=9)
        ax.axis("off")
    save_figure(fig, args.out / "began_gammas.png", dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
