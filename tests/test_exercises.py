"""The exercise checkers (tinygan.exercises): each rejects a typical mistake and says what is wrong
in words, never with a traceback and never with the answer. That each accepts its solution is
tested with the tour (tests/test_tour.py runs docs/solutions.md after each chapter)."""

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
from tinygan import Function, Tensor, nn, random
from tinygan.exercises import EXERCISES, check, exercises
from tinygan.gan import losses
from tinygan.gan.dcgan import DCGAN, DCGANConfig

ROOT = Path(__file__).resolve().parents[1]


def tour_value_class():
    """The scalar Value that chapter 0 of the tour writes (its first code block)."""
    text = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    block = re.findall(r"^```python\n(.*?)^```", text.split("\n## 0. ")[1], flags=re.M | re.S)[0]
    namespace = {}
    exec(compile(block, "docs/tour.md, chapter 0, block 1", "exec"), namespace)  # noqa: S102
    return namespace["Value"]


def value_with_exp(backward):
    Value = tour_value_class()

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")
        out._backward = lambda: backward(self, out)
        return out

    Value.exp = exp
    return Value


def assign_instead_of_add(self, out):
    self.grad = out.data * out.grad   # = instead of +=: the other use of x is lost


def forgets_local_derivative(self, out):
    self.grad += out.grad


def d_step_without_zero_grad(G, D, opt_d, real, z):
    loss = losses.d_loss_bce(D(real), D(G(z).detach()))
    loss.backward()
    opt_d.step()
    return loss


def d_step_without_detach(G, D, opt_d, real, z):
    loss = losses.d_loss_bce(D(real), D(G(z)))
    D.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def grads_with_tanh_derivative(w, b, x, t):
    s = 1 / (1 + math.exp(-(w * x + b)))
    d = 2 * (s - t) * (1 - s * s)
    return d * x, d


def recursive_order(root):
    out, seen = [], set()

    def visit(t):
        if id(t) not in seen:
            seen.add(id(t))
            for x in (t.grad_fn.inputs if t.grad_fn is not None else ()):
                if x.requires_grad:
                    visit(x)
            out.append(t)
    visit(root)
    return out


def order_without_seen(root):
    out, stack = [], [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            out.append(t)
            continue
        stack.append((t, True))
        if t.grad_fn is not None:
            stack.extend((x, False) for x in t.grad_fn.inputs if x.requires_grad)
    return out


def outputs_first_order(root):
    out, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
            stack.extend(x for x in (t.grad_fn.inputs if t.grad_fn is not None else ()) if x.requires_grad)
    return out


class SigmoidForgetsOneMinusY(Function):
    def forward(self, x):
        return 1 / (1 + np.exp(-x))

    def backward(self, gy):
        return gy * self.output


class SigmoidOnArrays(SigmoidForgetsOneMinusY):
    def backward(self, gy):
        y = self.output.data
        return Tensor(gy.data * y * (1 - y))


class SigmoidIgnoresGy(SigmoidForgetsOneMinusY):
    def backward(self, gy):
        y = self.output
        return y * (1.0 - y)


class SoftplusWithExp(Function):
    def forward(self, x):
        return np.logaddexp(0.0, x)

    def backward(self, gy):
        return gy * tg.exp(self.inputs[0])


class RightPow(Function):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        return gy * self.c * self.inputs[0] ** (self.c - 1)


class PowWithWrongForward(RightPow):
    def forward(self, x):
        return x ** (self.c + 1)


def one_sided_difference(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original, base = x[i], f(x)
        x[i] = original + eps
        g[i] = (f(x) - base) / eps
        x[i] = original
    return g


def difference_that_moves_x(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        g[i] = (up - f(x)) / (2 * eps)
    return g


def col2im_assigning(cols, x_shape, k, stride, pad):
    n, c, h, w = x_shape
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    blocks = cols.reshape(c, k, k, n, oh, ow)
    x_pad = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for p in range(k):
        for q in range(k):
            x_pad[:, :, p:p + stride * oh:stride, q:q + stride * ow:stride] = blocks[:, p, q].transpose(1, 0, 2, 3)
    return x_pad[:, :, pad:pad + h, pad:pad + w]


def layernorm_missing_a_term(x, w, gy, eps):
    inv_std = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    g = gy * w
    return inv_std * (g - g.mean(axis=-1, keepdims=True))


def biased_running_variance(running_mean, running_var, x, momentum):
    return ((1 - momentum) * running_mean + momentum * x.mean(axis=0),
            (1 - momentum) * running_var + momentum * x.var(axis=0))


def penalty_without_create_graph(critic, real, fake):
    x_hat = Tensor(real.data, requires_grad=True)
    g = tg.grad(critic(x_hat).sum(), x_hat)
    return ((((g * g).sum(axis=(1, 2, 3))) ** 0.5 - 1.0) ** 2).mean()


def penalty_over_the_whole_batch(critic, real, fake):
    x_hat = Tensor(real.data, requires_grad=True)
    g = tg.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((g * g).sum() ** 0.5 - 1.0) ** 2


def clip_into_new_parameters(module, c):
    for m in module.modules():
        for name, p in list(m._parameters.items()):
            if p is not None:
                setattr(m, name, nn.Parameter(np.clip(p.data, -c, c)))


def clip_linear_weights_only(module, c):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            m.weight.data[...] = np.clip(m.weight.data, -c, c)


@dataclasses.dataclass
class GPConfig(DCGANConfig):
    gp_weight: float = 10.0


class PenaltyNotWeighted(DCGAN):
    Config = GPConfig

    def d_loss(self, real, labels):
        loss, info = super().d_loss(real, labels)
        return loss + losses.gradient_penalty(self.D, real, self.draw_fakes(real.shape[0])), info


class PenaltyWithoutDoubleBackprop(DCGAN):
    Config = GPConfig

    def d_loss(self, real, labels):
        loss, info = super().d_loss(real, labels)
        return loss + penalty_without_create_graph(self.D, real, None).detach() * self.config.gp_weight, info


class PenaltyMissing(DCGAN):
    Config = GPConfig

    def d_loss(self, real, labels):
        return super().d_loss(real, labels)


class NoGpWeight(DCGAN):
    def d_loss(self, real, labels):
        return super().d_loss(real, labels)


# name, a typical wrong answer, what the checker must say about it
MISTAKES = [
    ("value_exp", lambda: value_with_exp(assign_instead_of_add), "backward() gives dy/dx = "),
    ("value_exp", lambda: value_with_exp(forgets_local_derivative), "tinygan's Tensor gives"),
    ("value_exp", tour_value_class, "your Value has no exp() method yet"),
    ("d_step", lambda: d_step_without_zero_grad, "still hold what was in .grad before your step"),
    ("d_step", lambda: d_step_without_detach, "G's parameter 0.weight received a gradient in D's step"),
    ("chain_rule_by_hand", lambda: grads_with_tanh_derivative, "your dL/dw is 0.758071, backward() gives 0.315001"),
    ("topological_order", lambda: recursive_order, "on a chain of 3,000 ops, your order raised RecursionError"),
    ("topological_order", lambda: order_without_seen, "your order lists a twice"),
    ("topological_order", lambda: outputs_first_order, "which it was made from: every tensor must come after"),
    ("sigmoid_backward", lambda: SigmoidForgetsOneMinusY, "at x = -4.0, your backward gives dy/dx = 0.0179862"),
    ("sigmoid_backward", lambda: SigmoidOnArrays, "it has no graph: it was computed from raw arrays"),
    ("sigmoid_backward", lambda: SigmoidIgnoresGy, "with an incoming gradient gy = [-2, -1, 0, 1, 2, 3] (not all ones)"),
    ("softplus_backward", lambda: SoftplusWithExp, "tinygan's softplus gives 0.00669285"),
    ("broken_pow", lambda: RightPow, "gradcheck found nothing wrong with RightPow(3) or RightPow(0.5)"),
    ("broken_pow", lambda: PowWithWrongForward, "should stay x^c, to break only the backward"),
    ("numeric_gradient", lambda: one_sided_difference, "with eps = 0.001, your dL/dx["),
    ("numeric_gradient", lambda: difference_that_moves_x, "x is not as it was after your function: x[0, 0] was 0.3"),
    ("conv_output_size", lambda: lambda s, k, st, p, d: (s + 2 * p - k) // st + 1,
     "for size 10, kernel 3, stride 2, padding 1, dilation 2 your function gives 5; conv2d's output has 4 rows"),
    ("conv_output_size", lambda: lambda s, k, st, p, d: (s + 2 * p - d * (k - 1) - 1) / st + 1, "a float: a size is an int"),
    ("col2im", lambda: col2im_assigning, "should be the transposed convolution of gy; your x["),
    ("layernorm_backward", lambda: layernorm_missing_a_term, "normalised over its 6 features, your dx["),
    ("running_statistics", lambda: biased_running_variance, "your running_var[0] is 1.85622, BatchNorm1d's is 1.86425"),
    ("minimax_gradient", lambda: {"minimax": -1 / 0.99, "non-saturating": -0.99}, "the derivative with respect to D itself"),
    ("minimax_gradient", lambda: {"minimax": 0.01, "non-saturating": -0.99}, "your minimax value has the wrong sign"),
    ("minimax_gradient", lambda: {"minimax": -0.01}, "your dict has no 'non-saturating' entry"),
    ("lsgan_losses", lambda: (lambda r, f: ((r - 1) ** 2).mean() + (f ** 2).mean(), lambda f: ((f - 1) ** 2).mean() * 0.5),
     "your D loss is 1.4; LSGAN's is 0.7"),
    ("lsgan_losses", lambda: (lambda r, f: ((r - 1) ** 2).mean() * 0.5 + ((f + 1) ** 2).mean() * 0.5,
                              lambda f: ((f - 1) ** 2).mean() * 0.5), "your D loss is "),
    ("gradient_penalty", lambda: penalty_without_create_graph, "has the right value but no graph back to the critic"),
    ("gradient_penalty", lambda: penalty_over_the_whole_batch, "so the penalty is 0.49; yours is 7.84737"),
    ("weight_clipping", lambda: clip_into_new_parameters, "module.0.weight is a new Parameter after your function"),
    ("weight_clipping", lambda: clip_linear_weights_only, "module.0.bias[1] is 0.0756698, expected 0.01"),
    ("gradient_penalty_recipe", lambda: PenaltyNotWeighted, "the penalty is in your D loss, but not weighted by gp_weight = 10.0"),
    ("gradient_penalty_recipe", lambda: PenaltyWithoutDoubleBackprop, "adds nothing to the critic's gradient"),
    ("gradient_penalty_recipe", lambda: PenaltyMissing, "your D loss equals DCGAN's here"),
    ("gradient_penalty_recipe", lambda: NoGpWeight, "NoGpWeight's config has no gp_weight number"),
    ("gradient_penalty_recipe", lambda: DCGAN, "DCGAN does not define d_loss"),
    ("hinge_losses", lambda: (lambda r, f: (1 - r).mean() + (1 + f).mean(), lambda f: -f.mean()),
     "your D loss is 0.6; Geometric GAN's is 1.17"),
    ("hinge_losses", lambda: (lambda r, f: tg.relu(1 - r).mean() + tg.relu(1 + f).mean(), lambda f: f.mean()),
     "your G loss is "),
]


@pytest.mark.parametrize("name, make, said", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_a_typical_mistake_is_rejected_in_words(name, make, said, capsys):
    assert check(name, make()) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: not yet. ") and out.count("\n") == 1, out
    assert said in out, out
    assert "Traceback" not in out


def test_every_exercise_has_a_typical_mistake_here():
    assert {name for name, _, _ in MISTAKES} == set(EXERCISES)


class Raises(Function):
    def forward(self, x):
        return 1 / (1 + np.exp(-x))

    def backward(self, gy):
        return self.no_such_thing


NOT_ANSWERS = [None, 3, "text", ..., [1, 2], Raises, lambda *args, **kwargs: 1 / 0]


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_no_answer_crashes_a_checker(name, capsys):
    """Whatever a learner passes, the checker answers in one line: a wrong type, a function that
    raises (named with its line), a class that is not what was asked for."""
    for answer in NOT_ANSWERS:
        assert check(name, answer) is False
        out = capsys.readouterr().out
        assert out.startswith(f"{name}: not yet. ") and out.count("\n") == 1 and "Traceback" not in out, out


def test_an_exception_of_the_answer_is_reported_with_its_line(capsys):
    assert check("sigmoid_backward", Raises) is False
    out = capsys.readouterr().out
    assert "your Raises.backward raised AttributeError: 'Raises' object has no attribute 'no_such_thing'" in out
    assert f"(in backward, line {Raises.backward.__code__.co_firstlineno + 1})" in out


def test_the_checker_never_prints_the_answer(capsys):
    check("minimax_gradient", {"minimax": 0.5, "non-saturating": 0.5})
    out = capsys.readouterr().out
    assert "-0.01" not in out and "0.99" not in out  # (0.01 is in the question: D(G(z)) = 0.01)
    check("conv_output_size", lambda *args: 0)
    assert "//" not in capsys.readouterr().out


def test_check_keeps_the_learners_random_stream_and_names_unknown_exercises(capsys):
    random.manual_seed(5)
    state = random.get_rng_state()
    check("d_step", lambda *args: None)        # the checker draws weights of its own
    check("gradient_penalty_recipe", PenaltyMissing)
    assert random.get_rng_state() == state
    with pytest.raises(ValueError, match=r"name: expected one of the tour's exercises \(value_exp, d_step, .*got 'nope'"):
        check("nope", None)


def test_the_exercises_are_listed_by_chapter():
    found = exercises()
    assert [e.chapter for e in found] == sorted(e.chapter for e in found)
    assert {e.chapter for e in found} == set(range(9))
    assert all(2 <= sum(e.chapter == c for e in found) <= 3 for c in range(9))
    assert all(isinstance(e.task, str) and e.task.strip() for e in found)
    from tinygan import exercises as package
    for e in found:
        assert e.name in package.__doc__, f"{e.name}: list it in tinygan.exercises' docstring"
