"""Mode collapse, the seed chapter's two-cities example: a GAN on a bimodal 1-D distribution.

City A is high and cold, city B near the equator and hot, so their daily temperatures form two
peaks. The data here: half the samples from N(-4, 0.5^2) (A), half from N(4, 0.5^2) (B). A
vanilla GAN with small MLPs (built with tinygan.nn) learns it twice from the same seed and the
same initial weights, once with each generator cost of Goodfellow et al.:

    minimax         minimise E log(1 - D(G(z)))   saturates when D rejects the fakes confidently
    non-saturating  minimise -E log D(G(z))       strong gradients while D wins

The PNG shows histograms of generated samples (filled) over the data's density (line) at
several training steps: rows are the costs, columns the steps. The script prints, for each
cost, the fraction of samples near each mode (within 1.5 of -4 or 4) and elsewhere.

What it shows with the defaults (3,000 steps, about 15 s on one CPU core): complete collapse.
Both costs put all their samples on one city (seeds 0 and 2: B; seeds 1 and 3: A) within a few
hundred steps and stay there: a narrow peak that D cannot reject fast enough to push G across
the empty valley, since G's gradient only points downhill locally. (The costs behave alike
here because G starts at 0, between the modes, where D is unsure and log(1 - D) does not yet
saturate.) Compare the columns: the early ones are spaced geometrically to show the jump. The bottom row
traces the fraction of samples on city A every ``--trace-every`` steps and counts the hops.

The seed also describes the generator *hopping* between the cities as D catches up. That needs
a generator that moves much faster than D: with ``--g-hidden -1`` (``OneCity``, one peak that
only moves) at ``--lr-g 0.1`` against D's ``--lr 1e-4``, G visits A and comes back 10-12 times
in the first ~2,000 steps before settling on B. Slower generators, an affine or MLP G, SGD and
5 D steps per G step did not hop (docs/variants.md, Demos, lists what was tried and what each did).

    python demos/mode_collapse.py --out demos_out --g-hidden -1 --lr 1e-4 --lr-g 0.1 --png mode_collapse_hopping.png

    python demos/mode_collapse.py --out demos_out
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import tinygan as tg
from tinygan import nn
from tinygan.gan import losses
from tinygan.optim import SGD, Adam

MODES = (-4.0, 4.0)
STD = 0.5


def sample_data(rng, n):
    """n temperatures: each from city A or B with probability 1/2."""
    centers = rng.choice(MODES, size=n)
    return (centers + STD * rng.standard_normal(n)).astype(np.float32)[:, None]


class OneCity(nn.Module):
    """x = b + 0.5 z_1: a generator that can only draw one narrow peak, the width of a city's,
    and learns only where to put it (b). The seed's story in its barest form: G can serve one
    city at a time, and the question is whether it stays or moves."""

    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(np.zeros(1, dtype=np.float32))

    def forward(self, z):
        return z[:, :1] * STD + self.b


def make_networks(z_dim, hidden, g_hidden=None):
    """G: an MLP with two hidden layers of ``g_hidden`` units (default ``hidden``); with
    ``g_hidden=0`` the affine map z -> w.z + b (one Gaussian of learned width); with
    ``g_hidden=-1`` ``OneCity``. D: an MLP with two hidden layers of ``hidden`` units."""
    g_hidden = hidden if g_hidden is None else g_hidden
    if g_hidden == -1:
        G = OneCity()
    elif g_hidden == 0:
        G = nn.Sequential(nn.Linear(z_dim, 1))
    else:
        G = nn.Sequential(nn.Linear(z_dim, g_hidden), nn.LeakyReLU(0.2), nn.Linear(g_hidden, g_hidden),
                          nn.LeakyReLU(0.2), nn.Linear(g_hidden, 1))
    D = nn.Sequential(nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                      nn.Linear(hidden, 1))
    return G, D


def train(cost, args, snapshots):
    """Train one GAN with generator cost ``cost``; returns {step: samples} at the snapshot steps."""
    tg.manual_seed(args.seed)                       # the same initial weights and noise for both costs
    rng = np.random.default_rng(args.seed)          # and the same data batches
    G, D = make_networks(args.z_dim, args.hidden, args.g_hidden)
    if args.optimizer == "sgd":
        opt_g, opt_d = SGD(G.parameters(), lr=args.lr_g or args.lr), SGD(D.parameters(), lr=args.lr)
    else:
        opt_g = Adam(G.parameters(), lr=args.lr_g or args.lr, betas=(0.5, 0.999))
        opt_d = Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    g_cost = losses.g_loss_minimax if cost == "minimax" else losses.g_loss_nonsaturating
    z_eval = tg.Tensor(tg.random.randn(args.eval_samples, args.z_dim))
    out, trace = {}, []
    for step in range(args.steps + 1):
        if step in snapshots or step % args.trace_every == 0:
            with tg.no_grad():
                x = G(z_eval).numpy()[:, 0]
            if step in snapshots:
                out[step] = x
            if step % args.trace_every == 0:
                trace.append([step] + mode_fractions(x))
        if step == args.steps:
            break
        for _ in range(args.d_steps):
            real = tg.Tensor(sample_data(rng, args.batch_size))
            with tg.no_grad():
                fake = G(tg.Tensor(tg.random.randn(args.batch_size, args.z_dim)))
            d_loss = losses.d_loss_bce(D(real), D(fake))
            D.zero_grad()
            d_loss.backward()
            opt_d.step()
        g_loss = g_cost(D(G(tg.Tensor(tg.random.randn(args.batch_size, args.z_dim)))))
        G.zero_grad()
        D.zero_grad()
        g_loss.backward()
        opt_g.step()
    out["trace"] = np.array(trace)
    return out


def hops(trace, threshold=0.8):
    """How often the generator moved its mass from one city to the other: the number of changes
    in which city holds more than ``threshold`` of the samples (times neither does are skipped)."""
    held = [("A" if a > threshold else "B" if b > threshold else None) for _, a, b, _ in trace]
    held = [h for h in held if h is not None]
    return sum(1 for x, y in zip(held, held[1:]) if x != y)


def mode_fractions(x):
    near = [float(np.mean(np.abs(x - m) < 1.5)) for m in MODES]
    return near + [1.0 - sum(near)]


def plot(results, snapshots, path, title=""):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    grid = np.linspace(-8, 8, 400)
    density = sum(np.exp(-0.5 * ((grid - m) / STD) ** 2) for m in MODES) / (2 * STD * np.sqrt(2 * np.pi))
    fig = plt.figure(figsize=(3 * len(snapshots), 2.4 * (len(results) + 1)))
    grid_spec = fig.add_gridspec(len(results) + 1, len(snapshots))
    axes = np.array([[fig.add_subplot(grid_spec[r, c]) for c in range(len(snapshots))] for r in range(len(results))])
    ax = fig.add_subplot(grid_spec[len(results), :])
    for cost, samples in results.items():
        t = samples["trace"]
        ax.plot(t[:, 0], t[:, 1], label=f"{cost}: {hops(t)} hops")
    ax.set(xlabel="training step", ylabel="fraction on city A", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    for row, (cost, samples) in enumerate(results.items()):
        for col, step in enumerate(snapshots):
            ax = axes[row, col]
            x = np.clip(samples[step], -8, 8)
            ax.hist(x, bins=80, range=(-8, 8), density=True, color="tab:orange", alpha=0.7)
            ax.plot(grid, density, color="black", linewidth=1)
            a, b, _ = mode_fractions(samples[step])
            ax.set_title(f"{cost}, step {step}\nA {a:.0%}  B {b:.0%}", fontsize=9)
            ax.set_ylim(0, 1.2)
            if col == 0:
                ax.set_ylabel("density")
            if row == len(results) - 1:
                ax.set_xlabel("temperature")
    fig.suptitle(f"Two cities: generated samples (orange) vs the data (line); {title}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demos_out"), help="directory for the PNG (default demos_out)")
    parser.add_argument("--steps", type=int, default=3000, help="training steps per cost (default 3000)")
    parser.add_argument("--snapshots", type=int, default=5,
                        help="histogram columns: step 0, then geometrically spaced (default 5)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--z-dim", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="D's learning rate (and G's unless --lr-g)")
    parser.add_argument("--lr-g", type=float, default=None, help="G's learning rate (default: --lr)")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--g-hidden", type=int, default=None,
                        help="G's hidden width (default --hidden); 0: an affine G, one Gaussian; -1: OneCity, "
                             "one narrow peak that only moves")
    parser.add_argument("--d-steps", type=int, default=1, help="D steps per G step (default 1)")
    parser.add_argument("--trace-every", type=int, default=25, help="steps between the trace's measurements")
    parser.add_argument("--eval-samples", type=int, default=5000, help="samples per histogram")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", default="mode_collapse.png", help="file name of the PNG in --out")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.snapshots < 2:
        parser.error("--steps must be positive and --snapshots at least 2")
    later = np.geomspace(min(50, args.steps), args.steps, args.snapshots - 1)
    snapshots = sorted({0} | {int(round(s)) for s in later})
    results = {}
    for cost in ("minimax", "non-saturating"):
        t0 = time.perf_counter()
        results[cost] = train(cost, args, snapshots)
        print(f"{cost}: {args.steps} steps in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    path = args.out / args.png
    setting = (f"G {'OneCity' if args.g_hidden == -1 else 'affine' if args.g_hidden == 0 else 'MLP'}, "
               f"{args.optimizer}, lr D {args.lr:g}, lr G {args.lr_g or args.lr:g}, {args.d_steps} D step(s)")
    plot(results, snapshots, path, setting)
    print(f"after {args.steps} steps (seed {args.seed}), fraction of {args.eval_samples} samples:")
    print(f"  {'cost':<16}{'near A (-4)':>12}{'near B (+4)':>12}{'elsewhere':>12}{'hops':>6}"
          f"{'steps on A':>12}")
    for cost, samples in results.items():
        a, b, rest = mode_fractions(samples[args.steps])
        t = samples["trace"]
        print(f"  {cost:<16}{a:>12.1%}{b:>12.1%}{rest:>12.1%}{hops(t):>6}{np.mean(t[:, 1] > 0.8):>12.0%}")
    print(f"  (hops: moves of more than 80% of the samples from one city to the other, measured every "
          f"{args.trace_every} steps; steps on A: the fraction of those measurements with > 80% on A)")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
