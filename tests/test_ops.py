"""Every op, from one small description each: forward against a NumPy reference (float32 and
float64), first derivatives by finite differences, and second derivatives of the ones that
have any (float64). Broadcast shapes are cases of their own.

A case is (name, tinygan function, numpy reference, input shapes, input domain, check second
derivatives?). The domain keeps inputs where the op is smooth: positive for log and sqrt, away
from 0 for abs and the kinks of relu, away from the clip bounds and from ties for max.
"""

import numpy as np
import pytest

import tinygan as tg
from tinygan import gradcheck, gradgradcheck

from helpers import tensor, to_np


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _np_elu(x, alpha, scale=1.0):
    """The closed form, with alpha and lambda written out as the SELU paper gives them (eq. 14)."""
    return scale * np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


SELU_ALPHA, SELU_LAMBDA = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _np_lrelu(x, s):
    return np.where(x > 0, x, s * x)


CASES = [
    # name, fn, reference, shapes, domain, second-order
    ("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (3, 4)], "any", False),
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [(2, 3, 4), (3, 1)], "any", False),
    ("add_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, [(3, 4)], "any", False),
    ("sub_broadcast", lambda a, b: a - b, lambda a, b: a - b, [(4,), (2, 3, 4)], "any", False),
    ("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, [(3,)], "any", False),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, [(3, 4), (3, 4)], "any", True),
    ("mul_broadcast", lambda a, b: a * b, lambda a, b: a * b, [(2, 1, 4), (3, 1)], "any", True),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (3, 4)], "positive", True),
    ("div_broadcast", lambda a, b: a / b, lambda a, b: a / b, [(2, 3), (3,)], "positive", True),
    ("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, [(5,)], "positive", True),
    ("neg", lambda a: -a, lambda a: -a, [(3, 4)], "any", False),
    ("pow_2", lambda a: a ** 2, lambda a: a ** 2, [(3, 4)], "any", True),
    ("pow_3", lambda a: a ** 3, lambda a: a ** 3, [(3, 4)], "any", True),
    ("pow_frac", lambda a: a ** 1.5, lambda a: a ** 1.5, [(3, 4)], "positive", True),
    ("pow_neg", lambda a: a ** -2, lambda a: a ** -2.0, [(3, 4)], "positive", True),
    ("pow_tensor_exponent", lambda a, b: a ** b, lambda a, b: a ** b, [(3, 4), (3, 4)], "positive", True),
    ("exp", tg.exp, np.exp, [(3, 4)], "any", True),
    ("log", tg.log, np.log, [(3, 4)], "positive", True),
    ("sqrt", tg.sqrt, np.sqrt, [(3, 4)], "positive", True),
    ("abs", tg.abs, np.abs, [(3, 4)], "nonzero", False),
    ("clip", lambda a: tg.clip(a, -0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [(4, 5)], "off_clip", False),
    ("clip_low", lambda a: tg.clip(a, low=0.2), lambda a: np.maximum(a, 0.2), [(4, 5)], "off_clip", False),
    ("maximum", tg.maximum, np.maximum, [(3, 4), (3, 4)], "any", False),
    ("minimum_broadcast", tg.minimum, np.minimum, [(3, 4), (4,)], "any", False),
    ("where", lambda a, b: tg.where(np.arange(12).reshape(3, 4) % 3 == 0, a, b),
     lambda a, b: np.where(np.arange(12).reshape(3, 4) % 3 == 0, a, b), [(3, 4), (3, 4)], "any", False),
    ("where_broadcast", lambda a, b: tg.where(np.array([True, False, True]), a, b),
     lambda a, b: np.where(np.array([True, False, True]), a, b), [(2, 3), (1,)], "any", False),
    ("tanh", tg.tanh, np.tanh, [(3, 4)], "any", True),
    ("sigmoid", tg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), [(3, 4)], "any", True),
    ("relu", tg.relu, lambda a: np.maximum(a, 0), [(3, 4)], "nonzero", False),
    ("leaky_relu", lambda a: tg.leaky_relu(a, 0.2), lambda a: _np_lrelu(a, 0.2), [(3, 4)], "nonzero", False),
    ("elu", tg.elu, lambda a: _np_elu(a, 1.0), [(3, 4)], "nonzero", True),
    ("elu_alpha", lambda a: tg.elu(a, 0.3), lambda a: _np_elu(a, 0.3), [(3, 4)], "nonzero", True),
    ("selu", tg.selu, lambda a: _np_elu(a, SELU_ALPHA, SELU_LAMBDA), [(3, 4)], "nonzero", True),
    ("softplus", tg.softplus, _np_softplus, [(3, 4)], "any", True),
    ("log_sigmoid", tg.log_sigmoid, lambda a: -_np_softplus(-a), [(3, 4)], "any", True),
    ("softmax", lambda a: tg.softmax(a, axis=1), lambda a: _np_softmax(a, 1), [(3, 5)], "any", True),
    ("softmax_axis0", lambda a: tg.softmax(a, axis=0), lambda a: _np_softmax(a, 0), [(3, 5)], "any", True),
    ("log_softmax", lambda a: tg.log_softmax(a), lambda a: np.log(_np_softmax(a, -1)), [(2, 3, 4)], "any", True),
    ("matmul", tg.matmul, np.matmul, [(3, 4), (4, 2)], "any", True),
    ("matmul_batched", tg.matmul, np.matmul, [(2, 3, 4), (2, 4, 5)], "any", True),
    ("matmul_broadcast", tg.matmul, np.matmul, [(2, 3, 4), (4, 5)], "any", True),
    ("matmul_vector", tg.matmul, np.matmul, [(3, 4), (4,)], "any", True),
    ("vector_matmul", tg.matmul, np.matmul, [(4,), (4, 2)], "any", True),
    ("sum_all", lambda a: a.sum(), lambda a: a.sum(), [(3, 4)], "any", False),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), [(2, 3, 4)], "any", False),
    ("sum_axes_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True),
     lambda a: a.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)], "any", False),
    ("mean", lambda a: a.mean(axis=-1), lambda a: a.mean(axis=-1), [(3, 4)], "any", False),
    ("var", lambda a: a.var(axis=0), lambda a: a.var(axis=0), [(5, 3)], "any", True),
    ("var_ddof1_keepdims", lambda a: a.var(axis=1, keepdims=True, ddof=1),
     lambda a: a.var(axis=1, keepdims=True, ddof=1), [(3, 5)], "any", True),
    ("max_all", lambda a: a.max(), lambda a: a.max(), [(3, 4)], "distinct", False),
    ("max_axis_keepdims", lambda a: a.max(axis=1, keepdims=True), lambda a: a.max(axis=1, keepdims=True),
     [(3, 4)], "distinct", False),
    ("broadcast_to", lambda a: tg.broadcast_to(a, (2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)),
     [(3, 1)], "any", False),
    ("sum_to", lambda a: tg.sum_to(a, (3, 1)), lambda a: a.sum(axis=(0, 2)).reshape(3, 1), [(2, 3, 4)], "any", False),
    ("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [(2, 3, 4)], "any", False),
    ("transpose", lambda a: a.T, lambda a: a.T, [(2, 3, 4)], "any", False),
    ("permute", lambda a: a.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0), [(2, 3, 4)], "any", False),
    ("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 5)], "any", False),
    ("getitem_int_array", lambda a: a[np.array([0, 2, 0, 1])], lambda a: a[np.array([0, 2, 0, 1])],
     [(3, 4)], "any", False),
    ("getitem_pairs", lambda a: a[np.arange(3), np.array([1, 0, 1])], lambda a: a[np.arange(3), np.array([1, 0, 1])],
     [(3, 2)], "any", False),
    ("getitem_int", lambda a: a[:, 2], lambda a: a[:, 2], [(3, 4)], "any", False),
    ("concat", lambda a, b: tg.concat([a, b], axis=1), lambda a, b: np.concatenate([a, b], axis=1),
     [(2, 3), (2, 2)], "any", False),
    ("stack", lambda a, b: tg.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
     [(2, 3), (2, 3)], "any", False),
    ("pad", lambda a: tg.pad(a, ((0, 0), (1, 2))), lambda a: np.pad(a, ((0, 0), (1, 2))), [(2, 3)], "any", False),
]

IDS = [c[0] for c in CASES]


def _inputs(shapes, domain, dtype, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        if domain == "positive":
            x = rng.uniform(0.5, 2.0, shape)
        elif domain == "nonzero":
            x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
        elif domain == "off_clip":  # values at least 0.05 from -0.5, 0.2 and 0.5
            x = rng.choice([-0.9, -0.2, 0.0, 0.35, 0.8], shape) + rng.uniform(-0.04, 0.04, shape)
        elif domain == "distinct":
            x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)
        else:
            x = rng.standard_normal(shape)
        out.append(x.astype(dtype))
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy(case, dtype, device):
    name, fn, ref, shapes, domain, _ = case
    arrays = _inputs(shapes, domain, dtype)
    out = fn(*[tensor(a, device) for a in arrays])
    expected = ref(*arrays)
    assert out.shape == np.shape(expected)
    assert out.dtype == dtype, f"{name} changed dtype {dtype.__name__} to {out.dtype}"
    assert out.device == device
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(to_np(out), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case, device):
    _, fn, _, shapes, domain, _ = case
    arrays = _inputs(shapes, domain, np.float64)
    assert gradcheck(fn, [tensor(a, device, requires_grad=True) for a in arrays])


SECOND = [c for c in CASES if c[5]]


@pytest.mark.parametrize("case", SECOND, ids=[c[0] for c in SECOND])
def test_gradgradcheck(case, device):
    _, fn, _, shapes, domain, _ = case
    arrays = _inputs(shapes, domain, np.float64)
    assert gradgradcheck(fn, [tensor(a, device, requires_grad=True) for a in arrays])


@pytest.mark.parametrize("fn", [tg.sigmoid, tg.softplus, tg.log_sigmoid, lambda a: tg.log_softmax(a, 0), tg.selu],
                         ids=["sigmoid", "softplus", "log_sigmoid", "log_softmax", "selu"])
def test_stable_at_extremes(fn, device):
    """No overflow, NaN or inf for logits of +-1000, where the naive formulas blow up."""
    x = tensor(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=np.float32), device, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    assert np.isfinite(to_np(y)).all()
    assert np.isfinite(to_np(x.grad)).all()


def test_log_sigmoid_extremes_values():
    y = tg.log_sigmoid(tg.Tensor([-1000.0, 1000.0]))
    np.testing.assert_allclose(y.numpy(), [-1000.0, 0.0], atol=1e-6)
    y = tg.softplus(tg.Tensor([-1000.0, 1000.0]))
    np.testing.assert_allclose(y.numpy(), [0.0, 1000.0], atol=1e-6)


def test_getitem_repeated_index_accumulates():
    x = tg.Tensor(np.zeros(3), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_max_splits_ties():
    x = tg.Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


def test_maximum_splits_ties():
    a, b = tg.Tensor([1.0, 2.0], requires_grad=True), tg.Tensor([1.0, 1.0], requires_grad=True)
    tg.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.0])


@pytest.mark.parametrize("call, message", [
    (lambda: tg.Tensor(np.ones((2, 3))) @ tg.Tensor(np.ones((2, 3))), "inner dimensions"),
    (lambda: tg.Tensor(np.ones(6)).reshape(4, 2), "cannot reshape"),
    (lambda: tg.Tensor(np.ones((2, 3))).sum(axis=2), "axis"),
    (lambda: tg.concat([tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((3, 3)))], axis=1), "shapes must match"),
    (lambda: tg.stack([tg.Tensor(np.ones(2)), tg.Tensor(np.ones(3))]), "one shape"),
    (lambda: tg.broadcast_to(tg.Tensor(np.ones(3)), (2, 4)), "cannot broadcast"),
    (lambda: tg.Tensor(np.ones(3, np.float32)) + tg.Tensor(np.ones(3, np.float64)), "one dtype"),
    (lambda: tg.clip(tg.Tensor([1.0]), 1.0, 0.0), "low <= high"),
    (lambda: tg.transpose(tg.Tensor(np.ones((2, 3))), (0, 0)), "permutation"),
    (lambda: tg.pad(tg.Tensor(np.ones((2, 3))), ((1, 1),)), "pad_width"),
])
def test_bad_arguments_give_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
