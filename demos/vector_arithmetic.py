"""Vector arithmetic on a DCGAN's latent space, the seed's "man with glasses - man + woman".

The DCGAN paper showed that averaged latent vectors of a concept behave like word vectors:
z(smiling woman) - z(neutral woman) + z(neutral man) gives a smiling man. One z is too noisy for
this; the paper (and the seed) averages the z of three samples per concept.

MNIST has no attribute labels, so concepts are defined by what the shipped MNIST classifier
(``tinygan.metrics.classifier``) and a pixel count see in the generator's own samples:

    "7"        three samples the classifier calls a 7 with the highest confidence
    "7:thick"  three confident 7s (p > 0.9) with the most ink (mean brightness): bold strokes
    "7:thin"   three confident 7s with the least ink: thin strokes

From a pool of ``--pool`` random z, the demo picks three z per concept, averages them, and
computes  z = mean(A) - mean(B) + mean(C). The default, thick 7 - thin 7 + thin 1, asks for the
stroke width of A without its digit: a thick 1. ``vector_arithmetic.png`` shows each concept's
three samples and the image of their mean z, then the result and four neighbours of it
(z + N(0, 0.25^2) noise, as in the paper's figure); the script prints what the classifier
and the ink measure say about the result against C's mean. (A mean of three Gaussian z has about
1/sqrt(3) of their norm, so the mean-z images are often fainter than the samples they average.)

    tinygan train dcgan --out runs/dcgan
    python demos/vector_arithmetic.py --a 7:thick --b 7:thin --c 1:thin --out demos_out
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import add_common_args, load_checkpoint_or_exit


def concept(text):
    digit, _, style = text.partition(":")
    if not (digit.isdigit() and len(digit) == 1) or style not in ("", "thick", "thin"):
        raise argparse.ArgumentTypeError(f"expected a digit with an optional :thick or :thin, got {text!r}")
    return int(digit), style


def describe(c):
    return f"{c[1]} {c[0]}" if c[1] else f"{c[0]}"


def ink(images):
    """Mean brightness in [0, 1] of each image (images in [-1, 1])."""
    return ((images.reshape(len(images), -1) + 1.0) / 2.0).mean(axis=1)


def pick(c, probs, amount, k=3, confident=0.9):
    """Indices of k pool samples that show concept c."""
    digit, style = c
    is_digit = probs.argmax(axis=1) == digit
    if not style:
        candidates = np.flatnonzero(is_digit)
        return candidates[np.argsort(-probs[candidates, digit])][:k] if len(candidates) >= k else None
    candidates = np.flatnonzero(is_digit & (probs[:, digit] > confident))
    if len(candidates) < k:
        return None
    order = np.argsort(amount[candidates])
    return candidates[order[-k:] if style == "thick" else order[:k]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, "dcgan", "demos_out")
    parser.add_argument("--a", type=concept, default=(7, "thick"), help="A in A - B + C (default 7:thick)")
    parser.add_argument("--b", type=concept, default=(7, "thin"), help="B (default 7:thin)")
    parser.add_argument("--c", type=concept, default=(1, "thin"), help="C (default 1:thin)")
    parser.add_argument("--pool", type=int, default=2000, help="random z to choose the concepts from (default 2000)")
    args = parser.parse_args(argv)

    from tinygan import backend
    from tinygan.tensor import Tensor, no_grad

    recipe, meta = load_checkpoint_or_exit(args.checkpoint, "dcgan", args.device)
    try:
        from tinygan.metrics.classifier import load_classifier
    except ImportError as exc:
        sys.exit(f"error: this demo needs the MNIST classifier of tinygan.metrics ({exc})")
    model = load_classifier(recipe.device)

    def generate(z):
        with no_grad():
            return recipe.generate((Tensor(backend.to_device(z.astype(np.float32), recipe.device)),)).numpy()

    def classify(images):
        with no_grad():
            logits = backend.to_numpy(model(Tensor(backend.to_device(images, recipe.device))).data).astype(np.float64)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    rng = np.random.default_rng(args.seed)
    pool = rng.standard_normal((args.pool, recipe.config.z_dim)).astype(np.float32)
    images = np.concatenate([generate(pool[i:i + 500]) for i in range(0, args.pool, 500)])
    probs = np.concatenate([classify(images[i:i + 500]) for i in range(0, args.pool, 500)])
    amount = ink(images)

    concepts = {"A": args.a, "B": args.b, "C": args.c}
    chosen, means = {}, {}
    for name, c in concepts.items():
        idx = pick(c, probs, amount)
        if idx is None:
            sys.exit(f"error: fewer than 3 samples of the pool show '{describe(c)}' (the generator may not draw "
                     f"that digit confidently yet): try a larger --pool, another concept, or a longer-trained run")
        chosen[name], means[name] = idx, pool[idx].mean(axis=0)
    result = means["A"] - means["B"] + means["C"]
    neighbours = result + 0.25 * rng.standard_normal((4, recipe.config.z_dim)).astype(np.float32)
    mean_images = generate(np.stack([means[n] for n in concepts]))
    result_images = generate(np.concatenate([result[None], neighbours]))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 5, figsize=(7.5, 6.6))
    rows = [(f"{n}: {describe(c)}", list(images[chosen[n]]) + [mean_images[i]], ["#1", "#2", "#3", "mean z"])
            for i, (n, c) in enumerate(concepts.items())]
    rows.append(("A - B + C", list(result_images), ["result"] + [f"+noise {j}" for j in range(1, 5)]))
    for r, (label, row_images, titles) in enumerate(rows):
        for col in range(5):
            ax = axes[r, col]
            ax.axis("off")
            if col < len(row_images):
                ax.imshow(row_images[col][0], cmap="gray", vmin=-1, vmax=1)
                ax.set_title(titles[col], fontsize=8)
        axes[r, 0].text(-0.15, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=9)
    fig.suptitle(f"dcgan, step {meta.get('step')}: {describe(args.a)} - {describe(args.b)} + {describe(args.c)}")
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "vector_arithmetic.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)

    p_result, p_c = classify(result_images), classify(mean_images[2:3])
    print(f"{'':<22}{'classifier':>12}{'p':>7}{'ink':>8}")
    for name, c, img, p in (("mean z of C", args.c, mean_images[2:3], p_c[0]),
                            ("result A - B + C", None, result_images[:1], p_result[0])):
        print(f"{name:<22}{int(p.argmax()):>12}{p.max():>7.2f}{ink(img)[0]:>8.3f}")
    print(f"neighbours: classified {[int(p.argmax()) for p in p_result[1:]]}, ink "
          + " ".join(f"{v:.3f}" for v in ink(result_images[1:])))
    print(f"ink of the concepts' samples: A {amount[chosen['A']].mean():.3f}  B {amount[chosen['B']].mean():.3f}  "
          f"C {amount[chosen['C']].mean():.3f}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
