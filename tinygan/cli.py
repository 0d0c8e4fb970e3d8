"""The ``tinygan`` command (also ``python -m tinygan``).

    tinygan list [--verbose [VARIANT ...]]        the GAN variants (with -v: each one's card)
    tinygan train VARIANT [options]               train on MNIST (fetched on first use)
    tinygan sample CHECKPOINT --n 64 --out grid.png [--label 3]
    tinygan eval CHECKPOINT [--n 10000]           FID, classifier score, mode coverage (JSON)

Each variant's own options (its Config dataclass) become flags of ``train``: for example
``tinygan train vanilla --g-cost minimax`` or ``tinygan train dcgan --generator transposed``;
``tinygan train VARIANT --help`` lists them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 1, 2, 3


def _flag(name):
    return "--" + name.replace("_", "-")


def _add_recipe_options(parser, recipe_cls):
    group = parser.add_argument_group(f"{recipe_cls.name} options ({recipe_cls.Config.__name__})")
    for f in dataclasses.fields(recipe_cls.Config):
        default = f.default
        kind = type(default)
        note = f.metadata.get("help", "")
        text = f"{note} (default: {default})" if note else f"(default: {default})"
        if kind is bool:
            group.add_argument(_flag(f.name), dest=f"recipe_{f.name}", type=_parse_bool, default=default,
                               metavar="{true,false}", help=text)
        else:
            group.add_argument(_flag(f.name), dest=f"recipe_{f.name}", type=kind, default=default, help=text)


def _parse_bool(text):
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


class _HelpVariant(argparse.Action):
    """``--help-variant NAME``: print the card and exit, like --help (before the variant is required)."""

    def __call__(self, parser, namespace, value, option_string=None):
        from tinygan.gan.card import recipe_card
        from tinygan.gan.registry import get_recipe
        print(recipe_card(get_recipe(value)))
        parser.exit()


def build_parser(variant=None):
    from tinygan.gan.registry import RECIPES
    parser = argparse.ArgumentParser(prog="tinygan", description="Train and sample GANs on MNIST, built on NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="{list,train,sample,eval}")
    sub.required = True

    listing = sub.add_parser("list", help="list the GAN variants")
    listing.add_argument("--verbose", "-v", action="store_true",
                         help="print each variant's card: paper, losses, networks layer by layer, optimizers, schedule")
    listing.add_argument("names", nargs="*", metavar="VARIANT", help="only these variants (default: all)")

    train = sub.add_parser("train", help="train a GAN variant on MNIST")
    train.add_argument("variant", choices=sorted(RECIPES), help="which GAN (see `tinygan list`)")
    train.add_argument("--help-variant", action=_HelpVariant, choices=sorted(RECIPES), metavar="NAME",
                       help="print the card of variant NAME (paper, losses, networks, optimizers, schedule) and exit")
    train.add_argument("--epochs", type=float, default=None,
                       help="passes over the 60,000 images (default: the variant's own schedule, else 5)")
    train.add_argument("--steps", type=_positive_int, default=None, help="generator steps (overrides --epochs)")
    train.add_argument("--batch-size", type=_positive_int, default=64, help="(default 64)")
    train.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: $TINYGAN_DEVICE or cpu")
    train.add_argument("--seed", type=int, default=0, help="fixes weights, noise and data order (default 0)")
    train.add_argument("--out", type=Path, default=None, help="run directory (default runs/VARIANT)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--data", type=Path, default=None, help="directory with the MNIST files (default: "
                       "$TINYGAN_DATA, the cache, then download)")
    train.add_argument("--log-every", type=_positive_int, default=50)
    train.add_argument("--sample-every", type=_positive_int, default=500)
    train.add_argument("--checkpoint-every", type=_positive_int, default=500)
    train.add_argument("--eval-every", type=int, default=0, help="steps between FID evaluations (0: never)")
    train.add_argument("--eval-samples", type=_positive_int, default=2000, help="samples per evaluation")
    train.add_argument("--d-steps", type=_positive_int, default=None,
                       help="discriminator steps per generator step (default: the variant's own, e.g. wgan's 5)")
    train.add_argument("--schedule", choices=["alternating", "keras"], default="alternating",
                       help="alternating: one D update on the joint real+fake loss per D step (default); keras: the "
                            "seed chapter's Keras loop, a D update on a real batch then one on fakes drawn in "
                            "inference mode, real batches drawn with replacement")
    if variant in RECIPES:
        _add_recipe_options(train, RECIPES[variant])

    sample = sub.add_parser("sample", help="draw a grid of samples from a checkpoint")
    sample.add_argument("checkpoint", type=Path)
    sample.add_argument("--n", type=_positive_int, default=64, help="number of samples (default 64)")
    sample.add_argument("--out", type=Path, default=Path("samples.png"))
    sample.add_argument("--label", type=int, default=None, help="digit to draw (conditional variants)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", choices=["cpu", "cuda"], default=None)

    ev = sub.add_parser("eval", help="FID, classifier score and mode coverage of a checkpoint's samples (JSON)")
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument("--n", type=_positive_int, default=10000, help="number of samples (default 10000)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--device", choices=["cpu", "cuda"], default=None)
    ev.add_argument("--data", type=Path, default=None)
    return parser


def _peek_variant(argv):
    """The variant named after `train`, so that its options can be added before parsing."""
    if len(argv) >= 2 and argv[0] == "train" and not argv[1].startswith("-"):
        return argv[1]
    return None


def load_run(checkpoint, device=None):
    """Rebuild the recipe of a checkpoint (from its metadata) and load its weights."""
    from tinygan.checkpoint import load_checkpoint
    from tinygan.gan.registry import get_recipe
    checkpoint = Path(checkpoint)
    if not checkpoint.exists():
        raise FileNotFoundError(f"checkpoint: no such file: {checkpoint}")
    from tinygan.gan.trainer import join_recipe_state
    meta, arrays = load_checkpoint(checkpoint)
    recipe_cls = get_recipe(meta.get("recipe"))
    config = recipe_cls.Config(**meta["config"])
    recipe = recipe_cls(config, device=device)
    load_checkpoint(checkpoint, recipe.networks())
    recipe.load_state_dict(join_recipe_state(meta.get("recipe_state", {}), arrays))
    for m in recipe.networks().values():
        m.eval()
    return recipe, meta


def cmd_list(args):
    from tinygan.gan.registry import RECIPES, get_recipe
    names = args.names or sorted(RECIPES)
    classes = [get_recipe(name) for name in names]
    if not args.verbose:
        for cls in classes:
            print(f"{cls.name:<12} {cls.paper}")
        return 0
    from tinygan.gan.card import recipe_card
    print("\n\n".join(recipe_card(cls) for cls in classes))
    return 0


def cmd_train(args):
    import tinygan
    from tinygan.data import load_mnist
    from tinygan.gan import TrainConfig, Trainer
    from tinygan.gan.registry import get_recipe

    recipe_cls = get_recipe(args.variant)
    fields = {f.name: getattr(args, f"recipe_{f.name}") for f in dataclasses.fields(recipe_cls.Config)}
    config = recipe_cls.Config(**fields)
    device = args.device or tinygan.get_default_device()
    out = args.out or Path("runs") / args.variant
    tinygan.manual_seed(args.seed)
    images, labels = load_mnist("train", root=args.data)
    recipe = recipe_cls(config, device=device)
    recipe.data_root = args.data
    loader = recipe.make_loader(images, labels, batch_size=args.batch_size, device=device)
    evaluator = None
    if args.eval_every:
        from tinygan.metrics.evaluate import make_evaluator
        evaluator = make_evaluator(n=args.eval_samples, device=device, data=args.data)
    steps, epochs = args.steps, args.epochs
    if steps is None and epochs is None:
        steps = recipe.default_steps(args.batch_size)
    train_config = TrainConfig(epochs=5.0 if epochs is None else epochs, steps=steps, log_every=args.log_every,
                               sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                               eval_every=args.eval_every, d_steps=args.d_steps, schedule=args.schedule)
    trainer = Trainer(recipe, loader, out, train_config, evaluator=evaluator)
    print(recipe.describe(), file=sys.stderr)
    trainer.fit(resume=args.resume)
    print(f"done: {trainer.checkpoint_path}, {out / 'samples.png'}, {out / 'losses.png'}", file=sys.stderr)
    return 0


def cmd_sample(args):
    import tinygan
    from tinygan import backend
    from tinygan.tensor import no_grad
    from tinygan.viz import save_grid
    recipe, meta = load_run(args.checkpoint, args.device)
    tinygan.manual_seed(args.seed)
    labels = None
    if args.label is not None:
        if not recipe.conditional:
            raise ValueError(f"--label: the {recipe.name} variant is not conditional; it takes no label")
        if not 0 <= args.label <= 9:
            raise ValueError(f"--label: expected a digit 0-9, got {args.label}")
        labels = backend.xp_for(recipe.device).full((args.n,), args.label, dtype="int64")
    elif recipe.conditional:
        labels = recipe.random_labels(args.n)
    with no_grad():
        latent = recipe.sample_inputs(args.n, labels)
        images = recipe.sample_images(latent).numpy()
    save_grid(images, args.out, nrow=recipe.grid_columns(latent), title=f"{recipe.name}, step {meta.get('step')}")
    print(f"wrote {args.n} samples to {args.out}", file=sys.stderr)
    return 0


def cmd_eval(args):
    recipe, meta = load_run(args.checkpoint, args.device)
    scores = recipe.evaluate(n=args.n, seed=args.seed, data=args.data)
    scores = {"checkpoint": str(args.checkpoint), "recipe": recipe.name, "step": meta.get("step"), **scores}
    text = json.dumps(scores, indent=2)
    print(text)
    out = Path(args.checkpoint).parent / "eval.json"
    out.write_text(text + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


COMMANDS = {"list": cmd_list, "train": cmd_train, "sample": cmd_sample, "eval": cmd_eval}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    from tinygan.gan.registry import load_user_recipes
    try:
        load_user_recipes()
    except (OSError, ImportError, ValueError, TypeError) as exc:
        print(f"tinygan: error: TINYGAN_RECIPES: {exc}", file=sys.stderr)
        return EXIT_ERROR
    parser = build_parser(_peek_variant(argv))
    args = parser.parse_args(argv)
    from tinygan.gan.trainer import TrainingDiverged
    try:
        return COMMANDS[args.command](args)
    except TrainingDiverged as exc:
        print(f"tinygan: training diverged: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("tinygan: interrupted; run again with --resume to continue from the last checkpoint", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"tinygan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
