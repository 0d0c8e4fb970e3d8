"""Draw the two autograd graphs of the tour (docs/graph_*.png, and .dot text).

    python scripts/draw_graphs.py [--out docs] [--batch 64]

1. A DCGAN generator step: the graph ``loss.backward()`` walks when G learns, through D
   (one box per layer; its parameters inside the box).
2. WGAN-GP's gradient penalty: the critic's forward, then (orange) the ops its backward
   recorded under ``create_graph=True``, then the norm: what the penalty differentiates.
"""

import argparse
from pathlib import Path

import numpy as np

import tinygan as tg
from tinygan.gan.dcgan import DCGAN
from tinygan.gan.losses import gradient_penalty
from tinygan.gan.wgan_gp import WGANGP
from tinygan.graph import record_modules
from tinygan.viz import draw_graph


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    tg.manual_seed(0)
    n = args.batch

    dcgan = DCGAN()
    with record_modules():
        loss, _ = dcgan.g_loss(n, None)
    g = draw_graph(loss, args.out / "graph_dcgan_step.png", modules=dcgan.networks(), dot=True,
                   title="DCGAN, the generator's step:\nloss = -E log D(G(z)) = mean(softplus(-D(G(z))))")
    print(f"{args.out / 'graph_dcgan_step.png'}: {len(g.nodes)} nodes, {len(g.edges)} edges")

    wgan = WGANGP()
    real = tg.Tensor(np.zeros((n, 1, 28, 28), np.float32))
    with record_modules():
        gp = gradient_penalty(wgan.D, real, wgan.draw_fakes(n))
    g = draw_graph(gp, args.out / "graph_wgan_gp_penalty.png", modules=wgan.networks(), dot=True,
                   title="WGAN-GP's penalty E (||grad D(x_hat)||_2 - 1)^2:\nD's forward, D's backward (create_graph), the norm")
    print(f"{args.out / 'graph_wgan_gp_penalty.png'}: {len(g.nodes)} nodes, {len(g.edges)} edges")


if __name__ == "__main__":
    main()
