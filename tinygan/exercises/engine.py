"""Checkers of the engine's chapters (0-3): a scalar autograd, the chain rule, a Function's
backward, and finite differences."""

from __future__ import annotations

import math

import numpy as np

import tinygan as tg
from tinygan.exercises._grading import Wrong, answering, compare, describe, exercise, number, numbers, to_array
from tinygan.gradcheck import GradcheckError, gradcheck
from tinygan.tensor import Function, Tensor

# ----------------------------------------------------------------------------------------------
# Chapter 0: a scalar autograd
# ----------------------------------------------------------------------------------------------


@exercise("value_exp", 0, "give the chapter's scalar Value an exp() method, with its backward")
def check_value_exp(Value):
    """y = exp(x) * x + exp(x) uses x and exp(x) twice each; dy/dx from the learner's Value is
    compared with tinygan's at four points."""
    if not isinstance(Value, type):
        raise Wrong(f"expected your Value class (check('value_exp', Value)), got {describe(Value)}")
    for x in (-1.5, 0.0, 0.7, 2.0):
        with answering("your Value"):
            v = Value(x)
            if not callable(getattr(v, "exp", None)):
                raise Wrong("your Value has no exp() method yet")
            e = v.exp()
            y = e * v + e
            y.backward()
            ey, yy, gx = (float(getattr(t, name)) for t, name in ((e, "data"), (y, "data"), (v, "grad")))
        t = Tensor(np.array(x), requires_grad=True)  # a float64 array stays float64
        yt = tg.exp(t) * t + tg.exp(t)
        expected = tg.grad(yt, t).item()
        if not math.isclose(ey, math.exp(x), rel_tol=1e-9, abs_tol=1e-12):
            raise Wrong(f"Value({x}).exp().data is {number(ey)}, expected e^{x} = {number(math.exp(x))}")
        if not math.isclose(yy, yt.item(), rel_tol=1e-9, abs_tol=1e-12):
            raise Wrong(f"at x = {x}, y = exp(x) * x + exp(x) comes out {number(yy)}, expected {number(yt.item())}")
        if not math.isclose(gx, expected, rel_tol=1e-7, abs_tol=1e-9):
            raise Wrong(f"at x = {x}, for y = exp(x) * x + exp(x) (x and exp(x) each used twice) backward() gives "
                        f"dy/dx = {number(gx)}; tinygan's Tensor gives {number(expected)}")
    return ("exp's value and its derivative match tinygan's at x = -1.5, 0, 0.7 and 2, in a graph that uses x and "
            "exp(x) twice each.")


# ----------------------------------------------------------------------------------------------
# Chapter 1: the chain rule and the topological order
# ----------------------------------------------------------------------------------------------


@exercise("chain_rule_by_hand", 1, "dL/dw and dL/db of L = (sigmoid(w x + b) - t)^2, by hand")
def check_chain_rule_by_hand(grads):
    """``grads(w, b, x, t) -> (dL/dw, dL/db)`` against backward() at four points."""
    if not callable(grads):
        raise Wrong(f"expected a function grads(w, b, x, t) returning (dL/dw, dL/db), got {describe(grads)}")
    for w, b, x, t in ((0.8, -0.3, 1.5, 0.2), (-1.2, 0.5, 2.0, 0.9), (0.3, 0.1, -0.7, 0.0), (2.0, -1.0, 0.25, 1.0)):
        with answering("your grads"):
            got = grads(w, b, x, t)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong(f"grads({w}, {b}, {x}, {t}) returned {describe(got)}; expected a pair (dL/dw, dL/db)")
        W, B = Tensor(np.array([w]), requires_grad=True), Tensor(np.array([b]), requires_grad=True)
        loss = ((tg.sigmoid(W * x + B) - t) ** 2).sum()
        loss.backward()
        for name, value, expected in (("dL/dw", got[0], W.grad.item()), ("dL/db", got[1], B.grad.item())):
            value = to_array(value, f"your {name}", ())
            if not math.isclose(float(value), expected, rel_tol=1e-6, abs_tol=1e-10):
                raise Wrong(f"at w = {w}, b = {b}, x = {x}, t = {t}: your {name} is {number(value)}, "
                            f"backward() gives {number(expected)}")
    return "dL/dw and dL/db agree with backward() at four points."


def _named(t, name):
    t.name = name
    return t


def _diamond():
    """A graph with shared parts: c = a * b is used twice, a three times; k is a constant."""
    a = _named(Tensor(np.array([1.0, 2.0]), requires_grad=True), "a")
    b = _named(Tensor(np.array([3.0, -1.0]), requires_grad=True), "b")
    k = _named(Tensor(np.array([2.0, 2.0])), "the constant k")
    c = _named(a * b, "c = a * b")
    d = _named(c + a, "d = c + a")
    e = _named(_named(d * c, "d * c") * k, "e = d * c * k")
    return _named(_named(e + a, "e + a").sum(), "L = sum(e + a)")


def _check_order(order, root, what):
    """Every tensor that requires grad and is reachable from root, once, each after its inputs."""
    if isinstance(order, Tensor) or not hasattr(order, "__iter__"):
        raise Wrong(f"{what} returned {describe(order)}; expected a list of Tensors")
    order = list(order)
    for item in order:
        if not isinstance(item, Tensor):
            raise Wrong(f"{what} returned a list holding {describe(item)}; expected only Tensors")
    reachable, stack = {}, [root]
    while stack:
        t = stack.pop()
        if id(t) in reachable:
            continue
        reachable[id(t)] = t
        if t.grad_fn is not None:
            stack.extend(x for x in t.grad_fn.inputs if x.requires_grad)
    position = {}
    for i, t in enumerate(order):
        label = t.name or f"a tensor of shape {t.shape}"
        if id(t) in position:
            raise Wrong(f"{what} lists {label} twice (it is reached by more than one path); each tensor once")
        if not t.requires_grad:
            raise Wrong(f"{what} lists {label}, which does not require grad: the backward pass never visits it")
        if id(t) not in reachable:
            raise Wrong(f"{what} lists {label}, which the output was not made from")
        position[id(t)] = i
    missing = [t for key, t in reachable.items() if key not in position]
    if missing:
        names = "; ".join(t.name or f"a tensor of shape {t.shape}" for t in missing[:3])
        raise Wrong(f"{what} leaves out {len(missing)} of the {len(reachable)} tensors, such as: {names}")
    for t in order:
        if t.grad_fn is None:
            continue
        for x in t.grad_fn.inputs:
            if x.requires_grad and position[id(x)] > position[id(t)]:
                raise Wrong(f"{what} puts {t.name or 'a tensor'} before {x.name or 'one of its inputs'}, "
                            "which it was made from: every tensor must come after its inputs")


@exercise("topological_order", 1, "list a graph's tensors so that each comes after its inputs, without recursion")
def check_topological_order(order_fn):
    """``order_fn(root) -> [Tensor]`` on a graph with shared parts, then on a chain of 3,000 ops."""
    if not callable(order_fn):
        raise Wrong(f"expected a function order(root) returning a list of Tensors, got {describe(order_fn)}")
    root = _diamond()
    with answering("your order"):
        result = order_fn(root)
    _check_order(result, root, "on L = sum(e + a) with e = d * c * k, d = c + a, c = a * b, your order")
    x = _named(Tensor(np.array([0.5]), requires_grad=True), "x")
    y = x
    for i in range(3000):
        y = _named(y * 1.0001 if i % 2 else y + 0.001, f"op {i + 1} of the chain")
    with answering("on a chain of 3,000 ops, your order"):
        result = order_fn(y)
    _check_order(result, y, "on a chain of 3,000 ops, your order")
    return ("every tensor once, each after its inputs, on a graph with shared parts and on a chain of 3,000 ops "
            "(deeper than Python's recursion allows).")


# ----------------------------------------------------------------------------------------------
# Chapter 2: a Function's backward
# ----------------------------------------------------------------------------------------------


def _function_class(answer, example):
    if isinstance(answer, Function):
        return type(answer)
    if isinstance(answer, type) and issubclass(answer, Function):
        return answer
    raise Wrong(f"expected your Function subclass ({example}), got {describe(answer)}")


def check_unary_function(answer, reference, points, example):
    """A Function subclass of one input against tinygan's ``reference`` op: forward, the
    derivative at every point, the chain rule with a random incoming gradient, and the second
    derivative (its backward must be written with Tensor ops)."""
    cls = _function_class(answer, example)
    name = cls.__name__
    x = Tensor(np.array(points, dtype=np.float64), requires_grad=True)
    with answering(f"your {name}"):
        fn = cls()
        out = fn(x)  # kept: a Function holds its output by a weak reference, and its backward may read it
    y = to_array(out, f"your {name}'s output", x.shape)
    compare(y, reference(x).numpy(), "y", f"{name}'s forward at x = {numbers(points)}: ", rtol=1e-7, atol=1e-12)

    fn.needs_input_grad = [True]
    with answering(f"your {name}.backward"):
        gx = fn.backward(Tensor(np.ones(x.shape)))
    if isinstance(gx, (tuple, list)) and len(gx) == 1:
        gx = gx[0]
    if not isinstance(gx, Tensor):
        raise Wrong(f"{name}.backward returned {describe(gx)}; expected a Tensor, the gradient of the input x")
    got = to_array(gx, f"the gradient {name}.backward returned", x.shape)
    expected = tg.grad(reference(x).sum(), x).numpy()
    for i, p in enumerate(points):
        if not math.isclose(got[i], expected[i], rel_tol=1e-6, abs_tol=1e-10):
            raise Wrong(f"at x = {p}, your backward gives dy/dx = {number(got[i])}; tinygan's {reference.__name__} "
                        f"gives {number(expected[i])}")

    gy = np.linspace(-2.0, 3.0, len(points))
    with answering(f"your {name}.backward"):
        chained = tg.grad(cls()(x), x, grad_outputs=Tensor(gy)).numpy()
    compare(chained, expected * gy, "your dL/dx", f"with an incoming gradient gy = {numbers(gy)} (not all ones), ",
            rtol=1e-6, atol=1e-10)

    with answering(f"your {name}.backward"):
        g = tg.grad(cls()(x).sum(), x, create_graph=True)
    if not g.requires_grad:
        raise Wrong(f"the gradient {name}.backward returns is right, but it has no graph: it was computed from raw "
                    "arrays (.data), so it cannot be differentiated again (create_graph=True, a gradient penalty); "
                    "write it with Tensor ops")
    with answering(f"the backward of your {name}.backward"):
        second = tg.grad(g.sum(), x).numpy()
    g_ref = tg.grad(reference(x).sum(), x, create_graph=True)
    compare(second, tg.grad(g_ref.sum(), x).numpy(), "d2y/dx2", f"the second derivative at x = {numbers(points)}: ",
            rtol=1e-6, atol=1e-10)
    return (f"{name} matches tinygan's {reference.__name__} at {len(points)} points: value, derivative, chain rule "
            "and second derivative (its backward is differentiable).")


@exercise("sigmoid_backward", 2, "write Sigmoid's backward with Tensor ops")
def check_sigmoid_backward(answer):
    return check_unary_function(answer, tg.sigmoid, [-4.0, -1.3, -0.2, 0.0, 0.6, 2.5], "class MySigmoid(Function)")


@exercise("softplus_backward", 2, "write Softplus's backward with Tensor ops: y = log(1 + e^x)")
def check_softplus_backward(answer):
    return check_unary_function(answer, tg.softplus, [-5.0, -1.0, -0.1, 0.3, 1.2, 4.0], "class MySoftplus(Function)")


# ----------------------------------------------------------------------------------------------
# Chapter 3: gradcheck
# ----------------------------------------------------------------------------------------------


@exercise("broken_pow", 3, "break Pow's backward (forward kept right) and let gradcheck catch it")
def check_broken_pow(answer):
    """``BrokenPow(c)``: x^c forward, a wrong backward. Right when gradcheck raises for c = 3 or 1/2."""
    cls = _function_class(answer, "class BrokenPow(Function) with __init__(self, c)")
    x = Tensor(np.array([0.5, 1.3, 2.0]), requires_grad=True)
    caught = []
    for c in (3, 0.5):
        with answering(f"your {cls.__name__}({c})"):
            y = to_array(cls(c)(x), f"{cls.__name__}({c})'s output", x.shape)
        compare(y, x.numpy() ** c, "y", f"the forward of {cls.__name__}({c}) at x = {numbers(x.numpy())} should stay "
                "x^c, to break only the backward: ", rtol=1e-9, atol=1e-12)
        try:
            with answering(f"your {cls.__name__}({c})'s backward"):
                try:
                    gradcheck(lambda x: cls(c)(x), [x])
                except GradcheckError as err:
                    caught.append((c, str(err)))
        except Wrong as wrong:
            raise Wrong(f"{wrong} (gradcheck needs a backward that runs and returns a gradient of x's shape, a wrong "
                        "one)") from None
    if not caught:
        raise Wrong(f"gradcheck found nothing wrong with {cls.__name__}(3) or {cls.__name__}(0.5): their backward is "
                    "the true derivative c x^(c-1). Make it wrong, and gradcheck will say where")
    c, message = caught[0]
    return f"gradcheck caught {cls.__name__}({c}): {message}"


def _cross_terms(a):
    """A function whose every derivative depends on every element (sum(tanh(a) a^2) + sum(a)^2 / 3)."""
    return float((np.tanh(a) * a * a).sum() + a.sum() ** 2 / 3)


@exercise("numeric_gradient", 3, "central differences for every element of an array")
def check_numeric_gradient(answer):
    """``answer(f, x, eps) -> array``: compared with tinygan's analytic gradient at eps = 1e-3,
    where a central difference is within ~1e-7 and a one-sided one ~1e-3 off."""
    if not callable(answer):
        raise Wrong(f"expected a function numeric_gradient(f, x, eps), got {describe(answer)}")
    x0 = np.array([[0.3, -1.1, 0.8], [1.7, -0.4, 0.05]])
    x = x0.copy()
    with answering("your numeric_gradient"):
        got = answer(_cross_terms, x, 1e-3)
    changed = np.argwhere(x != x0)
    if changed.size:
        i = tuple(changed[0])
        raise Wrong(f"x is not as it was after your function: x[{i[0]}, {i[1]}] was {number(x0[i])}, "
                    f"is now {number(x[i])}")
    got = to_array(got, "the gradient your function returned", x0.shape)
    t = Tensor(x0, requires_grad=True)
    loss = (tg.tanh(t) * t * t).sum() + t.sum() ** 2 / 3
    expected = tg.grad(loss, t).numpy()
    compare(got, expected, "dL/dx", "with eps = 0.001, your ", rtol=1e-6, atol=2e-6)
    return ("your finite differences agree with tinygan's backward to 2e-6 at eps = 0.001 (a central difference's "
            "error is of order eps^2) and leave x as it was.")


__all__ = ["check_unary_function"]
