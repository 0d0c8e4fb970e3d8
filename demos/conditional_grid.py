"""A conditional GAN draws the digit it is asked for: one row per digit, 0 to 9.

Row d holds ``--cols`` samples generated with label d and fresh noise z; the same ten z are
used in every row (column j has one z), so a column shows one "style" written as each digit.
A GAN that has learned the condition gives ten rows of ten recognisable, different digits; one
that ignores y gives rows that look alike.

    tinygan train cgan --out runs/cgan          # makes runs/cgan/checkpoint.npz
    python demos/conditional_grid.py --out demos_out
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import add_common_args, load_checkpoint_or_exit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, "cgan", "demos_out")
    parser.add_argument("--cols", type=int, default=10, help="samples per digit (default 10)")
    args = parser.parse_args(argv)

    import tinygan as tg
    from tinygan import backend
    from tinygan.tensor import Tensor, no_grad
    from tinygan.viz import save_grid

    recipe, meta = load_checkpoint_or_exit(args.checkpoint, "cgan", args.device)
    tg.manual_seed(args.seed)
    xp = backend.xp_for(recipe.device)
    labels = xp.repeat(xp.arange(10, dtype=np.int64), args.cols)                 # 0 x cols, 1 x cols, ...
    z, _ = recipe.sample_latent(args.cols)
    z = Tensor(xp.tile(z.data, (10, 1)))                                         # column j: the same z in every row
    with no_grad():
        images = recipe.generate((z, Tensor(labels))).numpy()
    path = args.out / "conditional_grid.png"
    save_grid(images, path, nrow=args.cols,
              title=f"cgan ({recipe.config.conditioning}), step {meta.get('step')}: row d = label d")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
