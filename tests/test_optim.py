"""Optimizers against their update rules written out by hand (PyTorch's documentation), in
float64 NumPy: the first three steps on a tiny parameter with fixed gradients."""

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, nn, optim

from helpers import to_np

W0 = np.array([0.5, -1.5, 2.0, 0.0])
GRADS = [np.array([0.1, -0.2, 0.3, 0.05]),
         np.array([-0.3, 0.01, 0.2, -0.04]),
         np.array([0.25, 0.5, -0.1, 0.02])]


# ---- the rules, by hand -------------------------------------------------------------------------


def sgd_by_hand(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """g <- g + wd w;  b <- g (t = 1) or mu b + (1 - dampening) g;  g <- g + mu b (nesterov) or b;
    w <- w - lr g."""
    w, b, out = W0.copy(), None, []
    for t, g in enumerate(GRADS, 1):
        g = g + weight_decay * w
        if momentum != 0:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        w = w - lr * g
        out.append(w.copy())
    return out


def adam_by_hand(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """g <- g + wd w;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)."""
    b1, b2 = betas
    w, m, v, out = W0.copy(), np.zeros(4), np.zeros(4), []
    for t, g in enumerate(GRADS, 1):
        g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w.copy())
    return out


def rmsprop_by_hand(lr, alpha=0.99, eps=1e-8, weight_decay=0.0):
    """g <- g + wd w;  v <- alpha v + (1 - alpha) g^2;  w <- w - lr g / (sqrt(v) + eps)."""
    w, v, out = W0.copy(), np.zeros(4), []
    for g in GRADS:
        g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        w = w - lr * g / (np.sqrt(v) + eps)
        out.append(w.copy())
    return out


RULES = {"SGD": sgd_by_hand, "Adam": adam_by_hand, "RMSprop": rmsprop_by_hand}

CONFIGS = [  # (optimizer, hyper-parameters): each hyper-parameter is chosen to change the result
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.7, "nesterov": True, "weight_decay": 0.2}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.5, 0.9)}),
    ("Adam", {"lr": 0.02, "betas": (0.0, 0.9)}),
    ("Adam", {"lr": 0.01, "eps": 0.05}),            # eps comparable with sqrt(v_hat): it matters
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 0.5}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "eps": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.5, "weight_decay": 0.3}),
]
CONFIG_IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in hyper.items()) for name, hyper in CONFIGS]


def _param(device, dtype=np.float64, values=W0):
    return nn.Parameter(backend.to_device(values.astype(dtype), device))


def _set_grad(p, g):
    p.grad = tg.Tensor(backend.to_device(g.astype(p.dtype), p.device))


@pytest.mark.parametrize("name, hyper", CONFIGS, ids=CONFIG_IDS)
def test_first_three_steps_match_the_rule_by_hand(name, hyper, device):
    p = _param(device)
    opt = getattr(optim, name)([p], **hyper)
    expected = RULES[name](**hyper)
    for t, g in enumerate(GRADS):
        _set_grad(p, g)
        opt.step()
        np.testing.assert_allclose(to_np(p), expected[t], rtol=1e-12, atol=1e-15, err_msg=f"step {t + 1}")
    assert opt.step_count == 3


@pytest.mark.parametrize("name, hyper", CONFIGS, ids=CONFIG_IDS)
def test_float32_parameters_stay_float32(name, hyper, device):
    p = _param(device, np.float32)
    data_before = p.data
    opt = getattr(optim, name)([p], **hyper)
    for g in GRADS:
        _set_grad(p, g)
        opt.step()
        assert p.dtype == np.float32
    assert p.data is data_before  # updated in place
    for key, buf in opt.state[0].items():
        assert buf.dtype == np.float32, key
    # and the float32 result is the float64 rule rounded (no drift from a float64 detour)
    np.testing.assert_allclose(to_np(p), RULES[name](**hyper)[-1], rtol=1e-5, atol=1e-6)


def _run(opt_factory, params, steps, start=0):
    opt = opt_factory(params)
    for t in range(start, start + steps):
        for i, p in enumerate(params):  # gradients that depend on the parameter: the path matters
            g = 0.3 * to_np(p) + np.sin(np.arange(p.size) + t + i).reshape(p.shape)
            _set_grad(p, g)
        opt.step()
    return opt


@pytest.mark.parametrize("name, hyper", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_round_trip_resumes_exactly(name, hyper, device):
    cls = getattr(optim, name)
    factory = lambda ps: cls(ps, **hyper)  # noqa: E731
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]

    straight = [_param(device, np.float32, a) for a in init]
    opt = _run(factory, straight, 3)
    for t in range(3, 6):
        for i, p in enumerate(straight):
            _set_grad(p, 0.3 * to_np(p) + np.sin(np.arange(p.size) + t + i).reshape(p.shape))
        opt.step()

    first = [_param(device, np.float32, a) for a in init]
    saved = _run(factory, first, 3).state_dict()
    resumed = [_param(device, np.float32, to_np(p)) for p in first]
    fresh = cls(resumed, **hyper)
    fresh.load_state_dict(saved)
    assert fresh.step_count == 3
    for t in range(3, 6):
        for i, p in enumerate(resumed):
            _set_grad(p, 0.3 * to_np(p) + np.sin(np.arange(p.size) + t + i).reshape(p.shape))
        fresh.step()
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(to_np(a), to_np(b))


def test_state_dict_contents_and_independence():
    p = _param("cpu")
    opt = optim.Adam([p], lr=0.1, betas=(0.5, 0.9))
    _set_grad(p, GRADS[0])
    opt.step()
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["step_count"] == 1
    assert state["hyper"] == {"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-8, "weight_decay": 0.0}
    assert sorted(state["arrays"]) == ["0.exp_avg", "0.exp_avg_sq"]
    np.testing.assert_allclose(state["arrays"]["0.exp_avg"], 0.5 * GRADS[0])
    saved = {k: v.copy() for k, v in state["arrays"].items()}

    # stepping either optimizer must not write into the saved dict
    opt.step()
    other = optim.Adam([_param("cpu")], lr=0.1)
    other.load_state_dict(state)
    _set_grad(other.params[0], GRADS[1])
    other.step()
    for k in saved:
        np.testing.assert_array_equal(state["arrays"][k], saved[k], err_msg=k)
    assert other.hyper["betas"] == (0.5, 0.9)  # the hyper-parameters come with the state


def test_load_state_dict_refuses_mismatches():
    p = _param("cpu")
    adam = optim.Adam([p])
    _set_grad(p, GRADS[0])
    adam.step()
    state = adam.state_dict()
    with pytest.raises(ValueError, match="SGD.load_state_dict: the state is of a Adam optimizer"):
        optim.SGD([_param("cpu")]).load_state_dict(state)
    with pytest.raises(ValueError, match=r"buffer '0.exp_avg': expected shape \(3,\) .*got \(4,\)"):
        optim.Adam([_param("cpu", values=np.zeros(3))]).load_state_dict(state)
    state["arrays"]["1.exp_avg"] = np.zeros(4)
    with pytest.raises(ValueError, match="buffer '1.exp_avg' is for parameter 1, but the optimizer has 1 parameters"):
        optim.Adam([_param("cpu")]).load_state_dict(state)


@pytest.mark.parametrize("call, exc, message", [
    (lambda ps: optim.SGD(ps, lr=-0.1), ValueError, r"SGD: lr: expected a positive learning rate, got -0.1"),
    (lambda ps: optim.Adam(ps, lr=-1e-3), ValueError, r"Adam: lr: expected a positive learning rate, got -0.001"),
    (lambda ps: optim.RMSprop(ps, lr=-1.0), ValueError, r"RMSprop: lr: expected a positive learning rate"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), ValueError,
     r"Adam: betas: expected two values in \[0, 1\), got \(1.0, 0.999\)"),
    (lambda ps: optim.Adam(ps, betas=(0.5, -0.1)), ValueError, r"Adam: betas: expected two values in \[0, 1\)"),
    (lambda ps: optim.Adam(ps, momentum=0.9), TypeError,
     r"Adam: unknown argument 'momentum'; expected one of \['betas', 'eps', 'lr', 'weight_decay'\]"),
    (lambda ps: optim.SGD(ps, beta=0.9), TypeError, r"SGD: unknown argument 'beta'"),
    (lambda ps: optim.SGD([]), ValueError, r"SGD: params: expected at least one parameter, got an empty list"),
    (lambda ps: optim.Adam(iter([])), ValueError, r"Adam: params: expected at least one parameter"),
    (lambda ps: optim.SGD(ps, weight_decay=-1.0), ValueError, r"SGD: weight_decay: expected >= 0, got -1.0"),
    (lambda ps: optim.SGD(ps, momentum=-0.5), ValueError, r"SGD: momentum: expected >= 0, got -0.5"),
    (lambda ps: optim.SGD(ps, nesterov=True), ValueError,
     r"SGD: nesterov needs a positive momentum and zero dampening"),
    (lambda ps: optim.RMSprop(ps, alpha=1.0), ValueError, r"RMSprop: alpha: expected a value in \[0, 1\), got 1.0"),
    (lambda ps: optim.SGD(ps + ps), ValueError, r"SGD: params: a parameter appears twice"),
    (lambda ps: optim.SGD([np.zeros(3)]), TypeError,
     r"SGD: params\[0\]: expected a Tensor with requires_grad=True, got ndarray"),
], ids=["sgd_lr", "adam_lr", "rmsprop_lr", "betas_1", "betas_neg", "adam_kwarg", "sgd_kwarg", "empty_list",
        "empty_iterator", "weight_decay", "momentum", "nesterov", "alpha", "twice", "not_a_tensor"])
def test_bad_hyper_parameters_give_clear_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call([_param("cpu")])


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_a_parameter_without_grad_is_skipped(name, device):
    used, unused = _param(device), _param(device, values=np.array([1.0, 2.0]))
    opt = getattr(optim, name)([used, unused], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    for g in GRADS:
        _set_grad(used, g)
        opt.step()
    np.testing.assert_array_equal(to_np(unused), [1.0, 2.0])
    assert opt.state[1] == {}
    assert not np.array_equal(to_np(used), W0)


def test_zero_grad_and_lr_property():
    p = _param("cpu")
    opt = optim.SGD([p], lr=0.1)
    _set_grad(p, GRADS[0])
    opt.zero_grad()
    assert p.grad is None
    opt.lr = 0.5
    assert opt.hyper["lr"] == 0.5
    _set_grad(p, GRADS[0])
    opt.step()
    np.testing.assert_allclose(p.numpy(), W0 - 0.5 * GRADS[0], rtol=1e-14)


def test_gradient_of_another_dtype_is_refused():
    p = _param("cpu", np.float32)
    p.grad = tg.Tensor(GRADS[0])  # float64
    with pytest.raises(TypeError, match="a gradient of dtype float64 for a parameter of dtype float32"):
        optim.SGD([p]).step()


def test_training_a_module_reduces_a_loss():
    """End to end: Adam fits a linear map (learning happens through module, autograd and optimizer)."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    model = nn.Linear(3, 1)
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = ((model(tg.Tensor(x)) - tg.Tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-3 * losses[0]
    np.testing.assert_allclose(model.weight.numpy(), [[1.0, -2.0, 0.5]], atol=0.02)


def test_adam_bias_correction_counts_each_parameters_own_steps():
    """PyTorch keeps a step count per parameter: a parameter whose first gradient arrives at the
    optimizer's third step gets the bias correction of a first step (an update of size lr)."""
    a = nn.Parameter(np.zeros(1, np.float32))
    b = nn.Parameter(np.zeros(1, np.float32))
    opt = optim.Adam([a, b], lr=0.1)
    for step in range(3):
        a.grad = tg.Tensor(np.ones(1, np.float32))
        b.grad = tg.Tensor(np.ones(1, np.float32)) if step == 2 else None
        opt.step()
    assert opt.param_steps == [3, 1]
    np.testing.assert_allclose(b.data, [-0.1], rtol=1e-5)  # m_hat = v_hat = 1 after one step of g = 1
