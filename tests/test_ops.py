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


def _naive_dot(a, b):
    """sum_i a_i b_i, a 0-d array of the operands' dtype."""
    acc = a.dtype.type(0)
    for ai, bi in zip(a, b):
        acc += ai * bi
    return np.asarray(acc)


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
    ("clip_numpy_bounds", lambda a: tg.clip(a, np.float64(-0.5), np.float64(0.5)),
     lambda a: np.clip(a, a.dtype.type(-0.5), a.dtype.type(0.5)), [(4, 5)], "off_clip", False),
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
    ("glu", lambda a: tg.glu(a, axis=1), lambda a: a[:, :2] / (1 + np.exp(-a[:, 2:])), [(3, 4, 2)], "any", True),
    ("glu_last_axis", lambda a: tg.glu(a, axis=-1), lambda a: a[..., :3] / (1 + np.exp(-a[..., 3:])), [(2, 6)], "any",
     True),
    ("matmul", tg.matmul, np.matmul, [(3, 4), (4, 2)], "any", True),
    ("matmul_batched", tg.matmul, np.matmul, [(2, 3, 4), (2, 4, 5)], "any", True),
    ("matmul_broadcast", tg.matmul, np.matmul, [(2, 3, 4), (4, 5)], "any", True),
    ("matmul_vector", tg.matmul, np.matmul, [(3, 4), (4,)], "any", True),
    ("vector_matmul", tg.matmul, np.matmul, [(4,), (4, 2)], "any", True),
    ("vector_matmul_batched", tg.matmul, np.matmul, [(4,), (3, 4, 2)], "any", True),
    ("dot", tg.matmul, lambda a, b: _naive_dot(a, b), [(4,), (4,)], "any", True),
    ("dot_1", tg.matmul, lambda a, b: _naive_dot(a, b), [(1,), (1,)], "any", True),
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
    (lambda: tg.glu(tg.Tensor(np.ones((2, 3)))), "glu: input: expected an even size along axis 1"),
])
def test_bad_arguments_give_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ----------------------------------------------------------------------------------------------
# Values where a formula breaks down (each was once wrong)
# ----------------------------------------------------------------------------------------------

POW_AT_ZERO = [  # c, d/dx x^c, d2/dx2 x^c (closed forms)
    (0, lambda x: np.zeros_like(x), lambda x: np.zeros_like(x)),
    (1, lambda x: np.ones_like(x), lambda x: np.zeros_like(x)),
    (2, lambda x: 2 * x, lambda x: np.full_like(x, 2.0)),
]


@pytest.mark.parametrize("c, d1, d2", POW_AT_ZERO, ids=[f"x**{c[0]}" for c in POW_AT_ZERO])
def test_pow_derivatives_at_zero(c, d1, d2, device):
    """c x^(c-1) is 0 * inf = NaN at x = 0 for c = 0 (and, one order up, for c = 1); the
    derivatives are 0 there."""
    x_np = np.array([0.0, 0.0, 1.5, -0.8])
    x = tensor(x_np, device, requires_grad=True)
    (g,) = tg.grad((x ** c).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(to_np(g), d1(x_np))
    if g.requires_grad:  # x^0 has a constant derivative: nothing to differentiate again
        (gg,) = tg.grad(g.sum(), [x], allow_unused=True)
        gg = np.zeros_like(x_np) if gg is None else to_np(gg)
    else:
        gg = np.zeros_like(x_np)
    np.testing.assert_array_equal(gg, d2(x_np))
    assert gradcheck(lambda a: a ** c, [tensor(x_np, device, requires_grad=True)])
    assert gradgradcheck(lambda a: a ** c, [tensor(x_np, device, requires_grad=True)])


@pytest.mark.parametrize("n", [1, 5])
def test_dot_of_two_vectors(n, device, rng):
    """vector @ vector is the 0-d dot product (also for n = 1); d/da = b, d/db = a."""
    a_np, b_np = rng.standard_normal(n), rng.standard_normal(n)
    a, b = tensor(a_np, device, requires_grad=True), tensor(b_np, device, requires_grad=True)
    y = a @ b
    assert y.shape == ()
    assert abs(y.item() - float(_naive_dot(a_np, b_np))) <= 1e-12
    y.backward()
    np.testing.assert_array_equal(to_np(a.grad), b_np)
    np.testing.assert_array_equal(to_np(b.grad), a_np)


def test_clip_with_numpy_float64_bounds_keeps_float32(device):
    """NumPy 2 turns a float32 array clipped by np.float64 bounds into float64; the bounds take
    the tensor's dtype instead, and the backward (once a dtype error) works."""
    x_np = np.array([-2.0, -0.3, 0.0, 0.4, 3.0], dtype=np.float32)
    x = tensor(x_np, device, requires_grad=True)
    y = tg.clip(x, np.float64(-0.5), np.float64(0.5))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(to_np(y), np.array([-0.5, -0.3, 0.0, 0.4, 0.5], dtype=np.float32))
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(to_np(x.grad), np.array([0.0, -0.6, 0.0, 0.8, 0.0], dtype=np.float32))


def _sigmoid_reference(x):
    """sigmoid of each element, exactly rounded: 1 / (1 + e^-x) in 60-digit decimal arithmetic.
    Beyond |x| = 1000 the value is within 1e-434 of 0 or 1, so x is clamped there (the rounded
    result is the same)."""
    from decimal import Decimal, localcontext
    out = np.empty(x.shape, dtype=np.float64)
    with localcontext() as ctx:
        ctx.prec = 60
        for i, v in enumerate(np.clip(x.astype(np.float64), -1000.0, 1000.0)):
            out[i] = float(1 / (1 + (-Decimal(float(v))).exp()))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_relative_error_over_the_whole_float_range(dtype, device):
    """A few ulps of relative error from the largest negative float to the largest positive one.
    The form (1 + tanh(x/2)) / 2 cancels on the negative tail: in float32 it returned 0 for
    x <= -20 (true value 2.06e-9) and was 2.6% off at -15."""
    info = np.finfo(dtype)
    magnitudes = np.geomspace(float(info.tiny), float(info.max) / 2, 2001).tolist() + [float(info.max)]
    lim = np.log(float(info.max))  # where e^-|x| underflows: both tails in steps of ~0.1
    steps = np.linspace(-1.2 * lim, 1.2 * lim, 20 * int(lim) + 1)
    x = np.concatenate([-np.array(magnitudes), [0.0], magnitudes, steps, [-np.inf, np.inf]]).astype(dtype)
    ref = _sigmoid_reference(x)
    y = to_np(tg.sigmoid(tensor(x, device)))
    assert y.dtype == dtype
    # relative to the value where it is a normal float; below that, within its underflow step
    ref_rounded = ref.astype(dtype).astype(np.float64)
    err = np.abs(y.astype(np.float64) - ref)
    bound = 4 * float(info.eps) * ref + float(info.smallest_subnormal)
    worst = np.argmax(err / bound)
    assert (err <= bound).all(), f"sigmoid({x[worst]!r}) = {y[worst]!r}, expected {ref[worst]!r}"
    # the tail that (1 + tanh(x/2)) / 2 cancels to 0: e^x to a few ulps for -80 < x < -20 (float32 too)
    tail = (x < -20) & (x > -80)
    assert tail.sum() > 500
    np.testing.assert_allclose(y[tail], ref_rounded[tail], rtol=4 * float(info.eps), atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_of_sigmoid_is_finite_on_the_negative_tail(dtype, device):
    """log(sigmoid(x)) = x - log1p(e^x) and d/dx = 1 - sigmoid(x) = 1 / (1 + e^x): finite and
    precise where sigmoid(x) is a normal float (it was -inf with a NaN gradient from x = -20 on
    in float32)."""
    lowest = -80.0 if dtype == np.float32 else -700.0
    x_np = np.linspace(lowest, -20.0, 31).astype(dtype)
    x = tensor(x_np, device, requires_grad=True)
    y = tg.log(tg.sigmoid(x))
    y.sum().backward()
    x64 = x_np.astype(np.float64)
    tol = 8 * float(np.finfo(dtype).eps)
    np.testing.assert_allclose(to_np(y), x64 - np.log1p(np.exp(x64)), rtol=tol, atol=0)
    np.testing.assert_allclose(to_np(x.grad), 1.0 / (1.0 + np.exp(x64)), rtol=tol, atol=0)
