"""A variant's card: what a learner compares across GANs, without opening the files.

``recipe_card(cls)`` builds the recipe on the CPU (its default configuration) and reads it back:
the paper (``cls.paper``), where its code is (the source file), what the paper changes from the
variant before it in the curriculum and which chapter of the tour (docs/tour.md) prepares for
it, the losses as formulas (``cls.loss_formulas``), every network layer by layer with parameter
counts and output shapes, the optimizers with their hyper-parameters, and the schedule (critic
steps per generator step, what runs after each critic step, what the generator step freezes, and
anything the recipe states in a ``schedule`` attribute).

The output shapes come from the losses of one tiny training step (a batch of N = 2 random
images through ``make_loader``, ``d_loss`` and ``g_step_loss``, no optimizer step, on a recipe
built for the card alone), so they are
the shapes the networks really produce at the start of training; a module that step does not
call (a later stage or resolution, or a layer that a wrapper such as ``EqualizedLR`` applies
through its weights) has none. Everything but the paper, the formulas and the
curriculum line is introspected, so a new recipe gets a card by setting ``paper`` and
``loss_formulas`` (and, if it likes, ``change`` and ``tour_chapter`` for its curriculum line).

``CURRICULUM`` is the order to learn the variants in: vanilla -> dcgan -> cgan -> lsgan -> wgan ->
wgan_gp -> infogan, then the rest. ``tinygan list`` follows it; ``tinygan list --verbose [NAME]``
prints the cards (one, given its name); ``tinygan train --help-variant NAME`` one.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from tinygan import random
from tinygan.gan.recipe import Recipe, options

# name: (what the paper changes, in one line; the tour chapter that prepares for it, and why)
CURRICULUM = {
    "vanilla": ("the game itself: G maps noise to images, D tells real from fake, both MLPs trained in turn on "
                "D's cross-entropy (three generator costs)", (0, "the bare GAN loop; chapter 6 plays the game")),
    "dcgan": ("convolutions: a transposed-convolution G and a strided-convolution D with batch-norm, no pooling, "
              "Adam(2e-4, beta1 0.5)", (7, "DCGAN's step, layer by layer")),
    "cgan": ("both players see the class label y: D(x | y) and G(z | y), so G draws the digit it is asked for",
             (6, "the game it conditions on y")),
    "lsgan": ("least squares instead of cross-entropy: D regresses to b = 1 on real and a = 0 on fake, G to c = 1",
              (6, "an exercise writes its losses")),
    "wgan": ("a critic instead of a classifier: maximise E f(x) - E f(G(z)) (the earth-mover distance), weights "
             "clipped to [-0.01, 0.01], 5 critic steps per G step, RMSprop", (7, "an exercise writes its clipping")),
    "wgan_gp": ("a gradient penalty lambda E (||grad f(x_hat)|| - 1)^2 replaces the clipping (double backprop), "
                "Adam(1e-4, betas (0.5, 0.9))", (7, "its penalty, by double backprop")),
    "infogan": ("a code c among G's inputs and a head Q that reads it back from G(z, c): a lower bound of the "
                "mutual information I(c; G(z, c)) joins the game", (8, "a recipe with a third network")),
    "began": ("D is an auto-encoder, and both players play on its reconstruction error, kept at "
              "E L(G(z)) = gamma E L(x) by a control k_t", (8, "a recipe with a schedule of its own")),
    "hrdcgan": ("DCGAN at 64x64: batch-norm and SELU in every hidden layer, MNIST enlarged by a 'telescope'",
                (7, "DCGAN's step, which it keeps")),
    "progan": ("grow both networks from 4x4 to 32x32 with fade-ins; minibatch stddev, equalized learning rate, "
               "pixel norm; WGAN-GP's loss", (7, "WGAN-GP's penalty, which it trains with")),
    "cogan": ("two GANs, one per domain, share all of G but its output layer and all of D but its first, so one z "
              "draws a pair",
              (8, "a recipe with more than one G and D")),
    "discogan": ("two translators A -> B and B -> A, each undone by the other (a reconstruction loss)",
                 (8, "a recipe with more than one G and D")),
    "cyclegan": ("two translators tied by an L1 cycle-consistency loss; least-squares adversarial terms, "
                 "PatchGAN discriminators, a history of fakes", (8, "a recipe with more than one G and D")),
    "stackgan": ("two stages: a 14x14 sketch from (z, label), then a 28x28 refinement; conditioning augmentation "
                 "with a KL term", (8, "a recipe whose networks change with its stage")),
    "stackganpp": ("a tree of generators 7 -> 14 -> 28 trained jointly, one discriminator per scale with "
                   "conditional and unconditional terms", (8, "a recipe with a network per scale")),
}

TOUR_CHAPTERS = {  # the titles of docs/tour.md's chapters (tests/test_cards.py keeps them in step)
    0: "From zero: a scalar autograd and a bare GAN loop", 1: "A Tensor and the chain rule",
    2: "Writing a Function's backward with Tensor ops", 3: "gradcheck: catching a wrong derivative",
    4: "Convolution as im2col + GEMM, and its adjoint", 5: "Batch-norm's backward", 6: "The GAN game",
    7: "A variant as a recipe: DCGAN, then WGAN-GP's double backprop", 8: "Adding your own variant",
}

SHAPE_BATCH = 2  # the batch of the tiny step that measures the output shapes


def curriculum_order(names):
    """``names`` in the order of the curriculum; names it does not list come last, alphabetically."""
    rank = {name: i for i, name in enumerate(CURRICULUM)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def curriculum_lines(recipe_cls):
    """The card's lines on the curriculum: the source file, the paper's change, the tour chapter."""
    change, (chapter, why) = CURRICULUM.get(recipe_cls.name, (None, (None, None)))
    change = getattr(recipe_cls, "change", None) or change
    chapter = getattr(recipe_cls, "tour_chapter", None) if chapter is None else chapter
    lines = [f"source:  {source_path(recipe_cls)}"]
    lines.append(f"changes: {change}" if change else "changes: (not stated: set change = '...' on the recipe class)")
    if chapter is not None:
        where = f"docs/tour.md, chapter {chapter}, {TOUR_CHAPTERS.get(chapter, '')}"
        lines.append(f"tour:    {where}" + (f" ({why})" if why else ""))
    return lines


def source_path(recipe_cls):
    """The file that defines the recipe, relative to the directory that holds the tinygan package
    (``tinygan/gan/dcgan.py``); a file elsewhere (a recipe of one's own) as it is."""
    try:
        path = Path(inspect.getsourcefile(recipe_cls)).resolve()
    except (TypeError, OSError):
        return "(unknown: the class was not defined in a file)"
    root = Path(__file__).resolve().parents[2]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _own_parameters(module, seen):
    n = 0
    for p in module._parameters.values():
        if p is not None and id(p) not in seen:
            seen.add(id(p))
            n += p.size
    return n


def format_output_shape(shape, batch=SHAPE_BATCH):
    """(2, 64, 14, 14) -> "(N, 64, 14, 14)": the batch axis named N; a list of shapes (a module
    that returns a tuple) joined by "; "."""
    if shape is None:
        return ""
    if isinstance(shape, list):
        return "; ".join(format_output_shape(s, batch) or "?" for s in shape)
    dims = [str(d) for d in shape]
    if dims and shape[0] == batch:
        dims[0] = "N"
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def network_lines(name, net, shapes=None):
    """One line per module of ``net``, indented by depth: layers with their own parameter count,
    containers with the total of everything inside them (a shared weight counted once); with
    ``shapes`` (id(module) -> output shape, from ``output_shapes``) a column of output shapes."""
    lines, seen = [], set()
    entries = list(net.named_modules(name))
    width = max(len(path) + 2 * path.count(".") for path, _ in entries) + 2
    outs = {id(m): format_output_shape(shapes.get(id(m))) if shapes is not None else "" for _, m in entries}
    out_width = max((len(o) for o in outs.values()), default=0)
    for path, m in entries:
        indent = "  " * path.count(".")
        label = f"{indent}{path}".ljust(width)
        out = f"  {outs[id(m)] or '.':<{out_width}}" if shapes is not None else ""
        if m._modules:
            total = m.num_parameters(trainable_only=False)
            own = _own_parameters(m, seen)
            extra = f", {own:,} of its own" if own else ""
            lines.append(f"{label}{'':>12}{out}  {type(m).__name__}  ({total:,} parameters{extra})")
        else:
            own = _own_parameters(m, seen)
            count = f"{own:>12,}" if own else f"{'-':>12}"
            lines.append(f"{label}{count}{out}  {type(m).__name__}({m.extra_repr()})")
    return lines


def output_shapes(recipe):
    """id(module) -> output shape, for every module the losses of one tiny training step call:
    ``make_loader`` on SHAPE_BATCH * 4 random images, one batch of SHAPE_BATCH, ``d_loss`` and
    ``g_step_loss`` (no optimizer step; batch-norm statistics and the like do move, so pass a
    recipe built for the purpose). Returns (shapes, None), or (None, why) when that step fails
    (a recipe of one's own that needs other data, say)."""
    from tinygan.graph import record_output_shapes
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4 * SHAPE_BATCH, 28, 28), dtype=np.uint8)
    labels = np.arange(4 * SHAPE_BATCH, dtype=np.int64) % 10
    try:
        loader = recipe.make_loader(images, labels, batch_size=SHAPE_BATCH, device=recipe.device)
        real, batch_labels = next(iter(loader))
        with record_output_shapes() as shapes:
            recipe.d_loss(real, batch_labels)
            recipe.g_step_loss(real, batch_labels)
    except Exception as exc:  # noqa: BLE001 (the card is printed without the shapes, and says why)
        return None, f"{type(exc).__name__}: {exc}"
    return shapes, None


def _optimizer_line(name, opt):
    hyper = ", ".join(f"{k}={v}" for k, v in opt.hyper.items())
    count = sum(p.size for p in opt.params)
    return f"{name}: {type(opt).__name__}({hyper})  over {len(opt.params)} tensors, {count:,} weights"


# Hooks of Recipe that say something about a schedule when a recipe overrides them, and how the
# card introduces them (hooks the base class lacks are skipped).
HOOKS = (("before_step", "before each iteration"), ("after_d_step", "after each discriminator step"),
         ("g_step_loss", "the generator step"), ("after_g_step", "after each generator step"),
         ("make_loader", "data"))


def _overridden(recipe, method):
    """The first line of a hook's docstring when the recipe overrides it (its schedule), else None.
    The override's own docstring: the base class's describes the default, not what replaced it."""
    base = getattr(Recipe, method, None)
    impl = getattr(type(recipe), method, None)
    if base is None or impl is None or impl is base:
        return None
    doc = inspect.cleandoc(impl.__doc__) if impl.__doc__ else f"{method} (undocumented)"
    return doc.splitlines()[0]


def schedule_lines(recipe):
    lines = [f"{getattr(recipe, 'n_critic', 1)} discriminator step(s) per generator step (n_critic)"]
    d_opts, g_opts, frozen = recipe.current_phase()
    if tuple(d_opts) != ("D",) or tuple(g_opts) != ("G",):
        lines.append(f"the discriminator step updates {', '.join(d_opts)}; the generator step {', '.join(g_opts)}")
    for method, intro in HOOKS:
        doc = _overridden(recipe, method)
        if doc:
            lines.append(f"{intro}: {doc}")
    if frozen:
        lines.append(f"the generator step leaves {', '.join(frozen)} unchanged")
    if getattr(recipe, "conditional", False):
        lines.append("conditional: G and D are given the class label")
    extra = getattr(recipe, "schedule", None)  # a dict, a list or anything whose str() says it (ProGAN's growth)
    if isinstance(extra, dict):
        lines += [f"{k}: {v}" for k, v in extra.items()]
    elif isinstance(extra, (list, tuple)):
        lines += [str(v) for v in extra]
    elif extra:
        lines.append(str(extra))
    return lines


def recipe_card(recipe_cls, config=None):
    """The card of a recipe class (a multi-line string); ``config`` defaults to its Config()."""
    state = random.get_rng_state()  # building draws initial weights: leave the caller's noise alone
    try:
        recipe = recipe_cls(config, device="cpu")
    finally:
        random.set_rng_state(state)
    rule = "=" * 78
    out = [rule, f"{recipe_cls.name}: {recipe_cls.paper or '(no paper given: set paper on the recipe class)'}", rule]
    out += curriculum_lines(recipe_cls)

    out.append("losses")
    formulas = getattr(recipe_cls, "loss_formulas", None)
    if isinstance(formulas, dict) and formulas:
        width = max(len(k) for k in formulas) + 2
        out += [f"  {k}:".ljust(width + 3) + str(v) for k, v in formulas.items()]
    else:
        out.append("  (no loss_formulas given: set loss_formulas = {'D': ..., 'G': ...} on the recipe class)")

    state = random.get_rng_state()  # the tiny step draws noise too
    try:
        shapes, why = output_shapes(recipe)
    finally:
        random.set_rng_state(state)
    if shapes is not None:
        out.append(f"networks (output shapes of one training step at batch N = {SHAPE_BATCH}; '.': not called in it)")
    else:
        out.append(f"networks (no output shapes: one training step on random images failed: {why})")
    for name, net in recipe.networks().items():
        out.append(f"  {name}: {type(net).__name__}, {net.num_parameters(trainable_only=False):,} parameters")
        out += ["    " + line for line in network_lines(name, net, shapes)]

    out.append("optimizers")
    out += ["  " + _optimizer_line(name, opt) for name, opt in recipe.optimizers().items()]

    out.append("schedule")
    out += ["  " + line for line in schedule_lines(recipe)]

    fields = ", ".join(f"{f.name}={getattr(recipe.config, f.name)!r}" for f in options(type(recipe.config)))
    out.append(f"config ({type(recipe.config).__name__}; each a flag of `tinygan train {recipe_cls.name}`)")
    out.append(f"  {fields}")
    return "\n".join(out)


__all__ = ["CURRICULUM", "TOUR_CHAPTERS", "curriculum_lines", "curriculum_order", "network_lines", "output_shapes",
           "recipe_card", "schedule_lines", "source_path"]
