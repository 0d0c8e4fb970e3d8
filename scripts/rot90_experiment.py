"""Why do DiscoGAN and CycleGAN fail on ``rot90``? Three measurements instead of a guess.

    python scripts/rot90_experiment.py [--runs runs] [--n 2000] [--out runs/rot90_experiment.json]

On ``negative`` both models learn the true map; on ``rot90`` (B = MNIST rotated by 90 degrees)
their cycles close while the digit survives only at chance level. Two explanations compete:

* **the generator cannot express a rotation**: an output pixel of G depends only on the input
  pixels in its receptive field, and a rotation copies each pixel from across the image;
* **the losses do not ask for it**: a pair of maps that hides the digit in G_AB(x) in a form G_BA
  can decode satisfies the cycle loss as well as the rotation does, and the GAN loss only asks
  that G_AB(x) look like *some* rotated digit.

For DiscoGAN and CycleGAN (each with the networks and budget of its row in budgets.json) this
script measures, with ``tinygan.metrics.mapping``:

1. **reach**: the fraction of G_AB's output pixels whose rot90 source pixel is in their receptive
   field (1.0 for a pixelwise T such as negative). Below 1, the rotation is out of G's reach there.
2. **what the trained model learned** (the checkpoint of the row ``MODEL_rot90`` in --runs, with
   the running average of G where the run kept one): the digit of x against the digit read in
   G_AB(x) through T^-1 (preserved; consistency: how well one digit-to-digit relabelling explains
   it), the digit read back after the cycle G_BA(G_AB(x)) (is the digit still *in* G_AB(x)?), and
   G_AB(x)'s pixel correlation with x and with T(x) (a local map, or the rotation?).
3. **a supervised control**: the same G_AB, from the same initial weights, trained for the row's
   steps and batch on the *true* pairs (x, T(x)) with an L1 loss, then read the same way. If it
   learns the rotation, the architecture can express it and the unpaired losses are to blame; if
   it cannot, no loss would have made the model rotate.

The same control on ``negative`` shows what a reachable map gives in that budget.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = ("discogan", "cyclegan")


def read_digits(model, images):
    """The MNIST classifier's digits for images (N, 1, 28, 28) in [-1, 1]."""
    from tinygan.metrics.classifier import features_and_probs
    return features_and_probs(images, model=model)[1].argmax(axis=1)


def learned_map(recipe, images_u8, labels):
    """What a trained translation model does to test digits (measures of tinygan.metrics.mapping)."""
    from tinygan.data.two_domain import to_unit_range
    from tinygan.metrics.classifier import load_classifier
    from tinygan.metrics.mapping import class_mapping, pixel_correlation
    from tinygan.tensor import no_grad
    model, T = load_classifier(recipe.device), recipe.domain
    x = to_unit_range(images_u8, recipe.device)
    with no_grad():
        fake_b = recipe.G_AB(x)
        back = recipe.G_BA(fake_b)
    read_b = read_digits(model, T.view(fake_b.data))
    return {
        "preserved_in_b": class_mapping(labels, read_b)["preserved"],
        "relabelling_consistency": class_mapping(labels, read_b)["consistency"],
        "preserved_through_cycle": class_mapping(labels, read_digits(model, back.data))["preserved"],
        "read_as_is": class_mapping(labels, read_digits(model, fake_b.data))["preserved"],
        "correlation_with_x": pixel_correlation(fake_b, x),
        "correlation_with_T(x)": pixel_correlation(fake_b, T(x.data)),
        "mapping": class_mapping(labels, read_b)["mapping"],
    }


def supervised_control(recipe_cls, options, steps, batch_size, images_u8, test_u8, test_labels, seed=0, log=print):
    """G_AB of a fresh recipe (seed ``seed``: the run's initial weights) trained on true pairs
    (x, T(x)) of the training half A with L1; its preservation and L1 to T(x) on test digits."""
    import tinygan
    from tinygan import backend
    from tinygan.data import DataLoader
    from tinygan.data.two_domain import to_unit_range
    from tinygan.metrics.classifier import load_classifier
    from tinygan.metrics.mapping import class_mapping
    from tinygan.ops import abs, mean
    from tinygan.optim import Adam
    from tinygan.tensor import Tensor, no_grad
    tinygan.manual_seed(seed)
    recipe = recipe_cls(recipe_cls.Config(**options))
    G, T, c = recipe.G_AB, recipe.domain, recipe.config
    opt = Adam(G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
    loader = DataLoader(images_u8, batch_size=batch_size, seed=seed)
    step = 0
    while step < steps:
        for x, _ in loader:
            loss = mean(abs(G(x) - Tensor(T(x.data))))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 100 == 0 or step == steps:
                log(f"  supervised {T.name}: step {step}/{steps}  L1 {loss.item():.4f}")
            if step == steps:
                break
    G.eval()
    x = to_unit_range(test_u8, recipe.device)
    with no_grad():
        y = G(x)
    model = load_classifier(recipe.device)
    return {"l1_to_T(x)": float(np.abs(y.numpy() - backend.to_numpy(T(x.data))).mean()),
            "preserved_in_b": class_mapping(test_labels, read_digits(model, T.view(y.data)))["preserved"]}


def main(argv=None):
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from reproduce_results import load_budgets
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="where the rows' runs are (default runs)")
    parser.add_argument("--n", type=int, default=2000, help="test digits to measure on (default 2000)")
    parser.add_argument("--steps", type=int, default=None, help="supervised steps (default: the row's budget)")
    parser.add_argument("--models", default=",".join(MODELS), help="which of discogan,cyclegan")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="the JSON (default RUNS/rot90_experiment.json)")
    args = parser.parse_args(argv)
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    import tinygan
    from tinygan.cli import build_parser, load_run
    from tinygan.data import load_mnist
    from tinygan.data.domains import get_domain
    from tinygan.gan.registry import get_recipe
    from tinygan.metrics.mapping import receptive_field_reach
    train_u8, _ = load_mnist("train", root=args.data)
    test_u8, test_labels = load_mnist("test", root=args.data)
    test_u8, test_labels = test_u8[:args.n], test_labels[:args.n]
    _, rows = load_budgets()
    results = {}
    for model in args.models.split(","):
        row = next(r for r in rows if r["name"] == f"{model}_rot90")
        parsed = build_parser(model).parse_args(["train", model, *row["args"]])
        options = {k[len("recipe_"):]: v for k, v in vars(parsed).items() if k.startswith("recipe_")}
        cls = get_recipe(model)
        tinygan.manual_seed(0)
        fresh = cls(cls.Config(**options))
        out = {"reach_rot90": receptive_field_reach(fresh.G_AB, get_domain("rot90")),
               "reach_negative": receptive_field_reach(fresh.G_AB, get_domain("negative"))}
        log(f"{model}: reach {out['reach_rot90']['reach']:.3f} (rot90), {out['reach_negative']['reach']:.3f} (negative)")
        checkpoint = args.runs / row["name"] / "checkpoint.npz"
        if checkpoint.exists():
            recipe, meta = load_run(checkpoint)
            out["learned"] = {"step": meta.get("step"), "weights": meta.get("weights"),
                              **learned_map(recipe, test_u8, test_labels)}
            log(f"{model}: learned map {out['learned']}")
        else:
            log(f"{model}: no checkpoint at {checkpoint} (train the row first): the learned map is not measured")
        half = len(train_u8) // 2
        steps = args.steps or row["steps"]
        for domain in ("rot90", "negative"):
            out[f"supervised_{domain}"] = supervised_control(
                cls, {**options, "domain_b": domain}, steps, row["batch_size"], train_u8[:half], test_u8,
                test_labels, log=log)
            log(f"{model}: supervised on {domain}: {out[f'supervised_{domain}']}")
        out["supervised_steps"], out["batch_size"] = steps, row["batch_size"]
        results[model] = out
    print(table(results))
    path = args.out or args.runs / "rot90_experiment.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {path}")
    return 0


def table(results):
    lines = ["| model | reach rot90 | receptive field (px) | learned: preserved in B | relabelling | through the cycle "
             "| corr. with x | corr. with T(x) | supervised rot90: preserved / L1 | supervised negative: preserved / L1 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for model, r in results.items():
        learned = r.get("learned")
        cells = ["-"] * 5 if learned is None else [
            f"{learned['preserved_in_b']:.3f}", f"{learned['relabelling_consistency']:.3f}",
            f"{learned['preserved_through_cycle']:.3f}", f"{learned['correlation_with_x']:.3f}",
            f"{learned['correlation_with_T(x)']:.3f}"]
        sup = [f"{r[k]['preserved_in_b']:.3f} / {r[k]['l1_to_T(x)']:.3f}" for k in ("supervised_rot90",
                                                                                   "supervised_negative")]
        lines.append(f"| {model} | {r['reach_rot90']['reach']:.3f} | {r['reach_rot90']['receptive_field_pixels']:.0f} | "
                     + " | ".join(cells + sup) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
