"""Module: registration, traversal, modes, devices, dtypes, counting, printing and state dicts."""

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, nn, optim

from helpers import tensor, to_np


class Block(nn.Module):
    """A custom module: a parameter, a buffer, two children, and a plain attribute."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.register_buffer("count", np.zeros(1, np.float32))
        self.fc = nn.Linear(2, 3)
        self.norm = nn.BatchNorm1d(3)
        self.note = "not registered"

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale


def small_net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 2, bias=False))


def test_named_parameters_order_and_names():
    net = small_net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight"]
    assert [p.shape for p in net.parameters()] == [(4, 3), (4,), (4,), (4,), (2, 4)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())

    block = Block()
    assert [n for n, _ in block.named_parameters()] == ["scale", "fc.weight", "fc.bias", "norm.weight", "norm.bias"]
    assert [n for n, _ in block.named_parameters(prefix="g")] == [
        "g.scale", "g.fc.weight", "g.fc.bias", "g.norm.weight", "g.norm.bias"]


def test_buffers_and_children():
    block = Block()
    assert [n for n, _ in block.named_buffers()] == ["count", "norm.running_mean", "norm.running_var"]
    np.testing.assert_array_equal(block.norm.running_var, np.ones(3))
    assert [n for n, _ in block.named_children()] == ["fc", "norm"]
    assert list(block.children()) == [block.fc, block.norm]
    assert [n for n, _ in block.named_modules()] == ["", "fc", "norm"]
    assert "note" not in dict(block.named_parameters()) and block.note == "not registered"
    # assigning an array to a registered buffer replaces the buffer (it stays registered)
    block.count = np.full(1, 7.0, np.float32)
    assert dict(block.named_buffers())["count"][0] == 7.0
    # replacing a parameter by a module (and back) keeps each in one table only
    block.scale = nn.Linear(1, 1)
    assert "scale" not in dict(block._parameters) and "scale.weight" in dict(block.named_parameters())
    # None switches off an optional parameter
    block.fc.bias = None
    assert "fc.bias" not in dict(block.named_parameters())


def test_unregistered_module_errors():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2, np.float32))  # forgot super().__init__()

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) before assigning"):
        Broken()
    with pytest.raises(AttributeError, match="'Linear' has no attribute 'wieght'"):
        nn.Linear(2, 2).wieght
    with pytest.raises(TypeError, match="expected a Parameter or None for 'w', got ndarray"):
        nn.Linear(2, 2).register_parameter("w", np.ones(2))
    with pytest.raises(TypeError, match="Sequential: argument 1: expected a Module, got int"):
        nn.Sequential(nn.ReLU(), 3)


def test_train_and_eval_propagate_without_a_global_flag():
    a, b = small_net(), small_net()
    assert all(m.training for m in a.modules())
    a.eval()
    assert not any(m.training for m in a.modules())
    assert all(m.training for m in b.modules())  # the other network is untouched: no global flag
    a.train()
    assert all(m.training for m in a.modules())
    a[1].eval()  # one sub-module alone
    assert [m.training for m in a.modules()] == [True, True, False, True, True]

    # behaviour follows each module's own flag: two dropouts in different modes at once
    d_train, d_eval = nn.Dropout(0.5), nn.Dropout(0.5).eval()
    x = tg.Tensor(np.ones((50, 50), np.float32))
    assert (d_train(x).numpy() == 0).any()
    np.testing.assert_array_equal(d_eval(x).numpy(), 1.0)
    assert a.train(False) is a and a.eval() is a


def test_zero_grad():
    net = small_net()
    net(tg.Tensor(np.ones((3, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_moves_parameters_and_buffers(device):
    net = small_net()
    opt = optim.SGD(net.parameters(), lr=0.1)
    params_before = [id(p) for p in net.parameters()]
    assert net.to(device) is net
    assert [id(p) for p in net.parameters()] == params_before  # same Parameter objects: opt still works
    assert all(p.device == device for p in net.parameters())
    assert all(backend.device_of(b) == device for b in net.buffers())
    assert net.device == device
    # (Rows that differ: with equal rows batch-norm's output is 0 and the first layer's gradient 0
    # exactly; only rounding would then move its weights.)
    x = tensor(np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32), device)
    net(x).sum().backward()
    before = to_np(net[0].weight).copy()
    opt.step()
    assert not np.array_equal(to_np(net[0].weight), before)
    with pytest.raises(ValueError, match=r"device: expected one of \('cpu', 'cuda'\), got 'tpu'"):
        net.to("tpu")


def test_to_cpu_keeps_values():
    net = small_net()
    state = net.state_dict()
    net.to("cpu")
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


def test_double_and_float():
    net = small_net()
    net(tg.Tensor(np.ones((3, 3), np.float32))).sum().backward()
    before = net.state_dict()
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(b.dtype == np.float64 for b in net.buffers())
    assert all(p.grad.dtype == np.float64 for p in net.parameters())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k].astype(np.float64))
    y = net(tg.Tensor(np.ones((3, 3))))
    assert y.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert all(b.dtype == np.float32 for b in net.buffers())


def test_num_parameters_by_hand():
    net = small_net()
    # Linear(3, 4): 3*4 + 4; BatchNorm1d(4): 4 + 4 (running stats are buffers); Linear(4, 2, bias=False): 8
    assert net.num_parameters() == 12 + 4 + 4 + 4 + 8
    net[1].weight.requires_grad = False
    assert net.num_parameters() == 32 - 4
    assert net.num_parameters(trainable_only=False) == 32
    conv = nn.Conv2d(3, 8, (3, 5))
    assert conv.num_parameters() == 8 * 3 * 3 * 5 + 8


def test_repr_looks_like_pytorch():
    net = nn.Sequential(
        nn.Linear(100, 256),
        nn.LeakyReLU(0.2),
        nn.Sequential(nn.Conv2d(1, 64, 4, stride=2, padding=1, bias=False), nn.ReLU()),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),
        nn.Tanh(),
    )
    expected = """Sequential(
  (0): Linear(in_features=100, out_features=256, bias=True)
  (1): LeakyReLU(negative_slope=0.2)
  (2): Sequential(
    (0): Conv2d(1, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)
    (1): ReLU()
  )
  (3): ConvTranspose2d(64, 1, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
  (4): Tanh()
)"""
    assert repr(net) == expected
    assert repr(nn.LayerNorm(8)) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"


def test_sequential_indexing():
    net = small_net()
    assert len(net) == 4 and isinstance(net[2], nn.LeakyReLU)
    head = net[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is net[0]
    assert [type(m).__name__ for m in net] == ["Linear", "BatchNorm1d", "LeakyReLU", "Linear"]


def test_state_dict_round_trip():
    tg.manual_seed(1)
    a = small_net()
    a(tg.Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)))  # move running stats
    state = a.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight",
                           "1.running_mean", "1.running_var"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    tg.manual_seed(2)
    b = small_net()
    assert not np.array_equal(b.state_dict()["0.weight"], state["0.weight"])
    b.load_state_dict(state)
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
        assert v.dtype == state[k].dtype
    x = tg.Tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(a.eval()(x).numpy(), b.eval()(x).numpy())


def test_state_dict_is_a_copy_both_ways():
    """Neither the saved dict nor the loaded module may share memory with the other: training
    after a load must not rewrite the dict (which might be loaded again elsewhere)."""
    a = small_net()
    state = a.state_dict()
    state["0.weight"][...] = 123.0
    assert not (a[0].weight.numpy() == 123.0).any()

    state = a.state_dict()
    saved = {k: v.copy() for k, v in state.items()}
    b = small_net()
    b.load_state_dict(state)
    opt = optim.SGD(b.parameters(), lr=0.5)
    b(tg.Tensor(np.ones((4, 3), np.float32))).sum().backward()  # also updates running stats in place
    opt.step()
    for k, v in state.items():
        np.testing.assert_array_equal(v, saved[k], err_msg=f"{k} was changed through the loaded module")


def test_load_state_dict_converts_dtype():
    a = small_net()
    state = {k: v.astype(np.float64) for k, v in a.state_dict().items()}
    b = small_net().load_state_dict(state)
    assert all(p.dtype == np.float32 for p in b.parameters())
    assert all(buf.dtype == np.float32 for buf in b.buffers())


def _weights(net):
    return {k: v.copy() for k, v in net.state_dict().items()}


def _assert_unchanged(net, before):
    after = net.state_dict()
    assert list(after) == list(before)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_load_state_dict_strict_errors_name_each_problem():
    net = small_net()
    good = net.state_dict()
    before = _weights(net)

    missing = {k: v for k, v in good.items() if k != "1.running_var"}
    with pytest.raises(ValueError, match=r"load_state_dict for Sequential: missing: 1\.running_var"):
        net.load_state_dict(missing)

    unexpected = dict(good, **{"9.weight": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match=r"unexpected: 9\.weight"):
        net.load_state_dict(unexpected)

    wrong = dict(good, **{"0.weight": np.zeros((4, 5), np.float32)})
    with pytest.raises(ValueError, match=r"wrong shapes: 0\.weight: expected shape \(4, 3\), got \(4, 5\)"):
        net.load_state_dict(wrong)

    all_three = {k: v for k, v in good.items() if k != "0.bias"}
    all_three["3.weight"] = np.zeros((3, 4), np.float32)
    all_three["extra"] = np.zeros(1, np.float32)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(all_three)
    message = str(info.value)
    assert "3.weight: expected shape (2, 4), got (3, 4)" in message
    assert "missing: 0.bias" in message and "unexpected: extra" in message
    _assert_unchanged(net, before)


def test_load_state_dict_non_strict():
    net = small_net()
    state = net.state_dict()
    partial = {"0.weight": np.full((4, 3), 0.5, np.float32), "unused": np.zeros(2)}
    net.load_state_dict(partial, strict=False)
    np.testing.assert_array_equal(net[0].weight.numpy(), 0.5)
    np.testing.assert_array_equal(net[0].bias.numpy(), state["0.bias"])
    with pytest.raises(ValueError, match="wrong shapes"):  # shapes are checked even when not strict
        net.load_state_dict({"0.weight": np.zeros((3, 3), np.float32)}, strict=False)


def test_state_dict_of_another_architecture_changes_nothing():
    net = small_net()
    before = _weights(net)
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 5))
    # the first entries fit and would be assigned first: they must not be
    other_state = other.state_dict()
    with pytest.raises(ValueError, match=r"3\.weight: expected shape \(2, 4\), got \(5, 4\).*unexpected: 3\.bias"):
        net.load_state_dict(other_state)
    _assert_unchanged(net, before)
    with pytest.raises(ValueError, match="missing"):
        net.load_state_dict(nn.Sequential(nn.Linear(3, 4)).state_dict())
    _assert_unchanged(net, before)


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert net.num_parameters() == 12
    assert list(net.state_dict()) == ["0.weight", "0.bias"]

    a, b = nn.Linear(4, 2), nn.Linear(4, 2)
    b.weight = a.weight  # tied weights
    pair = nn.Sequential(a, b)
    assert [n for n, _ in pair.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    optim.Adam(pair.parameters())  # would refuse a parameter listed twice
    x = tg.Tensor(np.ones((1, 4), np.float32))
    (a(x).sum() + b(x).sum()).backward()
    np.testing.assert_allclose(a.weight.grad.numpy(), 2.0)  # both uses add into the one weight


def test_apply_visits_every_module_children_first():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Tanh()))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    layers.append(nn.Linear(3, 1))
    assert len(layers) == 3 and layers[2].out_features == 1
    assert [n for n, _ in layers.named_parameters()][-2:] == ["2.weight", "2.bias"]
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module, got str"):
        layers.append("relu")
