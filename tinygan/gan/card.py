"""A variant's card: what a learner compares across GANs, without opening the files.

``recipe_card(cls)`` builds the recipe on the CPU (its default configuration) and reads it back:
the paper (``cls.paper``), the losses as formulas (``cls.loss_formulas``), every network layer
by layer with parameter counts, the optimizers with their hyper-parameters, and the schedule
(critic steps per generator step, what runs after each critic step, what the generator step
freezes, and anything the recipe states in a ``schedule`` attribute). Everything but the paper
and the formulas is introspected, so a new recipe gets a card by setting those two.
``tinygan list --verbose`` prints every card; ``tinygan train --help-variant NAME`` one.
"""

from __future__ import annotations

import inspect

from tinygan import random
from tinygan.gan.recipe import Recipe, options


def _own_parameters(module, seen):
    n = 0
    for p in module._parameters.values():
        if p is not None and id(p) not in seen:
            seen.add(id(p))
            n += p.size
    return n


def network_lines(name, net):
    """One line per module of ``net``, indented by depth: layers with their own parameter count,
    containers with the total of everything inside them (a shared weight counted once)."""
    lines, seen = [], set()
    entries = list(net.named_modules(name))
    width = max(len(path) + 2 * path.count(".") for path, _ in entries) + 2
    for path, m in entries:
        indent = "  " * path.count(".")
        label = f"{indent}{path}".ljust(width)
        if m._modules:
            total = m.num_parameters(trainable_only=False)
            own = _own_parameters(m, seen)
            extra = f", {own:,} of its own" if own else ""
            lines.append(f"{label}{'':>12}  {type(m).__name__}  ({total:,} parameters{extra})")
        else:
            own = _own_parameters(m, seen)
            count = f"{own:>12,}" if own else f"{'-':>12}"
            lines.append(f"{label}{count}  {type(m).__name__}({m.extra_repr()})")
    return lines


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
    """The first line of a hook's docstring when the recipe overrides it (its schedule), else None."""
    base = getattr(Recipe, method, None)
    impl = getattr(type(recipe), method, None)
    if base is None or impl is None or impl is base:
        return None
    doc = inspect.getdoc(impl) or f"{method} (undocumented)"
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
    extra = getattr(recipe, "schedule", None)
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

    out.append("losses")
    formulas = getattr(recipe_cls, "loss_formulas", None)
    if isinstance(formulas, dict) and formulas:
        width = max(len(k) for k in formulas) + 2
        out += [f"  {k}:".ljust(width + 3) + str(v) for k, v in formulas.items()]
    else:
        out.append("  (no loss_formulas given: set loss_formulas = {'D': ..., 'G': ...} on the recipe class)")

    out.append("networks")
    for name, net in recipe.networks().items():
        out.append(f"  {name}: {type(net).__name__}, {net.num_parameters(trainable_only=False):,} parameters")
        out += ["    " + line for line in network_lines(name, net)]

    out.append("optimizers")
    out += ["  " + _optimizer_line(name, opt) for name, opt in recipe.optimizers().items()]

    out.append("schedule")
    out += ["  " + line for line in schedule_lines(recipe)]

    fields = ", ".join(f"{f.name}={getattr(recipe.config, f.name)!r}" for f in options(type(recipe.config)))
    out.append(f"config ({type(recipe.config).__name__}; each a flag of `tinygan train {recipe_cls.name}`)")
    out.append(f"  {fields}")
    return "\n".join(out)


__all__ = ["network_lines", "recipe_card", "schedule_lines"]
