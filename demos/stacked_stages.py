"""What each stage of a stacked GAN adds: StackGAN's Stage-I sketch (14x14) beside its Stage-II
refinement (28x28), or StackGAN++'s three branches (7x7, 14x14, 28x28), for every digit.

Each cell is one sample, its scales side by side (the smaller ones up-sampled by pixel
repetition); row d has label d, ``--cols`` samples per row with the same noise in every row.

    tinygan train stackgan --steps 2500 --out runs/stackgan
    python demos/stacked_stages.py --variant stackgan --out demos_out     # stackgan_stages.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import add_common_args, load_checkpoint_or_exit
from conditional_grid import digit_rows_latent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, "stackgan", "demos_out")
    parser.add_argument("--variant", choices=("stackgan", "stackganpp"), default="stackgan")
    parser.add_argument("--cols", type=int, default=3, help="samples per digit (default 3)")
    args = parser.parse_args(argv)
    if args.checkpoint == Path("runs") / "stackgan" / "checkpoint.npz":
        args.checkpoint = Path("runs") / args.variant / "checkpoint.npz"

    import tinygan as tg
    from tinygan.tensor import no_grad
    from tinygan.viz import save_grid

    recipe, meta = load_checkpoint_or_exit(args.checkpoint, args.variant, args.device)
    tg.manual_seed(args.seed)
    with no_grad():
        images = recipe.sample_images(digit_rows_latent(recipe, args.cols)).numpy()
    scales = "14 | 28" if args.variant == "stackgan" else "7 | 14 | 28"
    path = args.out / f"{args.variant}_stages.png"
    save_grid(images, path, nrow=args.cols, title=f"{args.variant}, step {meta.get('step')}: {scales} per sample")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
