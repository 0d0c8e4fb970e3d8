"""The autograd graph as data and as a picture: tinygan.graph and tinygan.viz.draw_graph."""

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn, tensor
from tinygan.graph import build_graph, format_values, layered_layout, node_lines, record_modules, record_output_shapes
from tinygan.viz import draw_graph


def titled_edges(graph):
    return {(graph.nodes[a].title, graph.nodes[b].title) for a, b in graph.edges}


def test_small_graph_nodes_edges_and_names():
    a = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True, name="a")
    b = tg.Tensor([4.0, 5.0, 6.0], requires_grad=True, name="b")
    g = build_graph((a * b + a).sum())
    assert sorted(g.names()) == ["Add", "Mul", "Sum", "a", "b"]
    assert len(g.edges) == 5
    assert titled_edges(g) == {("a", "Mul"), ("b", "Mul"), ("Mul", "Add"), ("a", "Add"), ("Add", "Sum")}
    by_title = {n.title: n for n in g.nodes.values()}
    assert by_title["Sum"].is_output and by_title["Sum"].shape == ()
    assert by_title["Mul"].shape == (3,) and by_title["a"].kind == "input"
    assert sum(n.is_output for n in g.nodes.values()) == 1


def test_constants_are_not_nodes():
    """Only tensors that require grad are part of the recorded graph."""
    a = tg.Tensor([1.0, 2.0], requires_grad=True, name="a")
    g = build_graph((a * tg.Tensor([3.0, 4.0]) + 1.0).sum())
    assert sorted(g.names()) == ["Add", "Mul", "Sum", "a"] and len(g.edges) == 3


def test_parameters_are_named_by_module_path():
    fc = nn.Linear(3, 2)
    x = tg.Tensor(np.ones((4, 3), np.float32))
    g = build_graph(fc(x).sum(), modules={"fc": fc}, collapse=None)
    assert sorted(g.names()) == ["Linear", "Sum", "fc.bias", "fc.weight"]
    assert titled_edges(g) == {("fc.weight", "Linear"), ("fc.bias", "Linear"), ("Linear", "Sum")}
    assert {n.kind for n in g.nodes.values() if n.title.startswith("fc.")} == {"param"}


def mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))


def test_collapsing_a_sequential_into_one_box():
    net = mlp()
    x = tg.Tensor(np.ones((2, 3), np.float32), requires_grad=True, name="x")
    with record_modules():
        y = net(x).sum()
    g = build_graph(y, modules={"net": net}, collapse=["net"])
    assert sorted(g.names()) == ["Sum", "net Sequential", "x"]
    assert titled_edges(g) == {("x", "net Sequential"), ("net Sequential", "Sum")}
    box = next(n for n in g.nodes.values() if n.kind == "module")
    assert box.shape == (2, 1) and box.detail == "+ 0.weight, 0.bias, 2.weight, 2.bias"  # its four parameters, inside
    assert sorted(box.functions) == ["Linear", "Linear", "Tanh"]
    assert build_graph(y, modules={"net": net}, collapse=1).names() == g.names()  # depth 1 is the same box

    layers = build_graph(y, modules={"net": net})  # the default: one box per layer
    assert sorted(layers.names()) == ["Sum", "net.0 Linear", "net.1 Tanh", "net.2 Linear", "x"]
    assert titled_edges(layers) == {("x", "net.0 Linear"), ("net.0 Linear", "net.1 Tanh"),
                                    ("net.1 Tanh", "net.2 Linear"), ("net.2 Linear", "Sum")}

    expanded = build_graph(y, modules={"net": net}, collapse=None)
    assert sorted(expanded.names()) == ["Linear", "Linear", "Sum", "Tanh", "net.0.bias", "net.0.weight",
                                        "net.2.bias", "net.2.weight", "x"]


def test_a_module_called_twice_is_two_boxes():
    lin = nn.Linear(2, 2)
    x = tg.Tensor(np.ones((1, 2), np.float32), requires_grad=True, name="x")
    with record_modules():
        y = lin(lin(x)).sum()
    g = build_graph(y, modules={"lin": lin})
    assert sorted(g.names()) == ["Sum", "lin Linear", "lin Linear", "lin.bias", "lin.weight", "x"]
    # its parameters feed both calls, so they stay leaves of their own
    assert ("lin.weight", "lin Linear") in titled_edges(g)


def test_graph_of_a_gradient_shows_the_backward_ops():
    """create_graph=True: the gradient's graph is made of the ops each Function's backward ran."""
    net = mlp()
    x = tg.Tensor(np.ones((2, 3), np.float32), requires_grad=True, name="x")
    with record_modules():
        gx = tg.grad(net(x).sum(), x, create_graph=True)
        penalty = (gx * gx).sum()
    expanded = build_graph(penalty, modules={"net": net}, collapse=None)
    made_by_backward = {(n.title, n.detail) for n in expanded.nodes.values() if n.detail}
    # Linear's backward: gy @ W (MatMul); tanh's: gy * (1 - y^2)
    assert ("MatMul", "in ∂Linear") in made_by_backward
    assert any(d == "in ∂Tanh" for _, d in made_by_backward)
    assert "Tanh" in expanded.names()  # tanh's backward uses its forward output: the forward is in the graph

    g = build_graph(penalty, modules={"net": net})
    names = g.names()
    for title in ("∂ net.0 Linear", "∂ net.1 Tanh", "∂ net.2 Linear", "net.1 Tanh"):
        assert title in names
    assert {n.kind for n in g.nodes.values() if n.title.startswith("∂")} == {"backward"}
    edges = titled_edges(g)
    assert ("∂ net.2 Linear", "∂ net.1 Tanh") in edges and ("∂ net.1 Tanh", "∂ net.0 Linear") in edges
    assert ("net.1 Tanh", "∂ net.1 Tanh") in edges  # the backward reads the forward's output
    pos = layered_layout(g)
    assert all(pos[a][1] < pos[b][1] for a, b in g.edges)  # every arrow points down


def test_recording_is_off_outside_the_block():
    net = mlp()
    x = tg.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = net(x)
    assert tensor._observer is None and not hasattr(y.grad_fn, "_graph_scope")
    with pytest.raises(ZeroDivisionError):
        with record_modules():
            1 / 0
    assert tensor._observer is None
    # untagged Functions cannot be collapsed: every Function stays its own node
    assert sorted(build_graph(y.sum(), modules={"net": net}).names()) == sorted(
        build_graph(y.sum(), modules={"net": net}, collapse=None).names())


def test_errors():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="outputs\\[0\\]"):
        build_graph(tg.Tensor([1.0]))
    with pytest.raises(TypeError, match="outputs\\[0\\]"):
        build_graph([np.ones(2)])
    with pytest.raises(ValueError, match="collapse"):
        build_graph(a.sum(), collapse="modules")
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        build_graph(y)


def test_to_dot():
    a = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True, name="a")
    b = tg.Tensor([4.0, 5.0, 6.0], requires_grad=True, name="b")
    text = build_graph((a * b + a).sum()).to_dot()
    assert text.startswith("digraph tinygan {") and text.rstrip().endswith("}")
    assert text.count(" -> ") == 5 and text.count("[label=") == 5
    assert 'label="Mul\\n(3,)"' in text and "penwidth" in text


def test_draw_graph_of_a_dcgan_step_and_a_wgan_gp_penalty(tmp_path):
    from tinygan.gan.dcgan import DCGAN
    from tinygan.gan.losses import gradient_penalty
    from tinygan.gan.wgan_gp import WGANGP
    r = DCGAN()
    with record_modules():
        loss, _ = r.g_loss(4, None)
    g = draw_graph(loss, tmp_path / "step.png", modules=r.networks(), dot=True)
    assert (tmp_path / "step.png").stat().st_size > 10_000 and (tmp_path / "step.dot").exists()
    names = g.names()
    assert names.count("G.0 Linear") == 1 and "G.8 Tanh" in names and "D.6 Linear" in names
    assert len(g.nodes) == 20 and len(g.edges) == 19  # 9 + 7 layers, then -l, softplus, sum, * 1/n: one chain

    w = WGANGP()
    real = tg.Tensor(np.zeros((4, 1, 28, 28), np.float32))
    with record_modules():
        gp = gradient_penalty(w.D, real, w.draw_fakes(4))
    g = draw_graph(gp, tmp_path / "gp.png", modules=w.networks())
    names = g.names()
    assert "x_hat" in names and "D.0 Conv2d" in names
    assert all(f"∂ D.{i} {kind}" in names for i, kind in enumerate(
        ["Conv2d", "LeakyReLU", "Conv2d", "LayerNorm", "LeakyReLU", "Flatten", "Linear"]))


def chain_rule_graph():
    """L = (tanh(w x + b) - t)^2, the tour's first example, with its values by hand."""
    x, t = 1.5, 0.2
    w = tg.Tensor(np.float64(0.8), requires_grad=True, name="w")
    b = tg.Tensor(np.float64(-0.3), requires_grad=True, name="b")
    loss = (tg.tanh(w * x + b) - t) ** 2
    u = 0.8 * x - 0.3
    y = np.tanh(u)
    dl_dy = 2 * (y - t)
    dl_du = dl_dy * (1 - y * y)
    by_hand = {"w": (0.8, dl_du * x), "b": (-0.3, dl_du), "Mul": (0.8 * x, dl_du), "Add": (u, dl_du),
               "Tanh": (y, dl_dy), "Sub": (y - t, dl_dy), "Pow": ((y - t) ** 2, 1.0)}
    return loss, (w, b), by_hand


def test_values_and_gradients_label_every_node_as_micrograd_does():
    loss, (w, b), by_hand = chain_rule_graph()
    g = build_graph(loss, values=True, grads=True)
    assert sorted(g.names()) == sorted(by_hand)
    for node in g.nodes.values():
        value, grad = by_hand[node.title]
        assert np.isclose(float(node.value), value) and np.isclose(float(node.grad), grad), node.title
    assert w.grad is None and b.grad is None  # labelling leaves .grad alone ...
    loss.backward()                            # ... and the graph in place
    assert np.isclose(w.grad.item(), by_hand["w"][1]) and np.isclose(b.grad.item(), by_hand["b"][1])

    values_only = build_graph((w * 2.0).sum(), values=True)
    assert all(n.grad is None and n.value is not None for n in values_only.nodes.values())
    assert all(n.value is None and n.grad is None for n in build_graph((w * 2.0).sum()).nodes.values())


def test_value_labels_of_tensors_and_collapsed_boxes():
    net = mlp()
    x = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True, name="x")
    with record_modules():
        y = net(x).sum()
    g = build_graph(y, modules={"net": net}, values=True, grads=True)
    by_title = {n.title: n for n in g.nodes.values()}
    assert np.array_equal(by_title["x"].value, x.numpy())
    assert by_title["net.1 Tanh"].value.shape == (2, 4)  # a box shows what it hands on
    gx = tg.grad(net(x).sum(), x)
    assert np.allclose(by_title["x"].grad, gx.numpy(), atol=1e-6)
    text = "\n".join("\n".join(node_lines(n)) for n in g.nodes.values())
    assert "data mean " in text and "grad mean " in text  # more than three numbers: mean and largest magnitude
    assert format_values(np.array([1.0, -2.5])) == "[1, -2.5]" and format_values(np.float32(0.25)) == "0.25"
    assert format_values(np.array([1.0, -3.0, 2.0, 0.0])) == "mean 0, max|.| 3"


def test_gradients_need_one_scalar_output():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="grads=True: expected one output with one element"):
        build_graph(a * 2.0, grads=True)
    assert build_graph(a * 2.0, values=True).names() == ["Mul", "input"]


def test_draw_graph_with_values_and_gradients(tmp_path):
    loss, _, by_hand = chain_rule_graph()
    g = draw_graph(loss, tmp_path / "chain.png", values=True, grads=True, dot=True)
    assert (tmp_path / "chain.png").stat().st_size > 10_000
    dot = (tmp_path / "chain.dot").read_text()
    assert dot.count("data ") == 7 and dot.count("grad ") == 7
    assert f"grad {by_hand['w'][1]:.4g}" in dot
    assert len(g.nodes) == 7


def test_record_output_shapes():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            h = self.fc(x)
            return h, h.sum()

    net, pair = mlp(), Pair()
    with record_output_shapes() as shapes:
        net(tg.Tensor(np.ones((5, 3), np.float32)))
        net(tg.Tensor(np.ones((7, 3), np.float32)))  # a second call: the first one's shapes stay
        pair(tg.Tensor(np.ones((4, 3), np.float32)))
    assert shapes[id(net)] == (5, 1) and shapes[id(net[0])] == (5, 4) and shapes[id(net[1])] == (5, 4)
    assert shapes[id(pair)] == [(4, 2), ()] and shapes[id(pair.fc)] == (4, 2)
    assert "forward" not in net.__dict__ and tensor._observer is None  # nothing left behind
    with record_modules():
        with pytest.raises(RuntimeError, match="another observer"):
            with record_output_shapes():
                pass
