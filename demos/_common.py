"""What the demos share: loading a run's checkpoint with a clear message when it is missing."""

from __future__ import annotations

import sys
from pathlib import Path


def load_checkpoint_or_exit(checkpoint, variant, device=None, train_flags=""):
    """The recipe of ``checkpoint`` (via ``tinygan.cli.load_run``), in eval mode; exits with the
    `tinygan train` command that makes the checkpoint when it is missing or of another variant."""
    from tinygan.cli import load_run
    checkpoint = Path(checkpoint)
    command = f"tinygan train {variant}{' ' + train_flags if train_flags else ''} --out {checkpoint.parent}"
    if not checkpoint.exists():
        sys.exit(f"error: no checkpoint at {checkpoint}.\nMake one with:\n    {command}\n"
                 f"or pass the path of an existing {variant} checkpoint.")
    recipe, meta = load_run(checkpoint, device)
    if recipe.name != variant:
        sys.exit(f"error: {checkpoint} is a {recipe.name} run; this demo needs a {variant} run:\n    {command}")
    return recipe, meta


def add_common_args(parser, variant, out):
    parser.add_argument("checkpoint", nargs="?", type=Path, default=Path("runs") / variant / "checkpoint.npz",
                        help=f"a {variant} checkpoint (default: runs/{variant}/checkpoint.npz)")
    parser.add_argument("--out", type=Path, default=Path(out), help=f"directory for the PNGs (default: {out})")
    parser.add_argument("--seed", type=int, default=0, help="fixes the latent draws (default 0)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: $TINYGAN_DEVICE or cpu")


def save_figure(fig, path, dpi=80):
    """Lay out ``fig``, write it to ``path`` (making its folder), close it and say where it went."""
    import matplotlib.pyplot as plt
    path = Path(path)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"wrote {path}")
    return path
