"""Which digits does a trained BEGAN discriminator reconstruct best? One measurement of a guess.

    python scripts/began_class_errors.py runs/began/checkpoint.npz

BEGAN's G minimises L(G(z)), the error of D's auto-encoder on its samples, so one reading of its
uneven class mix is that G draws the digits D reconstructs best (for an auto-encoder trained on
real digits, those with the least ink, the 1s). This script reads the checkpoint's D on the 10,000
MNIST test digits and prints, per class,

    L(x) = mean |x - D(x)|      (images in [-1, 1], as the recipe computes it)

with the class's mean ink (the fraction of pixels above 127), and the correlation of L(x) with the
ink over all the digits. The classes of G's samples are in the run's ``tinygan eval`` histogram.
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a checkpoint of `tinygan train began`")
    parser.add_argument("--data", default=None, help="MNIST folder (default: as the CLI finds it)")
    args = parser.parse_args(argv)
    import tinygan
    from tinygan.backend import to_numpy
    from tinygan.cli import load_run
    from tinygan.data import load_mnist
    recipe, meta = load_run(args.checkpoint)
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


if __name__ == "__main__":
    main()
