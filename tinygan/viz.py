"""Pictures: sample grids and loss curves (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from tinygan import backend


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _atomic_savefig(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=100, bbox_inches="tight")
    os.replace(tmp, path)


def grid_image(images, nrow=None, pad=2):
    """Tile images (N, 1, H, W) or (N, H, W) with values in [-1, 1] into one (rows*H, cols*W)
    array in [0, 1], ``nrow`` images per row (default: a square)."""
    images = np.asarray(backend.to_numpy(images), dtype=np.float32)  # device arrays come to the host
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"images: expected one channel, got shape {images.shape}")
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images: expected shape (N, 1, H, W) or (N, H, W), got {images.shape}")
    n, h, w = images.shape
    cols = nrow or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate(np.clip((images + 1) / 2, 0, 1)):
        r, c = divmod(i, cols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = img
    return grid


def save_grid(images, path, nrow=None, title=None):
    """Save a grid of generated images (values in [-1, 1]) as a PNG."""
    plt = _pyplot()
    grid = grid_image(images, nrow)
    fig = plt.figure(figsize=(grid.shape[1] / 40, grid.shape[0] / 40 + (0.4 if title else 0)))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    _atomic_savefig(fig, path)
    plt.close(fig)


def read_metrics(path):
    """The records of a metrics.jsonl file, as a list of dicts."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_losses(metrics_path, out_path, title=None):
    """Plot every loss-like series of a metrics.jsonl file against the step."""
    records = [r for r in read_metrics(metrics_path) if "it_per_s" in r]
    if not records:
        return
    skip = {"step", "epoch", "time", "it_per_s"}
    keys = [k for k in records[0] if k not in skip]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = [r["step"] for r in records]
    for k in keys:
        ax.plot(steps, [r.get(k, np.nan) for r in records], label=k, linewidth=1.2)
    ax.set_xlabel("generator step")
    ax.set_ylabel("value (mean over the logging interval)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=min(len(keys), 4))
    if title:
        ax.set_title(title)
    _atomic_savefig(fig, out_path)
    plt.close(fig)
