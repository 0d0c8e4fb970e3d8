"""CoGAN's domain adaptation, before and after: a table from runs trained with ``--adapt true``.

    python scripts/domain_adaptation.py runs/cogan_adapt_negative/checkpoint.npz runs/cogan_adapt_edges/checkpoint.npz

For each checkpoint, the accuracy on the 10,000 MNIST test digits passed through the run's
transform T (domain B, whose labels training never saw) of the source-only classifier (trained
on A's labels alone, beside the GAN: *before*) and of CoGAN's classifier on its discriminator's
shared layers (*after*), and both on the test digits of A (``tinygan.metrics.domain_adaptation``;
``tinygan eval`` reports the same figures with CoGAN's pair measures).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoints of `tinygan train cogan --adapt true`")
    parser.add_argument("--n", type=int, default=10000, help="test digits (default all 10,000)")
    parser.add_argument("--data", type=Path, default=None, help="the MNIST directory (default: as tinygan finds it)")
    args = parser.parse_args(argv)
    from tinygan.cli import load_run
    from tinygan.metrics.domain_adaptation import evaluate_adaptation
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results_table import adaptation_table
    entries = []
    for checkpoint in args.checkpoints:
        recipe, meta = load_run(checkpoint)
        entries.append((checkpoint.parent.name, recipe.config.domain_b, meta.get("step"),
                        evaluate_adaptation(recipe, n=args.n, data=args.data)))
    print(adaptation_table(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
