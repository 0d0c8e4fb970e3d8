"""How far do HR-DCGAN's samples leave the enlarged digits' subspace? The measurement behind
``--d-projection``.

    python scripts/hrdcgan_off_subspace.py runs/hrdcgan/checkpoint.npz [--n 500] [--average]

The data are 28x28 digits y enlarged by bilinear interpolation, x = B y B^T, so every real image
lies in a 784-dimensional subspace of the side x side pixels, and its part off that subspace,

    r(x) = x - P x,    P x = B (B^+ x B^+T) B^T    (B^+: the least-squares inverse),

is zero. This script prints r for n of G's samples at the training resolution (G's last weights,
or ``--average`` for the running average) and for n enlarged test digits: per image, the energy of
r as a fraction of the image's ink energy, sum r^2 / sum (x + 1)^2, and the largest |r| of a pixel
(pixel range [-1, 1]). A D that learns to read r tells every sample with r != 0 from every real
image.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def off_subspace(images):
    """(energy fraction, largest |r|) per image of ``images`` (N, 1, side, side) in [-1, 1], as arrays."""
    import tinygan
    from tinygan.backend import to_numpy
    from tinygan.gan.hrdcgan import project_to_enlargements
    with tinygan.no_grad():
        projected = to_numpy(project_to_enlargements(tinygan.Tensor(np.asarray(images, dtype=np.float32))).data)
    x = np.asarray(images, dtype=np.float64)
    r = x - projected
    return (r ** 2).sum(axis=(1, 2, 3)) / ((x + 1) ** 2).sum(axis=(1, 2, 3)), np.abs(r).max(axis=(1, 2, 3))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a checkpoint of `tinygan train hrdcgan`")
    parser.add_argument("--n", type=int, default=500, help="samples and test digits (default 500)")
    parser.add_argument("--average", action="store_true", help="the running average of G, not its last weights")
    parser.add_argument("--data", default=None, help="MNIST folder (default: as the CLI finds it)")
    args = parser.parse_args(argv)
    if args.n < 1:
        sys.exit(f"--n: expected a count >= 1, got {args.n}")
    import tinygan
    from tinygan.backend import to_numpy
    from tinygan.cli import load_run
    from tinygan.data import load_mnist
    from tinygan.ops import resize
    recipe, meta = load_run(args.checkpoint, raw=not args.average)
    if meta.get("recipe") != "hrdcgan":
        sys.exit(f"checkpoint: expected a run of the hrdcgan recipe, got one of {meta.get('recipe')!r}")
    side = recipe.config.resolution
    tinygan.manual_seed(0)
    with tinygan.no_grad():
        samples = to_numpy(recipe.generate_full(recipe.sample_latent(args.n)).data)
        digits = load_mnist("test", root=args.data)[0][:args.n, None].astype(np.float32) / 127.5 - 1.0
        enlarged = to_numpy(resize(tinygan.Tensor(digits), side, "bilinear").data)
    print(f"{args.n} images at {side}x{side}, step {meta.get('step')}, G's {meta['weights']} weights")
    print("                      off-subspace energy / ink energy      largest |r|")
    print("                      median      max                       median    max")
    for name, images in (("G's samples", samples), ("enlarged test digits", enlarged)):
        energy, largest = off_subspace(images)
        print(f"{name:20s}  {np.median(energy):.2e}  {energy.max():.2e}                  "
              f"{np.median(largest):.2e}  {largest.max():.2e}")


if __name__ == "__main__":
    main()
