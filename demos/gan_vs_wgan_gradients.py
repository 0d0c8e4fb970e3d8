"""GAN vs WGAN gradients on two separated Gaussians (the seed chapter's figure 6.15, from the WGAN paper).

The data: the real samples from N(-2, 0.3^2), the fakes from N(2, 0.3^2) -- together a bimodal
Gaussian, one mode real and one fake, with almost no overlap (as early in training, when G's
samples are far from the data). Two 1-D networks of the same MLP shape are trained to
convergence on them:

    GAN discriminator  BCE, maximise E log D(x) + E log(1 - D(G(z)))  (Adam)
    WGAN critic        maximise E f(x) - E f(G(z)) with every weight clipped to [-c, c]  (RMSprop)

What the generator gets is the derivative of its cost with respect to its sample x, at the
fakes. The discriminator saturates: D(x) is ~0 on the whole fake mode, so the minimax cost
log(1 - D(x)) is flat there and its gradient vanishes (the non-saturating -log D(x) keeps a
gradient, but one that only points along the logit, which is flat too once the logit saturates
far from the boundary). The clipped critic stays near-linear between the modes and gives every
fake the same usable slope, pointing towards the data. The PNG plots D(x) and f(x) (rescaled
to [0, 1]) and |d cost / dx|; the script prints those gradients at the fake mode, computed by
tinygan's autograd with respect to the input.

    python demos/gan_vs_wgan_gradients.py --out demos_out     # ~1 min on one core
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tinygan as tg
from tinygan import nn
from tinygan.gan import losses
from tinygan.optim import Adam, RMSprop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_figure  # noqa: E402

REAL, FAKE, SD = -2.0, 2.0, 0.3


def mlp(width=64):
    return nn.Sequential(nn.Linear(1, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                         nn.Linear(width, 1))


def batches(rng, n):
    real = (REAL + SD * rng.standard_normal((n, 1))).astype(np.float32)
    fake = (FAKE + SD * rng.standard_normal((n, 1))).astype(np.float32)
    return tg.Tensor(real), tg.Tensor(fake)


FAKE_PROBE = np.linspace(FAKE - 2 * SD, FAKE + 2 * SD, 41)


def fake_mode_gradient(cost_of_output, net):
    """Mean |d cost / dx| over the fake mode (x within 2 sd of its centre)."""
    return float(np.abs(value_and_input_grad(cost_of_output, net, FAKE_PROBE)[1]).mean())


def train_gan_d(rng, args, trace):
    D = mlp()
    opt = Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    for step in range(args.steps):
        if step % args.trace_every == 0:
            trace.append((step, fake_mode_gradient(MINIMAX, D), fake_mode_gradient(NONSAT, D)))
        real, fake = batches(rng, args.batch_size)
        loss = losses.d_loss_bce(D(real), D(fake))
        D.zero_grad()
        loss.backward()
        opt.step()
    return D


def train_critic(rng, args, trace):
    f = mlp()
    opt = RMSprop(f.parameters(), lr=args.critic_lr)

    def clip():
        for p in f.parameters():
            np.clip(p.data, -args.clip, args.clip, out=p.data)
    clip()
    for step in range(args.steps):
        if step % args.trace_every == 0:
            trace.append((step, fake_mode_gradient(CRITIC, f)))
        real, fake = batches(rng, args.batch_size)
        loss = losses.d_loss_wasserstein(f(real), f(fake))
        f.zero_grad()
        loss.backward()
        opt.step()
        clip()
    return f


MINIMAX = lambda l: -tg.softplus(l)       # noqa: E731  log(1 - D) in the logit
NONSAT = lambda l: tg.softplus(-l)        # noqa: E731  -log D
CRITIC = lambda s: -s                     # noqa: E731  the WGAN generator's -f


def value_and_input_grad(cost_of_output, net, x):
    """cost(net(x)) for each x, and d cost / dx by autograd (each x its own sample: sum, not mean)."""
    xt = tg.Tensor(x.astype(np.float32)[:, None], requires_grad=True)
    out = net(xt)
    cost = cost_of_output(out)
    cost.sum().backward()
    return out.numpy()[:, 0].astype(np.float64), xt.grad.numpy()[:, 0].astype(np.float64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demos_out"))
    parser.add_argument("--steps", type=int, default=2000, help="training steps of each network (default 2000)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3, help="the discriminator's Adam learning rate")
    parser.add_argument("--critic-lr", type=float, default=5e-4, help="the critic's RMSprop learning rate")
    parser.add_argument("--clip", type=float, default=0.01, help="the critic's weight clipping (the paper's 0.01)")
    parser.add_argument("--trace-every", type=int, default=50, help="steps between gradient measurements")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    trace_d, trace_f = [], []
    D = train_gan_d(rng, args, trace_d)
    f = train_critic(rng, args, trace_f)
    trace_d.append((args.steps, fake_mode_gradient(MINIMAX, D), fake_mode_gradient(NONSAT, D)))
    trace_f.append((args.steps, fake_mode_gradient(CRITIC, f)))
    trace_d, trace_f = np.array(trace_d), np.array(trace_f)

    x = np.linspace(-4, 4, 801)
    logits, g_minimax = value_and_input_grad(MINIMAX, D, x)
    _, g_ns = value_and_input_grad(NONSAT, D, x)
    scores, g_w = value_and_input_grad(CRITIC, f, x)
    d = 1 / (1 + np.exp(-logits))
    at_fake = np.abs(x - FAKE) < 2 * SD
    at_real = np.abs(x - REAL) < 2 * SD
    print(f"real N({REAL}, {SD}^2), fake N({FAKE}, {SD}^2); each network trained {args.steps} steps:")
    print(f"  GAN D: mean D(x) on the real mode {d[at_real].mean():.4f}, on the fake mode {d[at_fake].mean():.2e}")
    print(f"  |d cost / dx| on the fake mode (x within 2 sd of {FAKE}), mean [min, max]:")
    for name, g in (("GAN, minimax log(1 - D)", g_minimax), ("GAN, non-saturating -log D", g_ns),
                    ("WGAN critic, -f", g_w)):
        a = np.abs(g[at_fake])
        sign = "towards the data" if np.all(g[at_fake] > 0) else "mixed directions"
        print(f"    {name:<28}{a.mean():.3e}  [{a.min():.3e}, {a.max():.3e}]  ({sign})")
    print("  mean |d cost / dx| on the fake mode while each network trains, relative to its value at step "
          f"{args.trace_every}:")
    for name, steps, g in (("GAN, minimax", trace_d[:, 0], trace_d[:, 1]), ("GAN, non-saturating", trace_d[:, 0],
                           trace_d[:, 2]), ("WGAN critic", trace_f[:, 0], trace_f[:, 1])):
        picks = [i for i in range(1, len(steps)) if steps[i] in (args.trace_every, args.steps // 4, args.steps // 2,
                                                                   args.steps)]
        print(f"    {name:<22}" + "  ".join(f"step {int(steps[i])}: {g[i] / g[1]:.3g}" for i in picks))
    ratio = np.abs(g_w[at_fake]).mean() / max(np.abs(g_w).max(), 1e-30)
    print(f"  the critic's slope on the fake mode is {ratio:.2f} of its largest anywhere in [-4, 4]")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    ax = axes[0]
    dens = lambda m: np.exp(-0.5 * ((x - m) / SD) ** 2)  # noqa: E731
    ax.fill_between(x, dens(REAL), color="tab:blue", alpha=0.2, label="real")
    ax.fill_between(x, dens(FAKE), color="tab:green", alpha=0.2, label="fake")
    ax.plot(x, d, color="tab:red", label="GAN discriminator D(x)")
    ax.plot(x, (scores - scores.min()) / (scores.max() - scores.min()), color="tab:cyan",
            label="WGAN critic f(x), rescaled")
    ax.set(xlabel="x", title="trained on two separated Gaussians")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(x, np.abs(g_minimax) + 1e-12, color="tab:red", label="GAN, minimax")
    ax.plot(x, np.abs(g_ns) + 1e-12, color="tab:orange", label="GAN, non-saturating")
    ax.plot(x, np.abs(g_w) / np.abs(g_w).max(), color="tab:cyan", label="WGAN critic (/ its max)")
    ax.axvspan(FAKE - 2 * SD, FAKE + 2 * SD, color="tab:green", alpha=0.1)
    ax.set(xlabel="x", ylabel="|d cost / dx|", yscale="log", ylim=(1e-8, 10),
           title="the generator's gradient (fake mode shaded)")
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(trace_d[1:, 0], trace_d[1:, 1] / trace_d[1, 1], color="tab:red", label="GAN, minimax")
    ax.plot(trace_d[1:, 0], trace_d[1:, 2] / trace_d[1, 2], color="tab:orange", label="GAN, non-saturating")
    ax.plot(trace_f[1:, 0], trace_f[1:, 1] / trace_f[1, 1], color="tab:cyan", label="WGAN critic")
    ax.set(xlabel="training step of D / critic", ylabel=f"gradient at the fakes / at step {args.trace_every}",
           yscale="log", title="as D trains, its gradient vanishes")
    ax.legend(fontsize=7)
    save_figure(fig, args.out / "gan_vs_wgan_gradients.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
