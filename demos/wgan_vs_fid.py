"""Does WGAN's critic estimate track sample quality? The Wasserstein estimate against the FID.

The WGAN paper's selling point: the critic's estimate E f(x) - E f(G(z)) of the earth-mover
distance falls as the samples improve, so unlike a GAN's losses it is a learning curve. This
script reads a wgan run's metrics.jsonl: the Trainer logs ``wasserstein`` (the mean over each
logging interval) with the losses and, when the run was trained with ``--eval-every``, the FID of
the generator's samples on the shipped MNIST classifier's features (``eval/fid``). It plots
both against the generator step on two y-axes and prints their correlation over the steps
that have an FID (Pearson's r, and Spearman's rho: Pearson's r of the ranks, computed with numpy).

    tinygan train wgan --eval-every 500 --out runs/wgan
    python demos/wgan_vs_fid.py runs/wgan/metrics.jsonl --out demos_out

Keep in mind that a clipped critic's estimate is scaled by the clipping box (a K-Lipschitz
critic, K unknown), so only its trend means anything, and that it is noisy: it is measured on
one batch per critic step, with the critic as it is at that point of training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def ranks(x):
    """Ranks 0..n-1 of x, ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x), dtype=np.float64)
    r[order] = np.arange(len(x), dtype=np.float64)
    for value in np.unique(x):
        tied = x == value
        if tied.sum() > 1:
            r[tied] = r[tied].mean()
    return r


def pearson(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x, y = x - x.mean(), y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def spearman(x, y):
    return pearson(ranks(x), ranks(y))


def paired_series(records, key="wasserstein"):
    """(logged, steps, values, fid): for every evaluation, the series ``key`` logged at that step
    or, when the intervals differ, at the last logging step before it."""
    logged = sorted((r["step"], r[key]) for r in records if key in r)
    evals = sorted((r["step"], r["eval/fid"]) for r in records if "eval/fid" in r)
    steps, w, fid = [], [], []
    for step, f in evals:
        before = [v for s, v in logged if s <= step]
        if before:
            steps.append(step)
            w.append(before[-1])
            fid.append(f)
    return logged, np.array(steps), np.array(w), np.array(fid)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", nargs="?", type=Path, default=Path("runs/wgan/metrics.jsonl"),
                        help="a wgan run's metrics.jsonl (default: runs/wgan/metrics.jsonl)")
    parser.add_argument("--out", type=Path, default=Path("demos_out"), help="directory for the PNG (default demos_out)")
    args = parser.parse_args(argv)

    from tinygan.viz import read_metrics
    command = f"tinygan train wgan --eval-every 500 --out {args.metrics.parent}"
    if not args.metrics.exists():
        sys.exit(f"error: no metrics file at {args.metrics}.\nMake a run with FID evaluations:\n    {command}")
    records = read_metrics(args.metrics)
    logged, steps, w, fid = paired_series(records)
    if not logged:
        sys.exit(f"error: {args.metrics} has no 'wasserstein' records: is it a wgan (or wgan_gp) run?\n    {command}")
    if len(steps) == 0:
        sys.exit(f"error: {args.metrics} has no FID records (eval/fid): the run was trained without --eval-every.\n"
                 f"Train with evaluations, e.g.:\n    {command}\n"
                 "(--eval-samples N sets the samples per evaluation, 2000 by default)")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([s for s, _ in logged], [v for _, v in logged], color="tab:blue", linewidth=1, alpha=0.6,
            label="Wasserstein estimate (every log)")
    ax.plot(steps, w, "o", color="tab:blue", markersize=4, label="at the evaluations")
    ax.set_xlabel("generator step")
    ax.set_ylabel("E f(x) - E f(G(z))", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(steps, fid, "s-", color="tab:red", markersize=4, label="FID")
    ax2.set_ylabel("FID (classifier features)", color="tab:red")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    ax.set_title(f"{args.metrics.parent.name}: critic estimate vs FID")
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "wgan_vs_fid.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)

    print(f"{len(steps)} evaluations, steps {steps[0]} to {steps[-1]}")
    if len(steps) < 3:
        print("too few evaluations for a correlation (need 3 or more)")
    else:
        print(f"Pearson r    (wasserstein, fid) = {pearson(w, fid):+.3f}")
        print(f"Spearman rho (wasserstein, fid) = {spearman(w, fid):+.3f}")
        print("(positive: the estimate falls when the FID falls, as the paper claims)")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
