"""The optimal discriminator, checked on a 1-D problem whose densities are known.

For a fixed generator, the discriminator that maximises E_x log D(x) + E_z log(1 - D(G(z)))
is, point by point (the seed chapter's equation, Goodfellow et al.'s Proposition 1):

    D*(x) = p_data(x) / (p_data(x) + p_g(x))

Part one: p_data is a mixture 1/2 N(-2, 0.6^2) + 1/2 N(2, 0.6^2), and G is fixed to the affine
map G(z) = 1.5 z (z ~ N(0, 1)), so p_g = N(0, 1.5^2) is known in closed form. An MLP
discriminator (tinygan.nn, the BCE loss of tinygan.gan.losses) is trained to convergence on
fresh samples of both; the PNG plots its D(x) over D*(x), and the script prints the largest and
mean |D - D*| where the samples are (p_data + p_g > 0.01).

Part two, the equilibrium: when p_g = p_data, D* = 1/2 everywhere. (a) The same D is trained
against a "generator" that samples p_data itself: the script prints how far D stays from 1/2.
(b) A whole GAN (a small MLP G, the non-saturating cost) learns p_data = N(2, 0.5^2): the PNG
follows the mean D(G(z)) and D(x) over training, and the script prints them at the end.

    python demos/optimal_discriminator.py --out demos_out      # ~1 min on one core
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tinygan as tg
from tinygan import nn
from tinygan.gan import losses
from tinygan.optim import Adam

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_figure  # noqa: E402


def normal_pdf(x, mu, sd):
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


def p_data(x):
    return 0.5 * normal_pdf(x, -2.0, 0.6) + 0.5 * normal_pdf(x, 2.0, 0.6)


def sample_data(rng, n):
    return (rng.choice([-2.0, 2.0], size=n) + 0.6 * rng.standard_normal(n)).astype(np.float32)[:, None]


G_SCALE = 1.5


def p_g(x):
    return normal_pdf(x, 0.0, G_SCALE)


def mlp(hidden, width=64, in_features=1):
    layers, a = [], in_features
    for _ in range(hidden):
        layers += [nn.Linear(a, width), nn.LeakyReLU(0.2)]
        a = width
    return nn.Sequential(*layers, nn.Linear(a, 1))


def train_d(sample_real, sample_fake, steps, batch, lr):
    """An MLP D trained by BCE on fresh batches for ``steps`` steps (lr halved for the last third)."""
    D = mlp(2)
    opt = Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    for step in range(steps):
        if step == 2 * steps // 3:
            opt.lr = lr / 4
        loss = losses.d_loss_bce(D(tg.Tensor(sample_real(batch))), D(tg.Tensor(sample_fake(batch))))
        D.zero_grad()
        loss.backward()
        opt.step()
    return D


def d_of(D, x):
    with tg.no_grad():
        return 1 / (1 + np.exp(-D(tg.Tensor(x.astype(np.float32)[:, None])).numpy()[:, 0].astype(np.float64)))


def equilibrium_gan(args, rng):
    """A GAN learning N(2, 0.5^2); the mean D(G(z)) and D(x) every ``log`` steps."""
    G, D = mlp(1, 32, in_features=4), mlp(2)   # z is 4-d
    opt_g = Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    trace = []
    for step in range(args.gan_steps):
        real = tg.Tensor((2.0 + 0.5 * rng.standard_normal((args.batch_size, 1))).astype(np.float32))
        with tg.no_grad():
            fake = G(tg.Tensor(tg.random.randn(args.batch_size, 4)))
        real_logits, fake_logits = D(real), D(fake)
        loss_d = losses.d_loss_bce(real_logits, fake_logits)
        D.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.g_loss_nonsaturating(D(G(tg.Tensor(tg.random.randn(args.batch_size, 4)))))
        G.zero_grad()
        D.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step % 50 == 0 or step == args.gan_steps - 1:
            sig = lambda t: float((1 / (1 + np.exp(-t.numpy().astype(np.float64)))).mean())  # noqa: E731
            x = fake.numpy()
            trace.append((step, sig(real_logits), sig(fake_logits), float(x.mean()), float(x.std())))
    return np.array(trace)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demos_out"))
    parser.add_argument("--d-steps", type=int, default=3000, help="steps to train D against the fixed G")
    parser.add_argument("--gan-steps", type=int, default=4000, help="steps of the equilibrium GAN")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    fixed_g = lambda n: (G_SCALE * rng.standard_normal(n)).astype(np.float32)[:, None]  # noqa: E731
    D = train_d(lambda n: sample_data(rng, n), fixed_g, args.d_steps, args.batch_size, args.lr)
    x = np.linspace(-5, 5, 1001)
    d_star = p_data(x) / (p_data(x) + p_g(x))
    d_hat = d_of(D, x)
    where = (p_data(x) + p_g(x)) > 0.01
    err = np.abs(d_hat - d_star)[where]
    print(f"fixed G (p_g = N(0, {G_SCALE}^2)), D trained {args.d_steps} steps of batch {args.batch_size}:")
    print(f"  |D(x) - p_data/(p_data+p_g)| over x in [{x[where].min():.2f}, {x[where].max():.2f}]: "
          f"max {err.max():.3f}, mean {err.mean():.4f}")

    D_eq = train_d(lambda n: sample_data(rng, n), lambda n: sample_data(rng, n), args.d_steps, args.batch_size, args.lr)
    d_eq = d_of(D_eq, x)
    where_eq = p_data(x) > 0.01
    dev = np.abs(d_eq - 0.5)[where_eq]
    print(f"p_g = p_data: D trained the same way stays near 1/2: max |D - 1/2| {dev.max():.3f}, mean {dev.mean():.4f}")

    trace = equilibrium_gan(args, rng)
    last = trace[-1]
    print(f"GAN on N(2, 0.5^2), {args.gan_steps} steps: D(x) {last[1]:.3f}, D(G(z)) {last[2]:.3f} "
          f"(mean over the last 10 logs: {trace[-10:, 1].mean():.3f} / {trace[-10:, 2].mean():.3f}); "
          f"G's samples: mean {last[3]:.2f}, std {last[4]:.2f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    ax = axes[0]
    ax.plot(x, p_data(x), color="black", linestyle="--", label="p_data")
    ax.plot(x, p_g(x), color="tab:green", label="p_g (G fixed)")
    ax.plot(x, d_star, color="tab:blue", linewidth=3, alpha=0.4, label="p_data / (p_data + p_g)")
    ax.plot(x, d_hat, color="tab:blue", linestyle=":", label=f"trained D (max err {err.max():.3f})")
    ax.set(xlabel="x", title="optimal D against a fixed G", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(x, p_data(x), color="black", linestyle="--", label="p_data = p_g")
    ax.plot(x, d_eq, color="tab:blue", linestyle=":", label=f"trained D (max |D-1/2| {dev.max():.3f})")
    ax.axhline(0.5, color="gray", linewidth=0.5)
    ax.set(xlabel="x", title="p_g = p_data: D* = 1/2", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(trace[:, 0], trace[:, 1], label="D(x)")
    ax.plot(trace[:, 0], trace[:, 2], label="D(G(z))")
    ax.axhline(0.5, color="gray", linewidth=0.5)
    ax.set(xlabel="step", title="a GAN on N(2, 0.5^2): D -> 1/2", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    save_figure(fig, args.out / "optimal_discriminator.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
