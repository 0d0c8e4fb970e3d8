"""Pictures: sample grids and loss curves (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tinygan import backend
from tinygan.data.atomic import atomic_write


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _atomic_savefig(fig, path):
    """Save ``fig`` to ``path`` whole or not at all (a temporary file, removed on any failure)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a file name such as {path / 'samples.png'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=100, bbox_inches="tight")


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
    try:
        _atomic_savefig(fig, path)
    finally:
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


_GRAPH_KINDS = {"input": "input (a leaf)", "param": "parameter (a leaf)", "op": "one Function",
                "module": "a module's forward (one box)", "backward": "∂: ops that module's backward recorded"}


def draw_graph(outputs, path, modules=None, collapse="layers", title=None, dot=False, values=False, grads=False):
    """Draw the recorded autograd graph of ``outputs`` (a Tensor or a list) with matplotlib.

    One box per Function (its name and output shape) or, with ``collapse``, per module call
    (see ``tinygan.graph``: run the forward pass inside ``record_modules()`` for that); leaves
    as grey boxes (yellow: parameters, named by their path in ``modules={"G": G, "D": D}``);
    orange: what a collapsed module's backward recorded under ``create_graph=True``. Arrows
    run from inputs to the Function that used them, top to bottom. ``values=True`` adds each
    node's value ("data"), ``grads=True`` the gradient of the output (a loss) with respect to it
    ("grad"), micrograd-style; the graph is left as it was, so ``backward()`` can follow. With
    ``dot=True`` the DOT text is also written next to the picture (``path`` with the suffix
    .dot). Returns the Graph. No Graphviz needed.
    """
    from tinygan.graph import GRAPH_COLORS as _GRAPH_COLORS, build_graph, layered_layout, node_lines
    graph = build_graph(outputs, modules=modules, collapse=collapse, values=values, grads=grads)
    pos = layered_layout(graph)
    plt = _pyplot()
    from matplotlib.patches import FancyBboxPatch

    most = max(len(node_lines(n)) for n in graph.nodes.values())
    extra = max(0, most - 3)  # lines beyond title, shape and detail (values, gradients)
    col_w, row_h = 2.9, 0.85 + 0.22 * extra  # inches per column and per row
    cols = [c for c, _ in pos.values()]
    n_rows = max(r for _, r in pos.values()) + 1
    left, right = min(cols), max(cols)
    width = (right - left + 1) * col_w + 1.2
    height = n_rows * row_h + (0.5 if title else 0.2) + 0.75
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(left - 0.5 - 0.6 / col_w, right + 0.5 + 0.6 / col_w)
    ax.set_ylim(n_rows - 0.4 + 0.75 / row_h, -0.6 - (0.5 / row_h if title else 0))
    ax.axis("off")
    box_w, box_h = 0.86, 0.66 + 0.2 * extra / (1 + 0.26 * extra)

    def xy(key):
        c, r = pos[key]
        return c, r

    for a, b in graph.edges:
        (xa, ya), (xb, yb) = xy(a), xy(b)
        span = yb - ya
        start = (xa, ya + box_h / 2)
        end = (xb, yb - box_h / 2)
        if span > 1:  # a long edge leaves and enters by the sides facing it and bows out around the boxes between
            side = -1 if xa <= xb else 1
            start, end = (xa + side * box_w / 2, ya), (xb + side * box_w / 2, yb)
            style = f"arc3,rad={-side * min(0.15 + 0.4 * abs(xa - xb) / span, 0.5):.2f}"
        else:
            style = "arc3,rad=0"
        ax.annotate("", xy=end, xytext=start, xycoords="data",
                    arrowprops=dict(arrowstyle="-|>", color="#555555", lw=0.9, shrinkA=0, shrinkB=1,
                                    connectionstyle=style, mutation_scale=9))
    for key, node in graph.nodes.items():
        x, y = xy(key)
        patch = FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h, boxstyle="round,pad=0,rounding_size=0.08",
                               facecolor=_GRAPH_COLORS[node.kind], edgecolor="#222222" if node.is_output else "#777777",
                               linewidth=2.2 if node.is_output else 0.8, mutation_aspect=row_h / col_w)
        ax.add_patch(patch)
        lines = node_lines(node)
        if len(lines) > 3 or extra:  # values and gradients: evenly spaced lines
            step = 0.8 * box_h / len(lines)
            for i, line in enumerate(lines):
                style = dict(fontsize=9, fontweight="bold") if i == 0 else dict(fontsize=8)
                if line.startswith(("data ", "grad ")):
                    style = dict(fontsize=7.5, family="monospace", color="#1f3f7a" if line[0] == "d" else "#8a2b0c")
                ax.text(x, y + (i - (len(lines) - 1) / 2) * step, line, ha="center", va="center", **style)
            continue
        ax.text(x, y - 0.17 if len(lines) > 2 else y - 0.1, lines[0], ha="center", va="center", fontsize=9,
                fontweight="bold")
        if len(lines) > 1:
            ax.text(x, y + 0.07 if len(lines) > 2 else y + 0.14, lines[1], ha="center", va="center", fontsize=8)
        if len(lines) > 2:
            ax.text(x, y + 0.24, lines[2], ha="center", va="center", fontsize=7, color="#444444", style="italic")
    if title:
        ax.text((left + right) / 2, -0.55 - 0.25 / row_h, title, ha="center", va="center", fontsize=11)
    kinds = [k for k in _GRAPH_KINDS if any(n.kind == k for n in graph.nodes.values())]
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(facecolor=_GRAPH_COLORS[k], edgecolor="#777777", label=_GRAPH_KINDS[k]) for k in kinds],
              loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=1 if width < 5 else 2, fontsize=7, frameon=False)
    _atomic_savefig(fig, path)
    plt.close(fig)
    if dot:
        Path(path).with_suffix(".dot").write_text(graph.to_dot())
    return graph


def save_progress_gif(frames, out_path, max_frames=60, frame_ms=250, last_ms=2000):
    """An animated GIF of the PNG files ``frames`` (sample grids in training order), written
    atomically: at most ``max_frames`` of them, evenly spaced, the last always included, each
    shown ``frame_ms`` and the last ``last_ms``. Frames of different sizes (a longer title) are
    placed on a white canvas of the largest size. Pillow comes with matplotlib."""
    from PIL import Image
    frames = list(frames)
    if not frames:
        return
    if len(frames) > max_frames:
        picks = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        frames = [frames[i] for i in sorted(set(picks.tolist()))]
    images = []
    for path in frames:
        with Image.open(path) as im:
            images.append(im.convert("L"))
    width, height = max(im.width for im in images), max(im.height for im in images)
    canvases = []
    for im in images:
        canvas = Image.new("L", (width, height), 255)
        canvas.paste(im, ((width - im.width) // 2, 0))
        canvases.append(canvas)
    with atomic_write(out_path) as f:
        canvases[0].save(f, format="GIF", save_all=True, append_images=canvases[1:], loop=0,
                         duration=[frame_ms] * (len(canvases) - 1) + [last_ms])
