"""The ``tinygan`` command (also ``python -m tinygan``).

    tinygan list [--verbose [VARIANT ...]]        the GAN variants in curriculum order (with -v: their cards)
    tinygan train VARIANT [options]               train on MNIST (fetched on first use)
    tinygan sample CHECKPOINT --n 64 --out grid.png [--label 3]
    tinygan eval CHECKPOINT [--n 10000] [--out scores.json]   FID, classifier score, mode coverage

Each variant's own options (its Config dataclass) become flags of ``train``: for example
``tinygan train vanilla --g-cost minimax`` or ``tinygan train dcgan --generator transposed``;
``tinygan train VARIANT --help`` lists them.

``train --resume`` continues the run in --out from its checkpoint, which is the run: its recipe
options, seed, batch size and schedule come from the checkpoint, and a flag given with --resume
that disagrees with them is refused. Only the length (--steps, --epochs), the cadence of logs,
samples, evaluations and checkpoints, --device and --data may change. Ctrl-C (or SIGTERM) stops
a run after its current step, saves it, and prints the command that continues it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import signal
import sys
from pathlib import Path

EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 1, 2, 3
MAX_GRID = 10_000   # images `tinygan sample` draws into one grid at most


def _flag(name):
    return "--" + name.replace("_", "-")


def _add_recipe_options(parser, recipe_cls):
    """Each option of the recipe's Config as a flag (dest ``recipe_<field>``). The fields the Config
    lists as ``unused`` are parsed but not shown, so that setting one gets the Config's error."""
    from tinygan.gan.recipe import options
    group = parser.add_argument_group(f"{recipe_cls.name} options ({recipe_cls.Config.__name__})")
    shown = {f.name for f in options(recipe_cls.Config)}
    for f in dataclasses.fields(recipe_cls.Config):
        default = f.default
        kind = type(default)
        note = f.metadata.get("help", "")
        text = f"{note} (default: {default})" if note else f"(default: {default})"
        if f.name not in shown:
            text = argparse.SUPPRESS
        if kind is bool:
            group.add_argument(_flag(f.name), dest=f"recipe_{f.name}", type=_parse_bool, default=default,
                               metavar="{true,false}", help=text)
        else:
            group.add_argument(_flag(f.name), dest=f"recipe_{f.name}", type=kind, default=default,
                               metavar=f.name.upper(), help=text)


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


def _grid_size(text):
    value = _positive_int(text)
    if value > MAX_GRID:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_GRID:,} samples in one grid, got {text}")
    return value


def _positive_number(text):
    value = float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _minutes(text):
    value = float(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of minutes (0: by steps only), got {text}")
    return value


class _HelpVariant(argparse.Action):
    """``--help-variant NAME``: print the card and exit, like --help (before the variant is required)."""

    def __call__(self, parser, namespace, value, option_string=None):
        from tinygan.gan.card import recipe_card
        from tinygan.gan.registry import get_recipe
        print(recipe_card(get_recipe(value)))
        parser.exit()


def build_parser(variant=None, given_only=False):
    """The command's parser; with ``given_only``, ``train`` has no defaults, so that what it
    parses is what the command line gives explicitly."""
    from tinygan.gan.registry import RECIPES
    parser = argparse.ArgumentParser(prog="tinygan", description="Train and sample GANs on MNIST, built on NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="{list,train,sample,eval}")
    sub.required = True

    listing = sub.add_parser("list", help="list the GAN variants, in the order to learn them")
    listing.add_argument("--verbose", "-v", action="store_true",
                         help="print each variant's card: paper, source file, what the paper changes, its tour "
                              "chapter, losses, networks layer by layer with output shapes, optimizers, schedule")
    listing.add_argument("names", nargs="*", metavar="VARIANT", help="only these variants (default: all)")

    train = sub.add_parser("train", help="train a GAN variant on MNIST",
                           epilog="With --resume the run's own settings apply (its recipe options, --seed, "
                                  "--batch-size, --d-steps, --schedule); a different value given with --resume "
                                  "is refused. --steps/--epochs, the cadence flags, --device and --data may "
                                  "change. Ctrl-C saves the run after the current step (twice: stop at once).")
    train.add_argument("variant", choices=sorted(RECIPES), help="which GAN (see `tinygan list`)")
    train.add_argument("--help-variant", action=_HelpVariant, choices=sorted(RECIPES), metavar="NAME",
                       help="print the card of variant NAME (paper, losses, networks, optimizers, schedule) and exit")
    train.add_argument("--epochs", type=_positive_number, default=None,
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
    train.add_argument("--checkpoint-every", type=_positive_int, default=500, help="steps between checkpoints")
    train.add_argument("--checkpoint-minutes", type=_minutes, default=5.0,
                       help="minutes of wall time between checkpoints as well (default 5; 0: by steps only)")
    train.add_argument("--eval-every", type=int, default=0, help="steps between FID evaluations (0: never)")
    train.add_argument("--eval-samples", type=_positive_int, default=2000, help="samples per evaluation")
    train.add_argument("--d-steps", type=_positive_int, default=None,
                       help="discriminator steps per generator step (default: the variant's own, e.g. wgan's 5; "
                            "for a variant with --n-critic, the same number)")
    train.add_argument("--ema", type=float, default=None, metavar="DECAY",
                       help="keep a running average of G's weights with this decay (e.g. 0.999) and sample from it; "
                            "0: off (default: the variant's own: progan 0.999, the others off)")
    train.add_argument("--schedule", choices=["alternating", "keras"], default="alternating",
                       help="alternating: one D update on the joint real+fake loss per D step (default); keras: the "
                            "seed chapter's Keras loop, a D update on a real batch then one on fakes drawn in "
                            "inference mode, real batches drawn with replacement")
    if variant in RECIPES:
        _add_recipe_options(train, RECIPES[variant])
    if given_only:
        for action in train._actions:
            if action.option_strings and action.dest != "help":
                action.default = argparse.SUPPRESS

    sample = sub.add_parser("sample", help="draw a grid of samples from a checkpoint")
    sample.add_argument("checkpoint", type=Path)
    sample.add_argument("--n", type=_grid_size, default=64,
                        help=f"samples to draw (default 64, at most {MAX_GRID:,}); the translation variants "
                             "(discogan, cyclegan) show round(sqrt(N)) test images of each domain, each with its "
                             "translation and reconstruction, and cogan N pairs")
    sample.add_argument("--out", type=Path, default=Path("samples.png"), help="the PNG to write (default samples.png)")
    sample.add_argument("--label", type=int, default=None, help="digit to draw (conditional variants)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", choices=["cpu", "cuda"], default=None)
    sample.add_argument("--raw", action="store_true",
                        help="draw with G's last weights, not their running average (for runs trained with --ema)")

    ev = sub.add_parser("eval", help="FID, classifier score and mode coverage of a checkpoint's samples (JSON)")
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument("--n", type=_positive_int, default=10000, help="number of samples (default 10000)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--device", choices=["cpu", "cuda"], default=None)
    ev.add_argument("--data", type=Path, default=None,
                    help="directory with the MNIST test files, for the variants whose evaluation reads them "
                         "(cogan, discogan, cyclegan); the others' real statistics ship with tinygan")
    ev.add_argument("--out", type=Path, default=None,
                    help="also write the JSON to this file (default: print it only); an evaluation of more "
                         "samples already there is not replaced")
    ev.add_argument("--raw", action="store_true",
                    help="evaluate G's last weights, not their running average (for runs trained with --ema)")
    return parser


def _peek_variant(argv):
    """The variant named after `train`, so that its options can be added before parsing."""
    if len(argv) >= 2 and argv[0] == "train" and not argv[1].startswith("-"):
        return argv[1]
    return None


# ----------------------------------------------------------------------------------------------
# Runs and checkpoints
# ----------------------------------------------------------------------------------------------


def recipe_config(recipe_cls, values, where):
    """``recipe_cls.Config(**values)``, every problem one line naming ``where`` the values came from."""
    if not isinstance(values, dict):
        raise ValueError(f"{where}: no recipe config in its metadata (expected a dict of the {recipe_cls.name} "
                         f"options, got {type(values).__name__})")
    known = {f.name for f in dataclasses.fields(recipe_cls.Config)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where}: its config has option(s) {', '.join(unknown)} that the {recipe_cls.name} recipe "
                         f"does not know (written by another version of tinygan, or edited?)")
    try:
        return recipe_cls.Config(**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: its {recipe_cls.name} config is not valid: {exc}") from None


def load_run(checkpoint, device=None, raw=False):
    """Rebuild the recipe of a checkpoint (from its metadata) and load its weights: the running
    average of G's weights when the run kept one, unless ``raw``. ``meta["weights"]`` says which."""
    from tinygan.checkpoint import load_checkpoint, read_meta
    from tinygan.gan.registry import get_recipe
    from tinygan.gan.trainer import join_recipe_state
    checkpoint = Path(checkpoint)
    meta = read_meta(checkpoint)
    if "recipe" not in meta:
        raise ValueError(f"{checkpoint}: no recipe name in its metadata: not a checkpoint of `tinygan train`")
    recipe_cls = get_recipe(meta["recipe"])
    recipe = recipe_cls(recipe_config(recipe_cls, meta.get("config"), checkpoint), device=device)
    meta, arrays = load_checkpoint(checkpoint, recipe.networks())
    recipe.load_state_dict(join_recipe_state(meta.get("recipe_state", {}), arrays))
    meta["weights"] = "last"
    if "ema" in meta and not raw:
        from tinygan.gan.ema import EMA, ema_arrays, recompute_batch_norm
        ema = EMA(recipe.generators(), meta["ema"]["decay"])
        ema.load_state_dict(meta["ema"], ema_arrays(arrays))
        ema.copy_to_networks()
        recompute_batch_norm(recipe)
        meta["weights"] = f"running average (decay {ema.decay})"
    for m in recipe.networks().values():
        m.eval()
    return recipe, meta


def _run_flags(recipe_cls):
    """{dest: (section, name)}: the ``train`` flags that are settings of a run (``Trainer.settings``):
    the recipe's options, the TrainConfig fields outside the cadence, the batch size and the seed."""
    from tinygan.gan.trainer import CADENCE, TrainConfig
    flags = {f"recipe_{f.name}": ("config", f.name) for f in dataclasses.fields(recipe_cls.Config)}
    flags.update({f.name: ("train", f.name) for f in dataclasses.fields(TrainConfig) if f.name not in CADENCE})
    flags.update(batch_size=("run", "batch_size"), seed=("run", "seed"))
    return flags


def _flag_of(dest):
    return _flag(dest[len("recipe_"):] if dest.startswith("recipe_") else dest)


def _new_run(recipe_cls, args):
    """The settings of a new run from the command line: (Config, {train field: value}, seed, batch size)."""
    fields = {f.name: getattr(args, f"recipe_{f.name}") for f in dataclasses.fields(recipe_cls.Config)}
    if "n_critic" in fields and args.d_steps is not None:   # the paper's name and the Trainer's, one number
        if "recipe_n_critic" in args.given and args.recipe_n_critic != args.d_steps:
            raise ValueError(f"--n-critic {args.recipe_n_critic} and --d-steps {args.d_steps} disagree: both are "
                             "the discriminator steps per generator step; give one of them")
        fields["n_critic"] = args.d_steps
    train = {dest: getattr(args, dest) for dest, (section, _) in _run_flags(recipe_cls).items()
             if section == "train" and hasattr(args, dest)}
    return recipe_cls.Config(**fields), train, args.seed, args.batch_size


def _resumed_run(recipe_cls, args, checkpoint):
    """The settings of the run in ``checkpoint``, as ``_new_run`` gives them (the seed None where
    an older checkpoint does not record it), and its metadata; a flag given on the command line
    that disagrees with the run is refused, one line naming each."""
    from tinygan.checkpoint import read_meta
    from tinygan.gan.trainer import TrainConfig, run_settings
    if not checkpoint.exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint} (start the run without --resume, or "
                                "give its --out)")
    meta = read_meta(checkpoint)
    if meta.get("recipe") != recipe_cls.name:
        raise ValueError(f"--resume: {checkpoint} is a {meta.get('recipe')} run, not {recipe_cls.name}: resume it "
                         f"with `tinygan train {meta.get('recipe')} --resume`, or choose another --out")
    run = run_settings(meta)
    recipe_config(recipe_cls, run["config"], checkpoint)  # an unknown or invalid option: one line, first
    unknown = sorted(set(run["train"]) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"{checkpoint}: its training settings have {', '.join(unknown)}, which this tinygan does "
                         "not know (written by a newer version?)")
    recipe_cls.Config(**{name: getattr(args, f"recipe_{name}") for name in recipe_cls.Config.unused
                         if f"recipe_{name}" in args.given})  # the Config says why such a flag is no option
    if run["train"].get("d_steps") is None:          # older checkpoints: the recipe's own n_critic
        run["train"]["d_steps"] = run["config"].get("n_critic", recipe_cls.n_critic)
    refused, notes = [], []
    for dest, (section, name) in _run_flags(recipe_cls).items():
        if dest not in args.given:
            continue
        given = getattr(args, dest)
        if name in run[section]:
            if run[section][name] != given:
                refused.append(f"{_flag_of(dest)}: the run's is {run[section][name]}, given {given}")
        else:
            notes.append(f"{_flag_of(dest)} {given}")
            run[section][name] = given
    if refused:
        raise ValueError(f"--resume: {'; '.join(refused)}. A resumed run keeps its settings (they are in "
                         f"{checkpoint}); start a new run (another --out) to change them")
    if notes:
        print(f"tinygan: {checkpoint} does not record {', '.join(n.split()[0] for n in notes)} (an older "
              f"tinygan wrote it); taking {', '.join(notes)}", file=sys.stderr)
    batch_size = run["run"].get("batch_size", args.batch_size)
    config = recipe_config(recipe_cls, run["config"], checkpoint)
    return config, run["train"], run["run"].get("seed"), batch_size, meta


def _check_length_options(recipe, args, batch_size):
    """A recipe option that only sets the run's default length must agree with --steps/--epochs."""
    for name in recipe.length_options:
        if f"recipe_{name}" not in args.given:
            continue
        if args.epochs is not None:
            raise ValueError(f"{_flag(name)} sets the length of the run ({recipe.default_steps(batch_size)} steps); "
                             "give it or --epochs, not both")
        if args.steps is not None and args.steps != recipe.default_steps(batch_size):
            raise ValueError(f"{_flag(name)} makes the run {recipe.default_steps(batch_size)} steps long, but "
                             f"--steps says {args.steps}; give one of them")


def _resume_command(argv):
    words = ["tinygan", *argv] + ([] if "--resume" in argv else ["--resume"])
    return shlex.join(words)


def _stopped_at_once(checkpoint, argv):
    from tinygan.checkpoint import CheckpointError, read_meta
    try:
        step = read_meta(checkpoint).get("step")
    except (OSError, CheckpointError):
        return "tinygan: stopped at once; nothing was saved"
    return (f"tinygan: stopped at once; the last checkpoint ({checkpoint}, step {step}) is intact; "
            f"continue with: {_resume_command(argv)}")


# ----------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------


def cmd_list(args):
    from tinygan.gan.card import curriculum_order
    from tinygan.gan.registry import RECIPES, get_recipe
    names = args.names or curriculum_order(RECIPES)
    classes = [get_recipe(name) for name in names]
    if not args.verbose:
        for cls in classes:
            print(f"{cls.name:<12} {cls.paper}")
        return 0
    from tinygan.gan.card import recipe_card
    print("\n\n".join(recipe_card(cls) for cls in classes))
    return 0


def cmd_train(args):
    from tinygan.gan.registry import get_recipe
    from tinygan.gan.trainer import TrainingInterrupted
    recipe_cls = get_recipe(args.variant)
    out = args.out or Path("runs") / args.variant
    checkpoint = out / "checkpoint.npz"
    try:
        trainer = _prepare_training(recipe_cls, args, out, checkpoint)
        trainer.fit(resume=args.resume)
    except TrainingInterrupted as exc:
        print(f"tinygan: {exc.signal_name}: stopped after step {exc.step} and saved {exc.checkpoint}; continue "
              f"with: {_resume_command(args.argv)}", file=sys.stderr)
        return 128 + signal.Signals[exc.signal_name].value
    except KeyboardInterrupt:
        print(_stopped_at_once(checkpoint, args.argv), file=sys.stderr)
        return 128 + signal.SIGINT.value
    print(f"done: {trainer.checkpoint_path}, {out / 'samples.png'}, {out / 'losses.png'}", file=sys.stderr)
    return 0


def _prepare_training(recipe_cls, args, out, checkpoint):
    """The Trainer of ``tinygan train``: a new run from the flags, or the run in ``out`` to resume."""
    import tinygan
    from tinygan.data import load_mnist
    from tinygan.gan import TrainConfig, Trainer
    meta = None
    if args.resume:
        config, train, seed, batch_size, meta = _resumed_run(recipe_cls, args, checkpoint)
    else:
        config, train, seed, batch_size = _new_run(recipe_cls, args)
    device = args.device or tinygan.get_default_device()
    tinygan.manual_seed(args.seed if seed is None else seed)  # a resumed run's noise comes from its checkpoint
    images, labels = load_mnist("train", root=args.data)
    recipe = recipe_cls(config, device=device)
    recipe.data_root = args.data
    if not args.resume:
        _check_length_options(recipe, args, batch_size)
    loader = recipe.make_loader(images, labels, batch_size=batch_size, device=device)
    evaluator = None
    if args.eval_every:
        from tinygan.metrics.evaluate import make_evaluator
        evaluator = make_evaluator(n=args.eval_samples, device=device, data=args.data)
    steps, epochs = args.steps, args.epochs
    if steps is None and epochs is None:
        steps = meta["total_steps"] if meta is not None and "total_steps" in meta else recipe.default_steps(batch_size)
    train_config = TrainConfig(epochs=5.0 if epochs is None else epochs, steps=steps, log_every=args.log_every,
                               sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                               checkpoint_minutes=args.checkpoint_minutes, eval_every=args.eval_every, **train)
    run_info = {} if seed is None else {"seed": seed}
    trainer = Trainer(recipe, loader, out, train_config, evaluator=evaluator, run_info=run_info)
    print(recipe.describe(), file=sys.stderr)
    return trainer


def cmd_sample(args):
    import tinygan
    from tinygan import backend
    from tinygan.tensor import no_grad
    from tinygan.viz import save_grid
    if args.out.is_dir():
        raise IsADirectoryError(f"--out: {args.out} is a directory; give a file name such as "
                                f"{args.out / 'samples.png'}")
    recipe, meta = load_run(args.checkpoint, args.device, raw=args.raw)
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
        inputs = recipe.sample_inputs(args.n, labels)
        images = recipe.sample_images(inputs).numpy()
    save_grid(images, args.out, nrow=recipe.grid_columns(inputs),
              title=f"{recipe.name}, step {meta.get('step')}, {meta['weights']} weights")
    print(f"wrote a grid of {len(images)} images (--n {args.n}) to {args.out}", file=sys.stderr)
    return 0


def cmd_eval(args):
    if args.out is not None:
        _check_eval_out(args.out, args.n)
    recipe, meta = load_run(args.checkpoint, args.device, raw=args.raw)
    if args.data is not None and not recipe.reads_mnist_in_eval:
        raise ValueError(f"--data: the {recipe.name} variant's evaluation reads no MNIST files (its real "
                         "statistics ship with tinygan); leave --data out")
    scores = recipe.evaluate(n=args.n, seed=args.seed, data=args.data)
    scores = {"checkpoint": str(args.checkpoint), "recipe": recipe.name, "step": meta.get("step"),
              "weights": meta["weights"], **scores}
    text = json.dumps(scores, indent=2)
    print(text)
    if args.out is not None:
        from tinygan.data.atomic import atomic_write
        replaced = _check_eval_out(args.out, scores.get("n", args.n))
        with atomic_write(args.out) as f:
            f.write((text + "\n").encode("utf-8"))
        print(f"{'replaced' if replaced else 'wrote'} {args.out}", file=sys.stderr)
    return 0


def _check_eval_out(path, n):
    """May an evaluation of n samples be written to ``path``? Not over a directory, a file that is
    not an evaluation, or an evaluation of more samples. Returns whether it replaces one."""
    if path.is_dir():
        raise IsADirectoryError(f"--out: {path} is a directory; give a file name such as {path / 'eval.json'}")
    if not path.exists():
        return False
    try:
        previous = json.loads(path.read_text())
        previous_n = int(previous["n"])
    except (OSError, ValueError, TypeError, KeyError):
        raise FileExistsError(f"--out: {path} exists and is not a tinygan evaluation; not replacing it") from None
    if previous_n > n:
        raise FileExistsError(f"--out: {path} holds an evaluation of {previous_n} samples and this one has {n}; "
                              "not replacing it (choose another --out, or delete it)")
    return True


COMMANDS = {"list": cmd_list, "train": cmd_train, "sample": cmd_sample, "eval": cmd_eval}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    from tinygan.gan.registry import load_user_recipes
    try:
        load_user_recipes()
    except (OSError, ImportError, ValueError, TypeError) as exc:
        print(f"tinygan: error: TINYGAN_RECIPES: {exc}", file=sys.stderr)
        return EXIT_ERROR
    variant = _peek_variant(argv)
    args = build_parser(variant).parse_args(argv)
    if args.command == "train":
        args.given = set(vars(build_parser(variant, given_only=True).parse_args(argv))) - {"command", "variant"}
        args.argv = argv
    from tinygan.gan.trainer import TrainingDiverged
    try:
        return COMMANDS[args.command](args)
    except TrainingDiverged as exc:
        print(f"tinygan: training diverged: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("tinygan: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT.value
    except MemoryError:
        print(f"tinygan: error: out of memory in `tinygan {args.command}`; ask for less (a smaller --n or "
              "--batch-size)", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"tinygan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
