"""The two-domain measures of *untrained* networks: the baseline the two-domain tables compare with.

    PYTHONPATH=. python scripts/two_domain_baselines.py cogan:negative discogan:rot90 --n 2000 --out runs/baselines.json

Each recipe is built with tinygan.manual_seed(0) (the seed of the training runs, so these are
the very networks those runs started from) and evaluated as ``tinygan eval`` evaluates a
checkpoint (eval mode, the same seed and number of test images / pairs).
``scripts/reproduce_results.py`` calls ``baseline`` with each two-domain row's own options.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import tinygan
from tinygan.gan.registry import get_recipe


def baseline(recipe_name, options, n, seed=0, data=None):
    """The evaluation of recipe ``recipe_name`` built with ``options`` (Config fields) and seed ``seed``."""
    tinygan.manual_seed(seed)
    cls = get_recipe(recipe_name)
    recipe = cls(cls.Config(**options))
    recipe.data_root = data
    for m in recipe.networks().values():
        m.eval()
    return {"recipe": recipe_name, "step": 0, **recipe.evaluate(n=n, seed=0, data=data)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="RECIPE:DOMAIN, e.g. cyclegan:negative")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = {}
    for spec in args.runs:
        recipe_name, _, domain = spec.partition(":")
        results[spec] = baseline(recipe_name, {"domain_b": domain or "negative"}, args.n, data=args.data)
        print(json.dumps({spec: results[spec]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
