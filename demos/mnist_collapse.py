"""Mode collapse on MNIST, counted by the classifier: complete, partial, or none.

The seed chapter (its figure 6.24): on a multimodal set like MNIST, complete collapse means the
GAN draws one digit only, partial collapse some of the ten. This script reads one or more
checkpoints, draws n samples from each (seed 0) and measures with tinygan's MNIST classifier
(the one `tinygan eval` uses):

    digits     the class histogram; "classes" counts those holding >= 1% of the samples
    top        the share of the most frequent digit
    spread     the mean pixel distance between two samples, relative to the same for MNIST test
               images: near 0 when G draws the same few images over and over, whatever their class

and calls a run *complete* collapse when one digit holds 90% or more, *partial* when fewer than
10 digits are covered or the spread is under half the data's, *none* otherwise. The PNG shows 32
samples and the class histogram of each run.

A run that collapses (the vanilla GAN with a 1-d latent: its generator can only trace one curve
through image space) against one that does not (the same GAN with the default 100-d latent):

    tinygan train vanilla --z-dim 1 --steps 1500 --out runs/collapse
    python demos/mnist_collapse.py runs/collapse/checkpoint.npz runs/vanilla/checkpoint.npz --out demos_out
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_checkpoint_or_exit, save_figure  # noqa: E402


def spread(images, rng, pairs=2000):
    """The mean L2 distance between random pairs of images (N, 784) in [-1, 1]."""
    i, j = rng.integers(0, len(images), pairs), rng.integers(0, len(images), pairs)
    keep = i != j
    return float(np.linalg.norm(images[i[keep]] - images[j[keep]], axis=1).mean())


def measure(recipe, n, seed, real_spread):
    import tinygan as tg
    from tinygan.metrics import classifier
    from tinygan.metrics.evaluate import eval_mode, seeded
    from tinygan.metrics.scores import mode_coverage
    with seeded(seed), eval_mode(list(recipe.networks().values())), tg.no_grad():
        images = recipe.generate(recipe.sample_latent(n)).numpy().reshape(n, -1).astype(np.float64)
    _, probs = classifier.features_and_probs(images.reshape(n, 1, 28, 28).astype(np.float32), device=recipe.device)
    cover = mode_coverage(probs)
    hist = np.asarray(cover["class_histogram"])
    top = hist.max() / hist.sum()
    rel = spread(images, np.random.default_rng(seed)) / real_spread
    if top >= 0.9:
        verdict = "complete"
    elif cover["classes_covered"] < 10 or rel < 0.5:
        verdict = "partial"
    else:
        verdict = "none"
    return {"images": images, "hist": hist, "classes": cover["classes_covered"], "top": top, "spread": rel,
            "verdict": verdict}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", type=Path, default=[Path("runs/collapse/checkpoint.npz")])
    parser.add_argument("--out", type=Path, default=Path("demos_out"))
    parser.add_argument("--n", type=int, default=2000, help="samples per run (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="MNIST directory (for the data's spread)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    args = parser.parse_args(argv)

    from tinygan.data import load_mnist
    test, _ = load_mnist("test", root=args.data)
    real = test[:args.n].reshape(len(test[:args.n]), -1).astype(np.float64) / 127.5 - 1
    real_spread = spread(real, np.random.default_rng(args.seed))
    runs = {}
    for path in args.checkpoints:
        recipe, meta = load_checkpoint_or_exit(path, "vanilla", args.device, "--z-dim 1 --steps 1500")
        c = recipe.config
        label = f"{path.parent.name}: z_dim {c.z_dim}, {meta.get('step')} steps"
        runs[label] = measure(recipe, args.n, args.seed, real_spread)

    print(f"{args.n} samples per run (seed {args.seed}), classified by tinygan's MNIST classifier:")
    print(f"  {'run':<44}{'classes':>8}{'top':>7}{'spread':>8}  verdict   digits 0-9")
    for label, r in runs.items():
        print(f"  {label:<44}{r['classes']:>8}{r['top']:>7.0%}{r['spread']:>8.2f}  {r['verdict']:<9} "
              f"{' '.join(str(int(h)) for h in r['hist'])}")
    print("  (spread: mean distance between two samples / the same for MNIST test images)")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tinygan.viz import grid_image
    fig, axes = plt.subplots(len(runs), 2, figsize=(9, 3.2 * len(runs)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.6, 1]})
    for row, (label, r) in enumerate(runs.items()):
        axes[row, 0].imshow(grid_image(r["images"][:32].reshape(32, 1, 28, 28), nrow=8), cmap="gray")
        axes[row, 0].set_axis_off()
        axes[row, 0].set_title(f"{label}: {r['verdict']} collapse" if r["verdict"] != "none" else
                               f"{label}: no collapse", fontsize=9)
        axes[row, 1].bar(range(10), r["hist"] / r["hist"].sum(), color="tab:blue")
        axes[row, 1].axhline(0.01, color="gray", linewidth=0.5)
        axes[row, 1].set(xticks=range(10), xlabel="digit (classifier)", ylabel="share of samples", ylim=(0, 1),
                         title=f"{r['classes']} classes, top {r['top']:.0%}, spread {r['spread']:.2f}")
    save_figure(fig, args.out / "mnist_collapse.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
