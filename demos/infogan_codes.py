"""What did InfoGAN's codes learn? A walk over the codes, and how many categories are digits.

InfoGAN is never shown a label. Its 10-way categorical code c1 and two continuous codes c2, c3
in [-1, 1] only have to stay readable in the image (high mutual information); on MNIST the
categorical code usually ends up meaning the digit class, and the continuous ones its slant
and width, but nothing forces which category is which digit, nor that two categories do not
share one.

1. ``infogan_codes.png``: a 10 x 10 grid with one noise vector z for all of it: row k sets c1 = k,
   column j sets one continuous code (``--cont``) to -1 + 2j/9, the other continuous code is 0.
2. Measured with the shipped MNIST classifier (``tinygan.metrics.classifier``): for each
   category, ``--n`` samples (fresh z and continuous codes) are classified; the category's digit
   is the most frequent prediction and its purity that digit's share. The script prints the
   table and the fraction of categories that map to distinct digits (1.0: ten categories, ten
   different digits; the paper reports about 5% error for this unsupervised classification).

    tinygan train infogan --out runs/infogan
    python demos/infogan_codes.py --out demos_out
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import add_common_args, load_checkpoint_or_exit


def category_digits(recipe, model, n, batch_size=500):
    """(digit, purity) of each categorical code value, from n classified samples per category."""
    from tinygan import backend
    from tinygan.tensor import Tensor, no_grad
    xp = backend.xp_for(recipe.device)
    c = recipe.config
    table = []
    with no_grad():
        for k in range(c.n_cat):
            preds = []
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                z, _, cont = recipe.sample_latent(m)
                cat = Tensor(xp.full((m,), k, dtype=np.int64))
                logits = model(recipe.generate((z, cat, cont)))
                preds.append(backend.to_numpy(logits.data).argmax(axis=1))
            counts = np.bincount(np.concatenate(preds), minlength=10)
            table.append((int(counts.argmax()), counts.max() / n))
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, "infogan", "demos_out")
    parser.add_argument("--cont", type=int, default=0, help="which continuous code the columns walk (default 0)")
    parser.add_argument("--n", type=int, default=500, help="samples per category for the digit table (default 500)")
    args = parser.parse_args(argv)

    import tinygan as tg
    from tinygan.tensor import no_grad
    from tinygan.viz import save_grid

    recipe, meta = load_checkpoint_or_exit(args.checkpoint, "infogan", args.device)
    c = recipe.config
    if not 0 <= args.cont < c.n_cont:
        parser.error(f"--cont: expected 0 to {c.n_cont - 1}, got {args.cont}")
    tg.manual_seed(args.seed)
    with no_grad():
        images = recipe.generate(recipe.code_grid(c.n_cat, 10, cont_index=args.cont)).numpy()
    path = args.out / "infogan_codes.png"
    save_grid(images, path, nrow=10, title=f"infogan, step {meta.get('step')}: rows c1 = 0..{c.n_cat - 1}, "
                                           f"columns c{args.cont + 2} from -1 to 1")
    print(f"wrote {path}")

    try:
        from tinygan.metrics.classifier import load_classifier
    except ImportError as exc:
        sys.exit(f"error: the MNIST classifier is not available ({exc}); the grid above was written")
    model = load_classifier(recipe.device)
    table = category_digits(recipe, model, args.n)
    print(f"category -> digit (most frequent classifier prediction of {args.n} samples), purity")
    for k, (digit, purity) in enumerate(table):
        print(f"  c1 = {k}:  {digit}   {purity:.0%}")
    digits = {d for d, _ in table}
    print(f"distinct digits: {len(digits)} of {c.n_cat} categories -> fraction {len(digits) / c.n_cat:.2f}; "
          f"mean purity {np.mean([p for _, p in table]):.0%}")
    missing = sorted(set(range(10)) - digits)
    if missing:
        print(f"digits no category draws: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
