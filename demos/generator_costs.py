"""The seed chapter's three generator costs: their curves, and what they do on MNIST from one start.

The chapter (its figures 6.6 and 6.7) contrasts three costs the generator can minimise, all
functions of D(G(z)) = sigmoid(l), l being D's logit:

    minimax          log(1 - D(G(z)))             = -softplus(l)
    non-saturating   -log D(G(z))                 =  softplus(-l)
    max-likelihood   -exp(sigma^-1(D(G(z)))) / 2  = -exp(l) / 2

and says the minimax cost "saturates": early in training D rejects the fakes (D(G(z)) near 0),
where log(1 - D) is flat, so G gets almost no gradient. What reaches G is the cost's derivative
with respect to the logit, computed here by tinygan's autograd (and checked against the closed
forms -D, -(1 - D) and -D / (2 (1 - D))): at D(G(z)) = 0.01 it is 0.01 for minimax, 0.99 for
non-saturating and 0.005 for max-likelihood.

Part two trains the vanilla GAN (the seed's MLPs) on real MNIST three times from the same start:
the same seed gives the same initial weights, the same batch order and the same noise, and only
``--g-cost`` differs. It records the norm of the gradient at G's first layer (its Dense 256
weight) at every generator step, and after a fixed budget measures FID, classifier score and
classes covered with `tinygan eval`'s metrics. The runs use the shared Trainer; the gradient
norm is read from G's optimizer just before each of its steps.

    python demos/generator_costs.py --out demos_out              # ~3 x 2,000 steps, minutes on one core
    python demos/generator_costs.py --out demos_out --steps 0    # the curves only, in a second
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import tinygan as tg
from tinygan.gan import losses

COSTS = {"minimax": losses.g_loss_minimax, "non-saturating": losses.g_loss_nonsaturating,
         "max-likelihood": losses.g_loss_max_likelihood}
CLOSED_FORM_GRAD = {  # d cost / d logit, as functions of D = sigmoid(logit)
    "minimax": lambda d: -d,
    "non-saturating": lambda d: -(1 - d),
    "max-likelihood": lambda d: -d / (2 * (1 - d)),
}
COLORS = {"minimax": "tab:red", "non-saturating": "tab:blue", "max-likelihood": "tab:green"}


def cost_curves(d):
    """Each cost and its derivative with respect to D's logit at the values ``d`` of D(G(z)),
    by autograd (one logit per value; the mean over one element is the element)."""
    out = {}
    for name, cost in COSTS.items():
        values, grads = [], []
        for p in d:
            logit = tg.Tensor(np.array([[np.log(p / (1 - p))]], dtype=np.float64), requires_grad=True)
            loss = cost(logit)
            loss.backward()
            values.append(loss.item())
            grads.append(float(logit.grad.numpy()[0, 0]))
        out[name] = (np.array(values), np.array(grads))
    return out


def probe_grad_norms(optimizer, param):
    """Make ``optimizer.step`` record ||grad|| of ``param`` before each update; returns the list.
    (The optimizer stays the same object, so checkpoints save it as usual.)"""
    norms, step = [], optimizer.step

    def recording_step():
        norms.append(float(np.sqrt((param.grad.numpy().astype(np.float64) ** 2).sum())))
        step()

    optimizer.step = recording_step
    return norms


def train_one(cost, args, images, labels, out_dir):
    """Train the vanilla GAN with generator cost ``cost`` from the seed's start; a finished run
    (its result.json, for the same steps and seed) is read back instead of trained again."""
    saved = out_dir / cost / "result.json"
    if saved.exists():
        result = json.loads(saved.read_text())
        if (result["steps"], result["seed"], result["eval_n"]) == (args.steps, args.seed, args.eval_n):
            result["grad_norms"] = np.array(result["grad_norms"])
            return result
        raise SystemExit(f"error: {saved} is from another setting; remove {out_dir / cost} to train again")
    from tinygan.data import DataLoader
    from tinygan.gan import TrainConfig, Trainer, VanillaGAN
    from tinygan.gan.vanilla import VanillaConfig
    from tinygan.metrics.evaluate import evaluate_recipe
    tg.manual_seed(args.seed)                          # the same start for every cost
    recipe = VanillaGAN(VanillaConfig(g_cost=cost))
    loader = DataLoader(images, labels, batch_size=args.batch_size)
    first = recipe.G[0].weight                          # Dense(100 -> 256)
    norms = probe_grad_norms(recipe.opt_g, first)
    config = TrainConfig(steps=args.steps, log_every=args.log_every, sample_every=args.steps,
                         checkpoint_every=args.steps)
    t0 = time.perf_counter()
    Trainer(recipe, loader, out_dir / cost, config, log=lambda line: None).fit()
    seconds = time.perf_counter() - t0
    scores = evaluate_recipe(recipe, n=args.eval_n, seed=0)
    records = [json.loads(line) for line in (out_dir / cost / "metrics.jsonl").read_text().splitlines()]
    result = {"steps": args.steps, "seed": args.seed, "eval_n": args.eval_n, "grad_norms": norms,
              "records": records, "scores": scores, "seconds": seconds}
    saved.write_text(json.dumps(result))
    result["grad_norms"] = np.array(norms)
    return result


def plot(d, curves, runs, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ncols = 4 if runs else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.6))
    for name, (values, grads) in curves.items():
        axes[0].plot(d, values, color=COLORS[name], label=name)
        axes[1].plot(d, np.abs(grads), color=COLORS[name], label=name)
    axes[0].set(xlabel="D(G(z))", ylabel="generator cost", title="the three costs (chapter fig. 6.7)", ylim=(-10, 5))
    axes[1].set(xlabel="D(G(z))", ylabel="|d cost / d logit|", yscale="log", title="what reaches G")
    for ax in axes[:2]:
        ax.legend(fontsize=8)
    if runs:
        for name, run in runs.items():
            k = min(args.early_steps, len(run["grad_norms"]))
            axes[2].plot(np.arange(1, k + 1), run["grad_norms"][:k], color=COLORS[name], label=name, linewidth=0.8)
            steps = [r["step"] for r in run["records"]]
            axes[3].plot(steps, [r["D(G(z))"] for r in run["records"]], color=COLORS[name],
                         label=f"{name}: FID {run['scores']['fid']:.1f}")
        axes[2].set(xlabel="generator step", ylabel="||grad|| at G's first layer", yscale="log",
                    title=f"MNIST, same start: first {args.early_steps} steps")
        axes[3].set(xlabel="generator step", ylabel="D(G(z)) (mean over log interval)",
                    title=f"after {args.steps} steps")
        for ax in axes[2:]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demos_out"), help="directory for the PNG (default demos_out)")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per MNIST run; 0: curves only")
    parser.add_argument("--early-steps", type=int, default=200, help="steps shown in the gradient-norm panel")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--eval-n", type=int, default=10000, help="samples for FID (default 10000, as `tinygan eval`)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None,
                        help="MNIST directory (default: $TINYGAN_DATA, cache, download)")
    args = parser.parse_args(argv)
    if args.steps < 0:
        parser.error("--steps must be >= 0")

    d = np.linspace(0.001, 0.999, 999)
    curves = cost_curves(d)
    print("d cost / d logit of D (autograd; its largest deviation from the closed form):")
    print(f"  {'cost':<16}{'D=0.01':>10}{'D=0.5':>10}{'D=0.99':>10}{'max |err|':>12}")
    for name, (_, grads) in curves.items():
        at = [grads[np.argmin(np.abs(d - p))] for p in (0.01, 0.5, 0.99)]
        err = np.max(np.abs(grads - CLOSED_FORM_GRAD[name](d)))
        print(f"  {name:<16}" + "".join(f"{g:>10.4f}" for g in at) + f"{err:>12.2e}")

    runs = {}
    if args.steps:
        from tinygan.data import load_mnist
        images, labels = load_mnist("train", root=args.data)
        for cost in COSTS:
            runs[cost] = train_one(cost, args, images, labels, args.out / "generator_costs_runs")
            print(f"{cost}: {args.steps} steps in {runs[cost]['seconds']:.0f} s", file=sys.stderr, flush=True)
        k = min(10, args.steps)
        print(f"\nMNIST, vanilla GAN, seed {args.seed}, {args.steps} steps of batch {args.batch_size}, "
              f"FID etc. on {args.eval_n} samples:")
        print(f"  {'cost':<16}{'|g| steps 1-' + str(k):>16}{'|g| steps 1-' + str(args.early_steps):>18}"
              f"{'D(G(z)) first log':>19}{'FID':>9}{'score':>8}{'classes':>9}")
        for cost, run in runs.items():
            g = run["grad_norms"]
            s = run["scores"]
            print(f"  {cost:<16}{g[:k].mean():>16.4g}{g[:args.early_steps].mean():>18.4g}"
                  f"{run['records'][0]['D(G(z))']:>19.3f}{s['fid']:>9.2f}{s['classifier_score']:>8.2f}"
                  f"{s['classes_covered']:>9d}")
    path = args.out / "generator_costs.png"
    plot(d, curves, runs, args, path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
