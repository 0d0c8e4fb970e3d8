"""Walking between two points of a DCGAN's latent space.

The DCGAN paper's evidence that the generator has not memorised its training set: on a path
between two noise vectors the images change smoothly, one digit turning into another through
plausible intermediate shapes, with no sharp jumps. Each row of ``latent_interpolation.png`` is
one such path between a random pair z0, z1, in ``--steps`` images:

    linear     z(t) = (1 - t) z0 + t z1
    spherical  z(t) = sin((1 - t) W) / sin W  z0 + sin(t W) / sin W  z1,  cos W = z0.z1 / (|z0||z1|)

Spherical interpolation (slerp; White 2016, "Sampling generative networks") keeps |z| near the
norm a Gaussian z of this dimension has (about sqrt(z_dim)); the midpoint of a linear path is
shorter by about 1/sqrt(2), a region the generator rarely saw in training.

    tinygan train dcgan --out runs/dcgan
    python demos/latent_interpolation.py --spherical --out demos_out
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import add_common_args, load_checkpoint_or_exit


def lerp(z0, z1, t):
    return (1.0 - t) * z0 + t * z1


def slerp(z0, z1, t):
    cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:  # (anti)parallel: nothing to curve around
        return lerp(z0, z1, t)
    return (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, "dcgan", "demos_out")
    parser.add_argument("--rows", type=int, default=6, help="pairs (z0, z1), one per row (default 6)")
    parser.add_argument("--steps", type=int, default=10, help="images per row, ends included (default 10)")
    parser.add_argument("--spherical", action="store_true", help="slerp instead of a straight line")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.steps < 2:
        parser.error("--rows must be at least 1 and --steps at least 2")

    from tinygan import backend
    from tinygan.tensor import Tensor, no_grad
    from tinygan.viz import save_grid

    recipe, meta = load_checkpoint_or_exit(args.checkpoint, "dcgan", args.device)
    rng = np.random.default_rng(args.seed)
    path_fn = slerp if args.spherical else lerp
    ts = np.linspace(0.0, 1.0, args.steps)
    z = []
    for _ in range(args.rows):
        z0, z1 = rng.standard_normal((2, recipe.config.z_dim))
        z += [path_fn(z0, z1, t) for t in ts]
    z = np.stack(z).astype(np.float32)
    norms = np.linalg.norm(z.reshape(args.rows, args.steps, -1), axis=2).mean(axis=0)
    with no_grad():
        images = recipe.generate((Tensor(backend.to_device(z, recipe.device)),)).numpy()
    kind = "spherical" if args.spherical else "linear"
    path = args.out / f"latent_interpolation_{kind}.png"
    save_grid(images, path, nrow=args.steps, title=f"dcgan, step {meta.get('step')}: {kind} interpolation")
    print("mean |z| along the path: " + " ".join(f"{v:.1f}" for v in norms)
          + f"   (sqrt(z_dim) = {np.sqrt(recipe.config.z_dim):.1f})")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
