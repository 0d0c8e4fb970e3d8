"""Progressive growing, seen: the same latents at the end of every resolution, and the FID
against the number of real images shown, with the start of every phase marked.

    tinygan train progan --batch-size 16 --eval-every 200 --eval-samples 1000 --sample-every 200 --out runs/progan
    python demos/progan_growth.py runs/progan/checkpoint.npz --out docs

The strip: one row per resolution (4x4, 8x8, 16x16, 32x32, each shown upsampled to 32x32 by
nearest neighbour, padding included), ten columns of the recipe's growth latent. The rows of the
lower resolutions were taken by the recipe during training, when each resolution's last phase
ended (they are saved in the checkpoint's recipe state); the last row is the checkpoint's
generator. The FID curve needs a run trained with --eval-every: each point is the project's FID
(the shipped MNIST classifier's features) of that many samples, those of a lower resolution
upsampled to 32x32 and cropped to 28x28 like the final ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_args, load_checkpoint_or_exit  # noqa: E402


def growth_rows(recipe):
    """{resolution: images (10, 1, 32, 32)}: the recorded ends of the finished resolutions and
    the checkpoint's generator at its own resolution."""
    from tinygan.tensor import no_grad
    rows = {4 * 2 ** level: images for level, images in sorted(recipe.growth.items())}
    with no_grad():
        rows[4 * 2 ** recipe.level] = recipe.sample_images(recipe.growth_latent()).numpy()
    return rows


def plot_strip(rows, path, step_of=None):
    from tinygan.viz import _atomic_savefig, _pyplot, grid_image
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(6.4, 0.75 * len(rows) + 0.3))
    for ax, (res, images) in zip(np.atleast_1d(axes), sorted(rows.items())):
        ax.imshow(grid_image(images, nrow=len(images)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_ylabel(f"{res}x{res}", rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("ProGAN on MNIST: the same 10 latents at the end of each resolution", fontsize=9)
    _atomic_savefig(fig, path)
    plt.close(fig)


def plot_fid(records, schedule, batch_size, path):
    from tinygan.viz import _atomic_savefig, _pyplot
    evals = sorted((r["step"] * batch_size, r["eval/fid"]) for r in records if "eval/fid" in r)
    if not evals:
        sys.exit("error: the run's metrics.jsonl has no FID: train with --eval-every N")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    x, y = zip(*evals)
    ax.plot(x, y, "o-", color="black", markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel("real images shown")
    ax.set_ylabel("FID (MNIST classifier features)")
    colors = {"fade": "tab:orange", "stable": "tab:blue"}
    for kind, level, start, _ in schedule.phases():
        res = 4 * 2 ** level
        ax.axvline(start, color=colors[kind], linestyle="--" if kind == "fade" else "-", linewidth=0.8)
        ax.text(start, ax.get_ylim()[1], f" {res}x{res} {kind}", rotation=90, va="top", ha="left", fontsize=7,
                color=colors[kind])
    end = max(schedule.total_images, x[-1])  # a run may continue its last stable phase past the schedule
    ax.set_xlim(-0.01 * end, 1.01 * end)
    ax.set_title("ProGAN on MNIST: FID against images shown (lines: phase starts)", fontsize=9)
    _atomic_savefig(fig, path)
    plt.close(fig)
    return evals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, "progan", "demos_out")
    args = parser.parse_args(argv)
    recipe, meta = load_checkpoint_or_exit(args.checkpoint, "progan", args.device,
                                           "--batch-size 16 --eval-every 200 --eval-samples 1000")
    from tinygan.viz import read_metrics
    args.out.mkdir(parents=True, exist_ok=True)
    rows = growth_rows(recipe)
    plot_strip(rows, args.out / "progan_growth.png")
    print(f"wrote {args.out / 'progan_growth.png'} (rows: {', '.join(f'{r}x{r}' for r in sorted(rows))}; "
          f"checkpoint at level {recipe.level}, alpha {recipe.alpha:g}, step {meta['step']})")
    batch_size = meta["loader"]["batch_size"]
    records = read_metrics(Path(args.checkpoint).parent / "metrics.jsonl")
    evals = plot_fid(records, recipe.schedule, batch_size, args.out / "progan_fid.png")
    print(f"wrote {args.out / 'progan_fid.png'}")
    for images, fid in evals:
        level, alpha = recipe.schedule.at(max(0, images - batch_size))
        print(f"  {images:>7} images  level {level} ({4 * 2 ** level}x{4 * 2 ** level}), alpha {alpha:.3f}: "
              f"FID {fid:.1f}")


if __name__ == "__main__":
    main()
