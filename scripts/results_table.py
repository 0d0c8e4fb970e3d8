"""Print the README's results table (markdown) from the runs' metrics.jsonl and eval.json.

The README's *variant* column adds a few words to the recipe name by hand (which generator, which form).

    python scripts/results_table.py [RUNS_DIR]
"""

import json
import sys
from pathlib import Path

import numpy as np

from tinygan.data import load_mnist
from tinygan.metrics.classifier import features_and_probs, record
from tinygan.metrics.scores import classifier_score, mode_coverage
from tinygan.viz import read_metrics


def main(runs):
    print("| run | variant | budget (epochs of MNIST) | generator steps | s / epoch (2-core CPU) | FID ↓ "
          "| classifier score ↑ | classes covered | samples |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for run in sorted(p for p in Path(runs).iterdir() if (p / "eval.json").exists()):
        ev = json.loads((run / "eval.json").read_text())
        records = [r for r in read_metrics(run / "metrics.jsonl") if "it_per_s" in r]
        last = records[-1]
        epochs = last["epoch"]
        print(f"| {run.name} | {ev['recipe']} | {epochs:.0f} | {last['step']:,} | {last['time'] / epochs:.0f} | "
              f"{ev['fid']:.2f} | {ev['classifier_score']:.2f} | {ev['classes_covered']} | "
              f"[grid](docs/samples_{run.name}.png) |")
    # The baseline row: real images through the same measures (FID: 10k train vs the 10k test set).
    images, _ = load_mnist("test")
    _, probs = features_and_probs((images[:, None] / 127.5 - 1).astype(np.float32))
    coverage = mode_coverage(probs)
    print(f"| real MNIST | (10k train vs 10k test) | - | - | - | {record()['fid_real_vs_real']:.2f} | "
          f"{classifier_score(probs):.2f} | {coverage['classes_covered']} | |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs")
