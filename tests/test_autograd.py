"""The autograd engine on graph shapes: reuse, diamonds, accumulation, retain_graph, no_grad,
detach, functional grad, higher-order gradients, errors, and freeing of finished graphs."""

import gc
import weakref

import numpy as np
import pytest

import tinygan as tg

from helpers import tensor, to_np


def leaf(values, device="cpu"):
    return tensor(np.asarray(values, dtype=np.float64), device, requires_grad=True)


def test_tensor_used_twice(device):
    x = leaf([1.0, -2.0, 3.0], device)
    (x * x + x).sum().backward()  # d/dx (x^2 + x) = 2x + 1
    np.testing.assert_allclose(to_np(x.grad), [3.0, -3.0, 7.0])


def test_diamond(device):
    x = leaf([0.5, 1.5], device)
    y = x * 3.0
    z = tg.exp(y) + y * y  # two paths from y to z
    z.sum().backward()
    y_np = 3.0 * np.array([0.5, 1.5])
    np.testing.assert_allclose(to_np(x.grad), 3.0 * (np.exp(y_np) + 2 * y_np))


def test_reuse_at_different_depths(device):
    """y feeds z directly and through (1 - y): z = y * (1 - y). A topological sort that marks
    nodes visited when pushed (not when expanded) processes y before (1 - y) and loses a term."""
    x = leaf([0.3, -0.7], device)
    y = tg.sigmoid(x)
    z = y * (1.0 - y)
    z.sum().backward()
    s = 1 / (1 + np.exp(-np.array([0.3, -0.7])))
    np.testing.assert_allclose(to_np(x.grad), (1 - 2 * s) * s * (1 - s))


def test_long_chain_no_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_gradients_accumulate_across_backward_calls(device):
    x = leaf([1.0, 2.0], device)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2.0 + 2.0, 2.0 + 4.0])


def test_second_backward_needs_retain_graph(device):
    x = leaf([1.0, 2.0], device)
    y = (tg.exp(x)).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(device):
    x = leaf([1.0, 2.0], device)
    y = tg.exp(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), 2 * np.exp([1.0, 2.0]))


def test_no_grad_records_nothing(device):
    x = leaf([1.0], device)
    with tg.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert tg.is_grad_enabled()


def test_no_grad_as_decorator():
    @tg.no_grad()
    def f(x):
        return x * 2.0
    assert not f(leaf([1.0])).requires_grad
    assert tg.is_grad_enabled()


def test_detach_stops_the_gradient(device):
    x = leaf([2.0], device)
    y = x * x
    z = y.detach() * x + y  # d/dx = y + 2x (the detached y is a constant)
    z.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [4.0 + 4.0])
    assert y.detach().grad_fn is None and not y.detach().requires_grad


def test_only_leaves_get_grad(device):
    x = leaf([1.0, 2.0], device)
    y = x * 2.0
    y.sum().backward()
    assert y.grad is None and x.grad is not None


def test_backward_with_explicit_grad(device):
    x = leaf([1.0, 2.0, 3.0], device)
    y = x * x
    y.backward(tensor(np.array([1.0, 0.0, -1.0]), device))
    np.testing.assert_allclose(to_np(x.grad), [2.0, 0.0, -6.0])


def test_wrong_shaped_grad_is_an_error(device):
    x = leaf([1.0, 2.0, 3.0], device)
    with pytest.raises(ValueError, match=r"grad: expected shape \(3,\).*got \(2,\)"):
        (x * 2.0).backward(tensor(np.ones(2), device))


def test_non_scalar_backward_needs_grad(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="one element"):
        (x * 2.0).backward()


def test_functional_grad_leaves_dot_grad_alone(device):
    x = leaf([1.0, 2.0], device)
    y = (x ** 3).sum()
    (gx,) = tg.grad(y, [x])
    np.testing.assert_allclose(to_np(gx), 3 * np.array([1.0, 4.0]))
    assert x.grad is None


def test_grad_of_intermediate_tensor(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2.0
    y = (h * h).sum()
    gh = tg.grad(y, h)
    np.testing.assert_allclose(to_np(gh), 2 * np.array([2.0, 4.0]))


def test_second_and_third_derivatives(device):
    x = leaf([0.5, 2.0], device)
    y = (x ** 4).sum()
    g1 = tg.grad(y, x, create_graph=True)           # 4 x^3
    g2 = tg.grad(g1.sum(), x, create_graph=True)    # 12 x^2
    g3 = tg.grad(g2.sum(), x)                       # 24 x
    xs = np.array([0.5, 2.0])
    np.testing.assert_allclose(to_np(g1), 4 * xs ** 3)
    np.testing.assert_allclose(to_np(g2), 12 * xs ** 2)
    np.testing.assert_allclose(to_np(g3), 24 * xs)


def test_gradient_penalty_style_double_backward(device):
    """d/dw of ||d(w.x)/dx||^2 = d/dw ||w||^2 = 2w: the shape of WGAN-GP's penalty."""
    w = leaf([[1.0], [-2.0], [0.5]], device)
    x = leaf([[0.1, 0.2, 0.3]], device)
    out = tg.tanh(x @ w) * 0 + x @ w
    gx = tg.grad(out.sum(), x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    np.testing.assert_allclose(to_np(w.grad), 2 * to_np(w))


def test_grad_unused_input(device):
    x, z = leaf([1.0], device), leaf([2.0], device)
    y = (x * 3.0).sum()
    with pytest.raises(RuntimeError, match="not used"):
        tg.grad(y, [x, z])
    gx, gz = tg.grad(y, [x, z], allow_unused=True)
    assert gz is None and to_np(gx)[0] == 3.0


def test_grad_rejects_inputs_without_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        tg.grad(leaf([1.0]).sum(), [tg.Tensor([1.0])])


def test_finished_graph_is_freed():
    """No reference cycles: once the last tensor goes, the whole graph goes, without the cycle
    collector (gc is off), whether or not backward ran."""
    gc.disable()
    try:
        for run_backward in (False, True):
            x = leaf(np.ones((4, 4)))
            h = tg.tanh(x * 2.0)
            mid = weakref.ref(h)
            mid_fn = weakref.ref(h.grad_fn)
            y = (h * h).sum()
            del h
            if run_backward:
                y.backward()
            assert mid() is not None or run_backward  # kept alive by the graph until then
            del y
            assert mid() is None, "an intermediate tensor outlived its graph"
            assert mid_fn() is None, "a Function outlived its graph"
    finally:
        gc.enable()


def test_backward_releases_saved_arrays():
    x = leaf(np.ones(3))
    y = tg.exp(x)
    fn = y.grad_fn
    z = (y * 2.0).sum()
    z.backward()
    assert fn.inputs is None  # the graph's saved inputs are gone after backward


def test_float32_stays_float32():
    """NumPy-2 promotion trap: float64 scalars must not turn float32 tensors into float64."""
    x = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    s64 = np.float64(0.5)
    y = (x * s64 + np.sqrt(np.float64(2.0)) - 1.0 / (x + 2)) ** 2
    y = tg.exp(y).mean() * np.ones(1)[0]
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_operators_with_arrays_on_the_left():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, tg.Tensor) and y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
