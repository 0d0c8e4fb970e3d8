"""Which digits does a trained BEGAN discriminator reconstruct best? One measurement of a guess.

    python scripts/began_class_errors.py runs/began/checkpoint.npz

BEGAN's G minimises L(G(z)), the error of D's auto-encoder on its samples, so one reading of its
uneven class mix is that G draws the digits D reconstructs best (for an auto-encoder trained on
real digits, those with the least ink, the 1s). This script reads the checkpoint's D on the 10,000
MNIST test digits and prints, per class,

    L(x) = mean |x - D(x)|      (images in [-1, 1], as the recipe computes it)

with the class's mean ink (the fraction of pixels above 127), and the correlation of L(x) with the
ink over all the digits.

With ``--samples N`` it reads G's own samples the same way: N samples of G's last weights (the G
that D's gradient trains; ``--average`` for the running average instead), each labelled by the
shipped classifier, and prints per class how many G drew, their mean L(G(z)), their ink, and the
mean L(x) of the real test digits of that class. G's step descends L(G(z)); a class whose samples
D reconstructs better than the others' is the class that step pulls G towards.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def class_errors(reconstruction_error, images_u8, labels, batch_size=500):
    """{"per_class": [(class, mean L(x), mean ink)], "ink_correlation": r} for uint8 images
    (N, 28, 28); ``reconstruction_error`` maps a float batch (B, 1, 28, 28) in [-1, 1] to (B,)."""
    errors = np.concatenate([
        np.asarray(reconstruction_error((images_u8[i:i + batch_size].astype(np.float32) / 127.5 - 1.0)[:, None]))
        for i in range(0, len(images_u8), batch_size)])
    ink = (images_u8 > 127).mean(axis=(1, 2))
    per_class = [(int(c), float(errors[labels == c].mean()), float(ink[labels == c].mean()))
                 for c in np.unique(labels)]
    return {"per_class": per_class, "ink_correlation": float(np.corrcoef(errors, ink)[0, 1])}


def sample_errors(reconstruction_error, generate, classify, n, batch_size=500):
    """{"per_class": [(class, count, mean L(G(z)), mean ink)], "mean": mean L(G(z))} for n samples:
    ``generate(b)`` draws b images (b, 1, 28, 28) in [-1, 1], ``classify`` labels them (b,)."""
    errors, labels, ink = [], [], []
    for start in range(0, n, batch_size):
        images = np.asarray(generate(min(batch_size, n - start)))
        errors.append(np.asarray(reconstruction_error(images)))
        labels.append(np.asarray(classify(images)))
        ink.append((images[:, 0] > 0.0).mean(axis=(1, 2)))  # above the middle grey, as > 127 for uint8
    errors, labels, ink = np.concatenate(errors), np.concatenate(labels), np.concatenate(ink)
    per_class = []
    for c in range(10):
        drawn = labels == c
        mean_of = lambda values: float(values[drawn].mean()) if drawn.any() else float("nan")  # noqa: E731
        per_class.append((c, int(drawn.sum()), mean_of(errors), mean_of(ink)))
    return {"per_class": per_class, "mean": float(errors.mean())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a checkpoint of `tinygan train began`")
    parser.add_argument("--data", default=None, help="MNIST folder (default: as the CLI finds it)")
    parser.add_argument("--samples", type=int, default=0, help="also read N of G's samples (default 0: none)")
    parser.add_argument("--average", action="store_true",
                        help="with --samples: draw with the running average of G, not its last weights")
    parser.add_argument("--seed", type=int, default=0, help="with --samples: the seed of the latents (default 0)")
    args = parser.parse_args(argv)
    if args.samples < 0:
        sys.exit(f"--samples: expected a count >= 0, got {args.samples}")
    import tinygan
    from tinygan.backend import to_numpy
    from tinygan.cli import load_run
    from tinygan.data import load_mnist
    recipe, meta = load_run(args.checkpoint, raw=not args.average)
    if meta.get("recipe") != "began":
        sys.exit(f"checkpoint: expected a run of the began recipe, got one of {meta.get('recipe')!r}")
    images, labels = load_mnist("test", root=args.data)

    def reconstruction_error(batch):
        with tinygan.no_grad():
            return to_numpy(recipe.reconstruction_error(tinygan.Tensor(batch, device=recipe.device)).data)

    result = class_errors(reconstruction_error, images, labels)
    print("digit  L(x)    ink")
    for c, error, ink in result["per_class"]:
        print(f"{c:5d}  {error:.4f}  {ink:.3f}")
    print(f"correlation of L(x) with ink over the {len(labels)} test digits: {result['ink_correlation']:+.3f}")
    if args.samples:
        from tinygan.metrics.classifier import features_and_probs
        real_error = {c: error for c, error, _ in result["per_class"]}
        tinygan.manual_seed(args.seed)

        def generate(b):
            with tinygan.no_grad():
                return to_numpy(recipe.generate(recipe.sample_latent(b)).data)

        samples = sample_errors(reconstruction_error, generate,
                                lambda images: features_and_probs(images)[1].argmax(axis=1), args.samples)
        print(f"\n{args.samples} samples of G ({meta['weights']} weights), k_t = {recipe.k:.3f}:")
        print("digit  share   L(G(z))  ink    L(x) of the test digits")
        for c, count, error, ink in samples["per_class"]:
            print(f"{c:5d}  {count / args.samples:5.3f}  {error:.4f}   {ink:.3f}  {real_error.get(c, float('nan')):.4f}")
        print(f"mean L(G(z)) {samples['mean']:.4f}")


if __name__ == "__main__":
    main()
