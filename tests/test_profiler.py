"""tinygan.profile(): which rows a step makes, their calls and FLOPs by closed form, and that the
times add up to the block's time."""

import json

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan import tensor as _tensor
from tinygan.graph import record_modules
from tinygan.optim import Adam

from helpers import tensor


def small_gan_step(device):
    tg.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 2 * 3 * 3), nn.Unflatten(1, (2, 3, 3)), nn.ConvTranspose2d(2, 3, 4, 2, 1),
                      nn.Tanh()).to(device)
    D = nn.Sequential(nn.Conv2d(3, 5, 3, 1, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(5 * 6 * 6, 1)).to(device)
    opt = Adam(D.parameters())
    z = tensor(np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32), device)

    def step():
        loss = D(G(z)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, {"G": G, "D": D}


def test_rows_name_the_op_the_phase_and_the_layer(device):
    step, modules = small_gan_step(device)
    with tg.profile(modules=modules) as prof:
        step()
        step()
    rows = prof.rows
    assert rows[("Conv2d", "forward", "D.0 Conv2d")][0] == 2
    assert rows[("Conv2d", "backward", "D.0 Conv2d")][0] == 2
    assert rows[("ConvTranspose2d", "forward", "G.2 ConvTranspose2d")][0] == 2
    assert rows[("Linear", "forward", "G.0 Linear")][0] == 2
    assert rows[("LeakyReLU", "backward", "D.1 LeakyReLU")][0] == 2
    assert rows[("Adam.step", "optimizer", "-")][0] == 2
    assert rows[("backward engine", "backward", "-")][0] == 2
    # Conv2d's backward runs a transposed convolution and a weight gradient: booked to the backward,
    # not as forwards of their own.
    assert not any(op == "Conv2dWeight" for op, _, _ in rows)
    assert ("ConvTranspose2d", "forward", "D.0 Conv2d") not in rows


def test_flops_are_the_closed_forms(device):
    step, modules = small_gan_step(device)
    with tg.profile(modules=modules) as prof:
        step()
    n = 7
    flops = {key: row[2] for key, row in prof.rows.items()}
    assert flops[("Linear", "forward", "G.0 Linear")] == 2 * n * 4 * 18
    assert flops[("Linear", "forward", "D.3 Linear")] == 2 * n * 180 * 1
    conv = 2 * (n * 5 * 6 * 6) * (3 * 3 * 3)  # 2 C KH KW per output value
    assert flops[("Conv2d", "forward", "D.0 Conv2d")] == conv
    # dx (a transposed convolution) and dw (the weight gradient) each cost what the forward did
    assert flops[("Conv2d", "backward", "D.0 Conv2d")] == 2 * conv
    assert flops[("ConvTranspose2d", "forward", "G.2 ConvTranspose2d")] == 2 * (n * 2 * 3 * 3) * (3 * 4 * 4)
    # Linear's backward (on raw arrays when no graph is wanted) books its products too: D.3's dx and
    # dW, G.0's dW alone (z needs no gradient).
    assert flops[("Linear", "backward", "D.3 Linear")] == 2 * (2 * n * 180 * 1)
    assert flops[("Linear", "backward", "G.0 Linear")] == 2 * n * 4 * 18
    assert flops[("Tanh", "forward", "G.3 Tanh")] == 0


def test_self_times_and_untracked_time_add_up_to_the_block(device):
    step, modules = small_gan_step(device)
    with tg.profile(modules=modules) as prof:
        for _ in range(3):
            step()
    seconds = [row[1] for row in prof.rows.values()]
    assert all(s >= 0 for s in seconds)
    assert sum(seconds) <= prof.wall
    assert sum(seconds) + prof.untracked() == pytest.approx(prof.wall, rel=1e-9)


def test_table_groups_and_json(device, tmp_path):
    step, modules = small_gan_step(device)
    path = tmp_path / "profile.json"
    with tg.profile(modules=modules, path=path) as prof:
        step()
        step()
    table = prof.table(steps=2, top=3)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["op", "phase", "layer", "calls"]
    assert any(line.startswith("(untracked)") for line in lines)
    assert any(line.startswith("total") for line in lines)
    assert any("more rows" in line for line in lines)
    by_op = {(r["op"], r["phase"]): r for r in prof.grouped("op")}
    assert by_op[("Conv2d", "forward")]["calls"] == 2
    by_layer = {r["layer"]: r for r in prof.grouped("layer")}
    assert by_layer["D.0 Conv2d"]["calls"] == 4  # forward and backward, two steps
    saved = json.loads(path.read_text())
    assert saved["wall_seconds"] == pytest.approx(prof.wall)
    assert {(r["op"], r["phase"], r["layer"]) for r in saved["rows"]} == set(prof.rows)
    with pytest.raises(ValueError, match="by: expected 'row', 'op' or 'layer', got 'module'"):
        prof.grouped("module")
    with pytest.raises(ValueError, match="steps: expected a positive integer, got 0"):
        prof.table(steps=0)


def test_layers_without_names_use_the_class_and_ops_outside_modules_a_dash():
    x = tg.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    layer = nn.Linear(3, 2)
    with tg.profile() as prof:
        (layer(x) * 2.0).sum().backward()
    assert ("Linear", "forward", "Linear") in prof.rows
    assert ("Mul", "forward", "-") in prof.rows
    assert ("Sum", "backward", "-") in prof.rows


def test_the_observer_is_removed_after_the_block_even_on_error():
    with pytest.raises(RuntimeError, match="boom"):
        with tg.profile():
            raise RuntimeError("boom")
    assert _tensor._observer is None


def test_one_observer_at_a_time():
    with record_modules():
        with pytest.raises(RuntimeError, match="profile: another observer is active"):
            with tg.profile():
                pass
    with tg.profile():
        with pytest.raises(RuntimeError, match="record_modules: another observer is active"):
            with record_modules():
                pass
    assert _tensor._observer is None


def test_double_backward_inside_a_profile_is_booked_and_correct():
    """WGAN-GP's penalty: a backward with create_graph, then a backward through it."""
    x = tg.Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    w = tg.Tensor(np.arange(6.0).reshape(3, 2) / 6, requires_grad=True)
    with tg.profile() as prof:
        (g,) = [tg.grad(tg.tanh(x @ w).sum(), x, create_graph=True)]
        (g * g).sum().backward()
    expected = w.grad.numpy().copy()
    w.grad = None
    (g2,) = [tg.grad(tg.tanh(x @ w).sum(), x, create_graph=True)]
    (g2 * g2).sum().backward()
    np.testing.assert_allclose(expected, w.grad.numpy(), rtol=1e-12)
    assert ("MatMul", "backward", "-") in prof.rows
