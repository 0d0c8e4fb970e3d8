"""Checkers of the GAN chapters: the bare loop's discriminator step (chapter 0), the generator
costs and LSGAN (6), WGAN's clipping and WGAN-GP's penalty (7), a recipe of one's own (8)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

import tinygan as tg
from tinygan import nn
from tinygan.exercises._grading import Wrong, answering, at, compare, describe, exercise, mismatch, number, to_array
from tinygan.gan import losses
from tinygan.gan.recipe import Recipe
from tinygan.gan.wgan import WGAN
from tinygan.optim import Adam
from tinygan.tensor import Tensor

# ----------------------------------------------------------------------------------------------
# Chapter 0: the bare GAN loop
# ----------------------------------------------------------------------------------------------


def _mlp(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, 8), nn.LeakyReLU(0.2), nn.Linear(8, n_out))


STALE = 5.0  # left in D's .grad before the step: a step that does not clear it adds its gradient to this


@exercise("d_step", 0, "one discriminator step of the bare GAN loop")
def check_d_step(d_step):
    """``d_step(G, D, opt_d, real, z) -> loss`` against the step written out with tinygan: D's
    cross-entropy on real and G(z), a backward from cleared gradients, one step of opt_d, and G
    left alone (no step, no gradient)."""
    if not callable(d_step):
        raise Wrong(f"expected a function d_step(G, D, opt_d, real, z), got {describe(d_step)}")
    tg.manual_seed(10)
    G, D = _mlp(2, 1), _mlp(1, 1)
    G_ref, D_ref = _mlp(2, 1), _mlp(1, 1)
    G_ref.load_state_dict(G.state_dict())
    D_ref.load_state_dict(D.state_dict())
    opt_d = Adam(D.parameters(), lr=0.01, betas=(0.5, 0.999))
    opt_ref = Adam(D_ref.parameters(), lr=0.01, betas=(0.5, 0.999))
    rng = np.random.default_rng(7)
    real = Tensor(rng.normal(3.0, 0.5, (16, 1)).astype(np.float32))
    z = Tensor(rng.standard_normal((16, 2)).astype(np.float32))
    for p, q in zip(D.parameters(), D_ref.parameters()):
        p.grad, q.grad = Tensor(np.full(p.shape, STALE, np.float32)), Tensor(np.full(q.shape, STALE, np.float32))
    g_before = G.state_dict()

    with answering("your d_step"):
        loss = d_step(G, D, opt_d, real, z)
    loss_ref = losses.d_loss_bce(D_ref(real), D_ref(G_ref(z).detach()))
    D_ref.zero_grad()
    loss_ref.backward()
    opt_ref.step()

    got = float(to_array(loss, "what your d_step returned (D's loss)", ()))
    if not math.isclose(got, loss_ref.item(), rel_tol=1e-5, abs_tol=1e-6):
        raise Wrong(f"your d_step returned the loss {number(got)}; D's cross-entropy on this batch of real samples "
                    f"and G(z) is {number(loss_ref.item())}")
    for name, p in G.named_parameters():
        if p.grad is not None:
            raise Wrong(f"G's parameter {name} received a gradient in D's step: D's step does not train G, so the "
                        "fakes it shows D should carry no graph back into G")
        if not np.array_equal(p.numpy(), g_before[name]):
            raise Wrong(f"G's parameter {name} changed in D's step: only D is updated there")
    for (name, p), q in zip(D.named_parameters(), D_ref.parameters()):
        if p.grad is None:
            raise Wrong(f"D's parameter {name} has no gradient after your step: was backward() called on D's loss?")
        index = mismatch(p.grad.numpy(), q.grad.numpy(), 1e-4, 1e-6)
        if index is not None:
            if mismatch(p.grad.numpy(), q.grad.numpy() + STALE, 1e-4, 1e-5) is None:
                raise Wrong(f"D's gradients still hold what was in .grad before your step ({STALE} was left in each "
                            f"on purpose, and D.{name}.grad{at(index)} is {number(p.grad.numpy()[index])}): the "
                            "gradients of the loss must start from nothing")
            raise Wrong(f"after your step D.{name}.grad{at(index)} is {number(p.grad.numpy()[index])}; the gradient of "
                        f"D's loss is {number(q.grad.numpy()[index])}")
        compare(p.numpy(), q.numpy(), f"D.{name}", "after your step ", rtol=1e-4, atol=1e-6)
    return "the loss, D's gradients and D's new weights match one step written with tinygan, and G is untouched."


# ----------------------------------------------------------------------------------------------
# Chapter 6: the generator's costs and LSGAN
# ----------------------------------------------------------------------------------------------


@exercise("minimax_gradient", 6, "dCost/dl where D(G(z)) = 0.01, for the minimax and the non-saturating cost")
def check_minimax_gradient(answer):
    """{"minimax": dC/dl, "non-saturating": dC/dl} for one sample with D(G(z)) = sigmoid(l) = 0.01,
    against tinygan's losses."""
    if not isinstance(answer, dict):
        raise Wrong(f"expected a dict {{'minimax': ..., 'non-saturating': ...}}, got {describe(answer)}")
    d = 0.01
    logit = Tensor(np.array([math.log(d / (1 - d))]), requires_grad=True)
    for key, cost, wrt_d in (("minimax", losses.g_loss_minimax, -1 / (1 - d)),
                             ("non-saturating", losses.g_loss_nonsaturating, -1 / d)):
        if key not in answer:
            raise Wrong(f"your dict has no {key!r} entry")
        value = float(to_array(answer[key], f"your {key!r} entry", ()))
        expected = tg.grad(cost(logit), logit).item()  # one sample: the batch mean is that sample's cost
        if math.isclose(value, expected, rel_tol=2e-3, abs_tol=1e-6):
            continue
        if math.isclose(value, wrt_d, rel_tol=2e-3):
            raise Wrong(f"your {key} value is the derivative with respect to D itself; the exercise asks for the "
                        "logit l (D = sigmoid(l)): what D's last layer outputs, and what G's gradient flows through")
        if math.isclose(value, -expected, rel_tol=2e-3, abs_tol=1e-6):
            raise Wrong(f"your {key} value has the wrong sign (G minimises its cost: which way does it fall as l "
                        "rises?)")
        raise Wrong(f"your {key} value, {number(value)}, is not dCost/dl at D(G(z)) = 0.01")
    return ("where D rejects G's sample (D(G(z)) = 0.01), the minimax cost gives G a gradient 99 times smaller than "
            "the non-saturating one.")


def check_pair_of_losses(answer, reference_d, reference_g, real, fake, paper):
    """(d_loss(real_out, fake_out), g_loss(fake_out)) against tinygan's: values and gradients."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not all(callable(f) for f in answer):
        raise Wrong(f"expected a pair of functions (d_loss, g_loss), got {describe(answer)}")
    d_loss, g_loss = answer
    r = Tensor(np.array(real)[:, None], requires_grad=True)
    f = Tensor(np.array(fake)[:, None], requires_grad=True)
    where = f"for D(x) = {np.round(real, 2).tolist()} and D(G(z)) = {np.round(fake, 2).tolist()}, "
    for name, fn, args, reference in (("D loss", d_loss, (r, f), reference_d), ("G loss", g_loss, (f,), reference_g)):
        with answering(f"your {name}"):
            got = fn(*args)
        if not isinstance(got, Tensor):
            raise Wrong(f"your {name} returned {describe(got)}; expected a Tensor made with tinygan's ops (so that "
                        "backward() reaches D and G)")
        value = float(to_array(got, f"your {name}", ()))
        expected = reference(*args)
        if not math.isclose(value, expected.item(), rel_tol=1e-6, abs_tol=1e-9):
            raise Wrong(f"{where}your {name} is {number(value)}; {paper}'s is {number(expected.item())}")
        if not got.requires_grad:
            raise Wrong(f"your {name} has the right value but no graph: it cannot be differentiated")
        with answering(f"the backward of your {name}"):
            grads = tg.grad(got, list(args), allow_unused=True)
        for label, g, g_ref in zip(("D(x)", "D(G(z))")[-len(args):], grads, tg.grad(expected, list(args))):
            g = np.zeros(g_ref.shape) if g is None else g.numpy()
            compare(g[:, 0], g_ref.numpy()[:, 0], f"the gradient of your {name} with respect to {label}", where,
                    rtol=1e-6, atol=1e-9)
    return f"both losses match {paper}'s, values and gradients."


@exercise("lsgan_losses", 6, "LSGAN's two losses, with targets a = 0 (fake), b = 1 (real), c = 1 (G's wish)")
def check_lsgan_losses(answer):
    return check_pair_of_losses(answer, losses.d_loss_lsgan, losses.g_loss_lsgan, [1.3, 0.2, -0.5, 0.9, 2.0],
                                [0.1, -0.8, 0.6, 1.4, -0.2], "LSGAN")


# ----------------------------------------------------------------------------------------------
# Chapter 7: WGAN's clipping and WGAN-GP's penalty
# ----------------------------------------------------------------------------------------------


def _linear_critic(n_in, norm, rng, dtype):
    """f(x) = <v, flatten(x)> + c with ||v|| = norm: its gradient is v everywhere, so the
    penalty is (||v|| - 1)^2 whatever points it is taken at."""
    critic = nn.Sequential(nn.Flatten(), nn.Linear(n_in, 1, dtype=dtype))
    v = rng.standard_normal(n_in)
    critic[1].weight.data[...] = (v * norm / np.linalg.norm(v)).reshape(1, n_in)
    critic[1].bias.data[...] = 0.3
    return critic


@exercise("gradient_penalty", 7, "WGAN-GP's penalty E (||grad f(x_hat)||_2 - 1)^2, differentiable in f's weights")
def check_gradient_penalty(answer):
    """``answer(critic, real, fake)`` with a linear critic, whose penalty and its gradient with
    respect to the critic's weights have closed forms."""
    if not callable(answer):
        raise Wrong(f"expected a function gradient_penalty(critic, real, fake), got {describe(answer)}")
    rng = np.random.default_rng(8)
    critic = _linear_critic(9, 1.7, rng, np.float64)
    real, fake = Tensor(rng.uniform(-1, 1, (5, 1, 3, 3))), Tensor(rng.uniform(-1, 1, (5, 1, 3, 3)))
    v = critic[1].weight.numpy().ravel()
    norm = np.linalg.norm(v)
    with answering("your gradient_penalty"):
        gp = answer(critic, real, fake)
    value = float(to_array(gp, "your penalty", ()))
    if not math.isclose(value, (norm - 1) ** 2, rel_tol=1e-6, abs_tol=1e-9):
        raise Wrong(f"for a linear critic f(x) = <v, x> + c with ||v|| = {number(norm)}, the gradient is v at every "
                    f"point of every sample, so the penalty is {number((norm - 1) ** 2)}; yours is {number(value)}")
    if not isinstance(gp, Tensor) or not gp.requires_grad:
        raise Wrong("your penalty has the right value but no graph back to the critic's weights, so minimising it "
                    "cannot change the critic: the gradient inside it must itself be differentiable")
    critic.zero_grad()
    with answering("the backward of your penalty"):
        gp.backward()
    g = critic[1].weight.grad
    if g is None or not np.any(g.numpy()):
        raise Wrong("the critic's weight gets no gradient from your penalty: the gradient inside the penalty must "
                    "itself be part of the graph, so that backward() can differentiate through it")
    compare(g.numpy().ravel(), 2 * (norm - 1) * v / norm, "d penalty / d v", "your ", rtol=1e-6, atol=1e-9)
    return "the penalty and its gradient in the critic's weights match the closed form for a linear critic."


@exercise("weight_clipping", 7, "WGAN's weight clipping: every parameter of a module into [-c, c], in place")
def check_weight_clipping(answer):
    """``answer(module, c)`` against WGAN's ``after_d_step`` on a copy: the same values, the same
    Parameter objects (the optimizer holds them), the buffers untouched."""
    if not callable(answer):
        raise Wrong(f"expected a function clip_weights(module, c), got {describe(answer)}")
    tg.manual_seed(11)

    def critic():
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 1))

    module, reference = critic(), critic()
    rng = np.random.default_rng(9)
    for p in module.parameters():
        p.data[...] = rng.normal(0.0, 0.03, p.shape).astype(p.dtype)
    module[1].running_var[...] = 3.0  # a buffer: not a weight, not clipped
    reference.load_state_dict(module.state_dict())
    params, buffers = list(module.parameters()), module.state_dict()
    with answering("your clip_weights"):
        answer(module, 0.01)
    WGAN.after_d_step(SimpleNamespace(config=SimpleNamespace(clip_value=0.01), D=reference))
    for (name, p), before, q in zip(module.named_parameters(), params, reference.parameters()):
        if p is not before:
            raise Wrong(f"module.{name} is a new Parameter after your function: the optimizer still holds the old "
                        "one and would go on training it; change the values in place")
        compare(p.numpy(), q.numpy(), f"module.{name}", "after clipping to [-0.01, 0.01], ", rtol=0, atol=1e-9)
    for name, value in module.named_buffers():
        if not np.array_equal(value, buffers[name]):
            raise Wrong(f"your function changed the buffer module.{name} (batch-norm's running statistics): only "
                        "the trained weights are clipped")
    return "every weight is clipped in place, biases and batch-norm's scale and shift included, as WGAN does."


# ----------------------------------------------------------------------------------------------
# Chapter 8: a recipe of one's own
# ----------------------------------------------------------------------------------------------


class _FixedImages(nn.Module):
    """A stand-in generator: the same images whatever its inputs (fakes the checker knows)."""

    def __init__(self, images):
        super().__init__()
        self.images = images

    def forward(self, *inputs):
        return Tensor(self.images[:inputs[0].shape[0]])


@exercise("gradient_penalty_recipe", 8, "add WGAN-GP's penalty (weight gp_weight) to the D loss of a recipe")
def check_gradient_penalty_recipe(answer):
    """A Recipe subclass whose d_loss is its parent's plus gp_weight times the penalty. Checked
    with a linear critic and a generator of fixed images swapped in, where the penalty is
    (||v|| - 1)^2 and its gradient 2 (||v|| - 1) v / ||v||, whatever points it is taken at."""
    if not (isinstance(answer, type) and issubclass(answer, Recipe)):
        raise Wrong(f"expected your recipe class (a subclass of a Recipe), got {describe(answer)}")
    if "d_loss" not in answer.__dict__:
        raise Wrong(f"{answer.__name__} does not define d_loss: its D loss is still its parent's")
    parent = answer.__mro__[1]
    if next((c for c in answer.__mro__[1:] if "d_loss" in c.__dict__), Recipe) is Recipe:
        raise Wrong(f"{answer.__name__} has no parent recipe with a D loss to add the penalty to")
    tg.manual_seed(12)
    with answering(f"building your {answer.__name__}"):
        recipe = answer(device="cpu")
    weight = getattr(recipe.config, "gp_weight", None)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise Wrong(f"{answer.__name__}'s config has no gp_weight number (lambda): add the field to its Config")
    if not weight > 0:
        raise Wrong(f"{answer.__name__}'s default gp_weight is {weight}: give it the paper's lambda")
    rng = np.random.default_rng(13)
    recipe.D = _linear_critic(784, 1.6, rng, np.float32)
    recipe.G = _FixedImages(rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
    real = Tensor(rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
    with answering(f"{answer.__name__}.d_loss"):
        out = recipe.d_loss(real, None)
    if not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[0], Tensor):
        raise Wrong(f"{answer.__name__}.d_loss returned {describe(out)}; expected (loss, info), like every recipe's")
    loss = out[0]
    with answering(f"{parent.__name__}.d_loss"):
        base = super(answer, recipe).d_loss(real, None)[0]
    v = recipe.D[1].weight.numpy().astype(np.float64).ravel()
    norm = np.linalg.norm(v)
    penalty = (norm - 1) ** 2
    got, b = float(to_array(loss, "your D loss", ())), base.item()
    if not math.isclose(got, b + weight * penalty, rel_tol=1e-4, abs_tol=1e-5):
        if math.isclose(got, b, rel_tol=1e-5, abs_tol=1e-6):
            raise Wrong(f"your D loss equals {parent.__name__}'s here ({number(got)}): the penalty is missing")
        if weight != 1 and math.isclose(got, b + penalty, rel_tol=1e-4, abs_tol=1e-5):
            raise Wrong(f"the penalty is in your D loss, but not weighted by gp_weight = {weight}")
        raise Wrong(f"your D loss is {number(got)}; {parent.__name__}'s D loss plus gp_weight ({weight}) times the "
                    f"penalty is {number(b + weight * penalty)} (for the linear critic swapped in, with ||v|| = "
                    f"{number(norm)}, the penalty is {number(penalty)})")
    w = recipe.D[1].weight
    recipe.D.zero_grad()
    with answering(f"the backward of {answer.__name__}'s D loss"):
        loss.backward()
    g = w.grad.numpy().ravel().astype(np.float64) if w.grad is not None else np.zeros(v.shape)
    recipe.D.zero_grad()
    base.backward()
    g_base = w.grad.numpy().ravel().astype(np.float64)
    if mismatch(g, g_base, 1e-4, 1e-6) is None:
        raise Wrong("the penalty is in your D loss but adds nothing to the critic's gradient: it has to be "
                    "differentiated through the critic's backward pass (double backprop)")
    compare(g, g_base + weight * 2 * (norm - 1) * v / norm, "d loss / d v", "the critic's gradient from your D loss: ",
            rtol=1e-3, atol=1e-6)
    return (f"{answer.__name__}'s D loss is {parent.__name__}'s plus gp_weight times the penalty, and its gradient "
            "reaches the critic's weights through the critic's backward pass.")


@exercise("hinge_losses", 8, "the hinge loss of Geometric GAN: D's and G's, from D's raw outputs")
def check_hinge_losses(answer):
    return check_pair_of_losses(answer, losses.d_loss_hinge, losses.g_loss_wasserstein, [1.6, 0.4, -0.3, 2.5, 0.95],
                                [-1.7, -0.2, 0.8, -1.05, 0.3], "Geometric GAN")


__all__ = ["check_pair_of_losses"]
