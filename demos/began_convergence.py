"""Does BEGAN's convergence measure track sample quality? M_global against the FID.

BEGAN's paper offers M_global = L(x) + |gamma L(x) - L(G(z))| as "an approximate measure of
convergence": it should fall as the generator improves, so that a run can be judged (and its
learning rate decayed) without looking at samples. This script reads the metrics.jsonl of one or
more began runs trained with ``--eval-every``: the Trainer logs ``M_global`` and ``k`` (means over
each logging interval) and the FID of the generator's samples on the shipped MNIST classifier's
features (``eval/fid``). For each run it plots M_global and the FID against the generator step
(two y-axes) above k_t, and prints their correlation over the evaluated steps (Pearson's r and
Spearman's rho, the helpers of the WGAN demo). A positive correlation is the paper's claim.

    tinygan train began --eval-every 100 --eval-samples 1000 --out runs/began
    python demos/began_convergence.py runs/began/metrics.jsonl [more runs ...] --out demos_out

M_global is a mean over a logging interval of per-batch values, so it is noisy; the FID of a
few thousand samples is noisy too (and biased upwards for small sample counts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wgan_vs_fid import paired_series, pearson, spearman  # noqa: E402


def correlations(records):
    """(n, Pearson r, Spearman rho) between M_global and the FID at the evaluated steps."""
    _, steps, m, fid = paired_series(records, key="M_global")
    if len(steps) < 3:
        return len(steps), float("nan"), float("nan")
    return len(steps), pearson(m, fid), spearman(m, fid)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", nargs="*", type=Path, default=[Path("runs/began/metrics.jsonl")],
                        help="began runs' metrics.jsonl (default: runs/began/metrics.jsonl)")
    parser.add_argument("--out", type=Path, default=Path("demos_out"), help="directory for the PNG (default demos_out)")
    args = parser.parse_args(argv)

    from tinygan.viz import read_metrics
    runs = []
    for path in args.metrics:
        command = f"tinygan train began --eval-every 100 --eval-samples 1000 --out {path.parent}"
        if not path.exists():
            sys.exit(f"error: no metrics file at {path}.\nMake a run with FID evaluations:\n    {command}")
        records = read_metrics(path)
        logged, steps, m, fid = paired_series(records, key="M_global")
        if not logged:
            sys.exit(f"error: {path} has no 'M_global' records: is it a began run?\n    {command}")
        if len(steps) == 0:
            sys.exit(f"error: {path} has no FID records (eval/fid): train with --eval-every:\n    {command}")
        k = sorted((r["step"], r["k"]) for r in records if "k" in r)
        runs.append((path, logged, steps, m, fid, k))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(runs), figsize=(5.5 * len(runs), 5), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1]}, sharex="col")
    for col, (path, logged, steps, m, fid, k) in enumerate(runs):
        ax, ax_k = axes[0, col], axes[1, col]
        ax.plot([s for s, _ in logged], [v for _, v in logged], color="tab:blue", linewidth=1, alpha=0.6,
                label="M_global (every log)")
        ax.plot(steps, m, "o", color="tab:blue", markersize=3, label="at the evaluations")
        ax.set_ylabel("M_global", color="tab:blue")
        ax2 = ax.twinx()
        ax2.plot(steps, fid, "s-", color="tab:red", markersize=3, label="FID")
        ax2.set_ylabel("FID (classifier features)", color="tab:red")
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
        n, r, rho = correlations(read_metrics(path))
        ax.set_title(f"{path.parent.name}: Pearson r {r:+.2f}, Spearman rho {rho:+.2f} ({n} evals)", fontsize=9)
        ax_k.plot([s for s, _ in k], [v for _, v in k], color="tab:green", linewidth=1)
        ax_k.set_ylabel("k_t")
        ax_k.set_xlabel("generator step")
        ax_k.grid(alpha=0.3)
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "began_convergence.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)

    for path, logged, steps, m, fid, k in runs:
        n, r, rho = correlations(read_metrics(path))
        print(f"{path}: {n} evaluations, steps {steps[0]} to {steps[-1]}; M_global {m[0]:.4f} -> {m[-1]:.4f}, "
              f"FID {fid[0]:.1f} -> {fid[-1]:.1f}")
        if n < 3:
            print("  too few evaluations for a correlation (need 3 or more)")
        else:
            print(f"  Pearson r (M_global, FID) = {r:+.3f}   Spearman rho = {rho:+.3f}   "
                  "(positive: M_global falls when the FID falls, as the paper claims)")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
