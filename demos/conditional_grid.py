"""A conditional GAN draws the digit it is asked for: one row per digit, 0 to 9.

Row d holds ``--cols`` samples generated with label d and fresh noise; the same noise is used in
every row (column j has one z, and for StackGAN one conditioning-augmentation eps), so a column
shows one "style" written as each digit. A GAN that has learned the condition gives ten rows of
ten recognisable, different digits; one that ignores y gives rows that look alike. The title
gives the label accuracy of ``--n-accuracy`` samples (``tinygan.metrics.label_accuracy``): the
fraction the MNIST classifier assigns to the label they were drawn with.

    tinygan train cgan --out runs/cgan          # makes runs/cgan/checkpoint.npz
    python demos/conditional_grid.py --out demos_out
    python demos/conditional_grid.py --variant stackgan --out demos_out   # runs/stackgan -> stackgan_rows.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from _common import add_common_args, load_checkpoint_or_exit

VARIANTS = ("cgan", "stackgan", "stackganpp")


def digit_rows_latent(recipe, cols):
    """The latent batch of a 10 x cols grid: row d has label d; column j has the same other inputs
    in every row. Conditional recipes here take (z, y, ...) with the labels second."""
    from tinygan import backend
    from tinygan.tensor import Tensor
    xp = backend.xp_for(recipe.device)
    latent = recipe.sample_latent(cols, xp.zeros(cols, dtype=np.int64))
    rows = [Tensor(xp.tile(t.data, (10,) + (1,) * (t.ndim - 1))) for t in latent]
    rows[1] = Tensor(xp.repeat(xp.arange(10, dtype=np.int64), cols))             # 0 x cols, 1 x cols, ...
    return tuple(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, "cgan", "demos_out")
    parser.add_argument("--variant", choices=VARIANTS, default="cgan",
                        help="which conditional GAN (default cgan; its checkpoint defaults to runs/VARIANT)")
    parser.add_argument("--cols", type=int, default=10, help="samples per digit (default 10)")
    parser.add_argument("--n-accuracy", type=int, default=2000, help="samples for the label accuracy (default 2000)")
    args = parser.parse_args(argv)
    if args.checkpoint == Path("runs") / "cgan" / "checkpoint.npz":
        args.checkpoint = Path("runs") / args.variant / "checkpoint.npz"

    import tinygan as tg
    from tinygan.metrics.label_accuracy import label_accuracy
    from tinygan.tensor import no_grad
    from tinygan.viz import save_grid

    recipe, meta = load_checkpoint_or_exit(args.checkpoint, args.variant, args.device)
    tg.manual_seed(args.seed)
    latent = digit_rows_latent(recipe, args.cols)
    with no_grad():
        images = recipe.generate(latent).numpy()
    accuracy = label_accuracy(recipe, n=args.n_accuracy, seed=args.seed)["label_accuracy"]
    name = "conditional_grid.png" if args.variant == "cgan" else f"{args.variant}_rows.png"
    path = args.out / name
    what = f" ({recipe.config.conditioning})" if args.variant == "cgan" else ""
    save_grid(images, path, nrow=args.cols,
              title=f"{args.variant}{what}, step {meta.get('step')}: row d = label d; "
                    f"label accuracy {accuracy:.3f} ({args.n_accuracy} samples)")
    print(f"wrote {path}; label accuracy {accuracy:.4f} of {args.n_accuracy} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
