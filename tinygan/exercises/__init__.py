"""The tour's exercises (docs/tour.md, at the end of each chapter) and the checker of an answer.

    from tinygan.exercises import check
    check("sigmoid_backward", MySigmoid)      # prints what is right or wrong; returns True or False

Each checker runs the answer on inputs of its own and compares it with tinygan (its ops, layers
and losses) or with finite differences (``gradcheck``). It prints the first thing it finds
wrong, in words: which input, which value, what was expected and what came; it never prints the
answer, and an answer that raises is reported, not propagated. ``exercises()`` lists them all,
chapter by chapter; the worked solutions are in docs/solutions.md.

    chapter 0  value_exp, d_step                 chapter 5  layernorm_backward, running_statistics
    chapter 1  chain_rule_by_hand,               chapter 6  minimax_gradient, lsgan_losses
               topological_order                 chapter 7  gradient_penalty, weight_clipping
    chapter 2  sigmoid_backward, softplus_backward  chapter 8  gradient_penalty_recipe, hinge_losses
    chapter 3  broken_pow, numeric_gradient
    chapter 4  conv_output_size, col2im
"""

from __future__ import annotations

from tinygan import random
from tinygan.exercises._grading import EXERCISES, Exercise, Wrong
from tinygan.exercises import engine, games, layers  # noqa: F401  (they register the exercises)


def exercises():
    """Every exercise, in the order of the tour: [Exercise(name, chapter, task, checker)]."""
    return sorted(EXERCISES.values(), key=lambda e: e.chapter)


def check(name, answer):
    """Check ``answer`` to exercise ``name``; print the verdict and return True (right) or False."""
    if name not in EXERCISES:
        known = ", ".join(e.name for e in exercises())
        raise ValueError(f"name: expected one of the tour's exercises ({known}), got {name!r}")
    state = random.get_rng_state()  # checkers draw weights and noise: the learner's stream is left alone
    try:
        verified = EXERCISES[name].checker(answer)
    except Wrong as wrong:
        print(f"{name}: not yet. {wrong}")
        return False
    finally:
        random.set_rng_state(state)
    print(f"{name}: right. {verified}")
    return True


__all__ = ["Exercise", "check", "exercises"]
