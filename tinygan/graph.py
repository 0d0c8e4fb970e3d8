"""The recorded autograd graph as data: its nodes, its edges, module boxes, and DOT text.

``loss.backward()`` walks a graph that the forward pass recorded: every ``Function`` keeps its
input tensors, and every tensor its ``grad_fn``. ``build_graph(loss)`` reads that graph without
changing it: one node per Function (its name and output shape) and one per leaf (a parameter,
named by its module path, e.g. ``D.3.weight``, when ``modules={"D": D}`` is given; otherwise the
tensor's ``name``, or ``input``), an edge from each input to the Function that used it.

Which Functions a module made is not in the graph itself; ``record_modules()`` adds it:

    with record_modules():
        loss = g_loss(D(G(z)))
    graph = build_graph(loss, modules={"G": G, "D": D})      # collapse="layers" by default

Inside that block ``Module.__call__`` tells an observer which module is running, and each
Function recorded is tagged with the stack of modules around it (outside the block nothing is
tagged and nothing is slower). The ops a Function's *backward* records (with
``create_graph=True``) are tagged as that backward's, so the graph of a gradient shows, box by
box, the backward of each layer (``∂ D.0 Conv2d``): WGAN-GP's penalty differentiating through
the critic's backward pass.

``collapse`` draws a module as one box: ``"layers"`` (each module without sub-modules: Linear,
Conv2d, BatchNorm2d, ...), an int k (the modules k deep: 1 for G and D themselves), a list of
module paths (``["G", "D.3"]``), or None (every Function its own node).

``values=True`` labels every node with the value of the tensor it makes, and ``grads=True`` with
d(output)/d(that tensor), as micrograd's pictures do: the gradients ``backward()`` would compute,
for every node and not only the leaves (the graph is differentiated with ``retain_graph``, so it
is still there afterwards, and no ``.grad`` is touched).

``record_output_shapes()`` is the other record a module can leave: the shape of what each module's
first call returned, for the per-layer output shapes of a recipe's card.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from tinygan import backend
from tinygan import tensor as _tensor

# ----------------------------------------------------------------------------------------------
# Recording which module made which Function
# ----------------------------------------------------------------------------------------------


class _Call:
    """One call of a module (a module called twice is two boxes: two applications)."""

    __slots__ = ("module", "number")

    def __init__(self, module, number):
        self.module, self.number = module, number


class _Backward:
    """Marks the ops recorded while the backward of a Function ``name`` ran."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _Observer(_tensor.Observer):
    def __init__(self):
        self.stack = ()
        self.calls = 0

    def recorded(self, fn):
        fn._graph_scope = self.stack

    @contextlib.contextmanager
    def module_scope(self, module):
        self.calls += 1
        outer, self.stack = self.stack, self.stack + (_Call(module, self.calls),)
        try:
            yield
        finally:
            self.stack = outer

    @contextlib.contextmanager
    def backward_of(self, fn):
        outer = self.stack
        self.stack = getattr(fn, "_graph_scope", ()) + (_Backward(type(fn).__name__),)
        try:
            yield
        finally:
            self.stack = outer


@contextlib.contextmanager
def record_modules():
    """Inside this block, every Function recorded remembers the modules it was made in."""
    if isinstance(_tensor._observer, _Observer):  # nested: the outer block already records
        yield
        return
    if _tensor._observer is not None:
        raise RuntimeError("record_modules: another observer is active (a tinygan.profile block); use one at a time")
    _tensor._observer = _Observer()
    try:
        yield
    finally:
        _tensor._observer = None


def _shape_of(out):
    """The shape of a module's result: a tuple of ints, or a list of them for a tuple of results."""
    if isinstance(out, (tuple, list)):
        return [_shape_of(o) for o in out]
    shape = getattr(out, "shape", None)
    return tuple(int(n) for n in shape) if shape is not None else None


class _ShapeObserver(_tensor.Observer):
    """Notes the shape of what each module's first call returns. While a call runs, the module's
    ``forward`` is shadowed by an instance attribute that passes the call on and keeps the result
    (``Module.__call__`` looks ``forward`` up inside the scope); it is removed when the call ends."""

    def __init__(self):
        self.shapes = {}

    @contextlib.contextmanager
    def module_scope(self, module):
        if id(module) in self.shapes or "forward" in module.__dict__:
            yield
            return
        forward = module.forward

        def noting(*args, **kwargs):
            out = forward(*args, **kwargs)
            self.shapes.setdefault(id(module), _shape_of(out))
            return out
        object.__setattr__(module, "forward", noting)
        try:
            yield
        finally:
            del module.__dict__["forward"]


@contextlib.contextmanager
def record_output_shapes():
    """``with record_output_shapes() as shapes:`` fills ``shapes``, id(module) -> the shape of
    what the module's first call inside the block returned (a list of shapes for a tuple). A
    module never called is left out."""
    if _tensor._observer is not None:
        raise RuntimeError("record_output_shapes: another observer is active (record_modules or tinygan.profile); "
                           "use one at a time")
    observer = _tensor._observer = _ShapeObserver()
    try:
        yield observer.shapes
    finally:
        _tensor._observer = None


# ----------------------------------------------------------------------------------------------
# The graph
# ----------------------------------------------------------------------------------------------


@dataclass
class Node:
    """kind: "input" (a leaf), "param" (a named parameter), "op" (one Function), "module" (a
    collapsed module call), "backward" (what a collapsed module's backward recorded)."""

    key: str
    kind: str
    title: str
    shape: tuple = None
    detail: str = ""            # "in ∂Sum" for an op a backward recorded; absorbed parameters
    functions: list = field(default_factory=list)  # the Function types inside (one for an "op")
    is_output: bool = False
    module: object = field(default=None, repr=False)   # the module of a box
    absorbed_into: str = None                           # a parameter drawn inside that box
    value: object = field(default=None, repr=False)    # with values=True: the array this node makes
    grad: object = field(default=None, repr=False)     # with grads=True: d(output)/d(that array)
    tensor: object = field(default=None, repr=False)   # the tensor this node hands on


@dataclass
class Graph:
    nodes: dict            # key -> Node, in the order found (outputs first)
    edges: list            # (src key, dst key), each once

    def names(self):
        return [n.title for n in self.nodes.values()]

    def to_dot(self):
        """The graph as Graphviz DOT text (``dot -Tpng``), for those who have Graphviz."""
        colors = GRAPH_COLORS
        lines = ["digraph tinygan {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fontname=Helvetica];']
        ids = {key: f"n{i}" for i, key in enumerate(self.nodes)}
        for key, node in self.nodes.items():
            label = "\\n".join(_escape(line) for line in node_lines(node))
            pen = ", penwidth=2.5" if node.is_output else ""
            lines.append(f'  {ids[key]} [label="{label}", fillcolor="{colors[node.kind]}"{pen}];')
        for a, b in self.edges:
            lines.append(f"  {ids[a]} -> {ids[b]};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def layered_layout(graph, sweeps=6):
    """(column, row) of every node: row = the longest path from a source (a leaf sits just above
    its first consumer), column = order within the row, by the mean column of the neighbours
    (a few down and up sweeps of the barycentre heuristic), centred on 0."""
    preds = {k: [] for k in graph.nodes}
    succs = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        preds[b].append(a)
        succs[a].append(b)
    row, order = {}, []
    pending = {k: len(v) for k, v in preds.items()}
    ready = [k for k in reversed(list(graph.nodes)) if pending[k] == 0]
    while ready:  # Kahn's topological order
        k = ready.pop()
        order.append(k)
        row[k] = max((row[p] + 1 for p in preds[k]), default=0)
        for s in succs[k]:
            pending[s] -= 1
            if pending[s] == 0:
                ready.append(s)
    for k in order:
        if not preds[k] and succs[k]:
            row[k] = max(0, min(row[s] for s in succs[k]) - 1)
    rows = {}
    for k in order:
        rows.setdefault(row[k], []).append(k)
    col = {}
    for r in rows.values():
        for i, k in enumerate(r):
            col[k] = i - (len(r) - 1) / 2
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        for r in sorted(rows, reverse=not down):
            keys = rows[r]
            def centre(k):
                near = [col[n] for n in (preds[k] if down else succs[k])] or [col[n] for n in preds[k] + succs[k]]
                return sum(near) / len(near) if near else col[k]
            keys.sort(key=centre)
            for i, k in enumerate(keys):
                col[k] = i - (len(keys) - 1) / 2
    return {k: (col[k], row[k]) for k in graph.nodes}


GRAPH_COLORS = {"input": "#e8e8e8", "param": "#fff2b3", "op": "#d7e8fa", "module": "#cdeccd", "backward": "#fad7c8"}


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def format_shape(shape):
    if shape is None:
        return ""
    return "scalar" if len(shape) == 0 else str(tuple(int(s) for s in shape))


def format_values(array, digits=4):
    """A short label for an array: its numbers when there are at most three, else their mean and
    largest magnitude (``mean 0.12, max|.| 3.4``)."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return "empty"
    if a.size <= 3:
        text = ", ".join(f"{v:.{digits}g}" for v in a.ravel())
        return text if a.ndim == 0 or a.size == 1 else f"[{text}]"
    return f"mean {a.mean():.3g}, max|.| {np.abs(a).max():.3g}"


def node_lines(node):
    """The text of a node: title, shape, detail, and with values / grads the node's value and
    gradient (as the picture and DOT show them)."""
    lines = [node.title]
    if node.shape is not None:
        lines.append(format_shape(node.shape))
    if node.detail:
        lines.append(node.detail)
    if node.value is not None:
        lines.append("data " + format_values(node.value))
    if node.grad is not None:
        lines.append("grad " + format_values(node.grad))
    return lines


def _module_names(modules):
    """id(module) -> dotted path, id(parameter) -> (dotted name, owning module)."""
    mod_names, params = {}, {}
    for prefix, root in (modules or {}).items():
        for path, m in root.named_modules(prefix):
            mod_names.setdefault(id(m), path)
            for pname, p in m._parameters.items():
                if p is not None and id(p) not in params:
                    params[id(p)] = (f"{path}.{pname}" if path else pname, m)
    return mod_names, params


def _collapse_rule(collapse):
    if collapse is None or collapse is False:
        return lambda module, path, depth: False
    if collapse == "layers":
        return lambda module, path, depth: not module._modules
    if isinstance(collapse, bool) or not isinstance(collapse, (int, list, tuple, set, frozenset)):
        raise ValueError(f"collapse: expected 'layers', an int depth, a list of module paths or None, got {collapse!r}")
    if isinstance(collapse, int):
        return lambda module, path, depth: depth == collapse
    wanted = set(collapse)
    return lambda module, path, depth: path in wanted


def _walk(roots):
    """(tensor, Function or None) for every tensor reachable from roots through requires_grad."""
    seen, stack, found = set(), list(roots), []
    while stack:
        t = stack.pop()
        if id(t) in seen or not t.requires_grad:
            continue
        seen.add(id(t))
        fn = t.grad_fn
        if fn is not None and fn.inputs is None:
            raise RuntimeError("build_graph: this graph was freed by a backward pass; draw it before calling "
                               "backward(), or pass retain_graph=True to backward")
        found.append((t, fn))
        if fn is not None:
            stack.extend(reversed(fn.inputs))
    return found


def build_graph(outputs, modules=None, collapse="layers", values=False, grads=False):
    """The recorded graph of ``outputs`` (a Tensor or a list) as a ``Graph``.

    ``modules``: {"G": G, "D": D} names parameters by module path and collapsed boxes by their
    module's path. ``collapse``: see the module docstring (it needs ``record_modules()``
    around the forward pass; without the tags every Function is its own node).
    ``values``: label each node with the value it makes; ``grads``: with the gradient of the
    output (one tensor of one element, a loss) with respect to that value.
    """
    roots = [outputs] if isinstance(outputs, _tensor.Tensor) else list(outputs)
    for i, r in enumerate(roots):
        if not isinstance(r, _tensor.Tensor):
            raise TypeError(f"outputs[{i}]: expected a Tensor, got {type(r).__name__}")
        if not r.requires_grad:
            raise ValueError(f"outputs[{i}]: expected a tensor with a recorded graph (requires_grad), got one "
                             "without (made under no_grad, or from tensors that do not require grad?)")
    if grads and (len(roots) != 1 or roots[0].size != 1):
        shapes = ", ".join(str(tuple(r.shape)) for r in roots)
        raise ValueError(f"grads=True: expected one output with one element (a loss), got shape(s) {shapes}")
    mod_names, param_names = _module_names(modules)
    should_collapse = _collapse_rule(collapse)
    found = _walk(roots)

    def path_of(module):
        return mod_names.get(id(module), type(module).__name__)

    def group_of(fn):
        """(group key, title, kind, module) of the box a Function is drawn in; None: its own node."""
        scope = getattr(fn, "_graph_scope", ())
        depth = 0
        for i, frame in enumerate(scope):
            if isinstance(frame, _Call):
                depth += 1
                path = path_of(frame.module)
                if should_collapse(frame.module, path, depth):
                    order = sum(isinstance(f, _Backward) for f in scope[i + 1:])
                    title = ("∂" * order + " " if order else "") + f"{path} {type(frame.module).__name__}"
                    return (f"m{frame.number}.{order}", title, "backward" if order else "module", frame.module)
        return None

    nodes, edges, owner = {}, [], {}  # owner: id(Function) -> node key
    output_ids = {id(r) for r in roots}
    producers = {}  # node key -> shape of the tensor it hands to other nodes
    for t, fn in found:
        if fn is None:
            key = f"t{id(t)}"
            if id(t) in param_names:
                nodes[key] = Node(key, "param", param_names[id(t)][0], t.shape, tensor=t)
            else:
                nodes[key] = Node(key, "input", t.name or "input", t.shape, tensor=t)
            owner[id(t)] = key
            continue
        group = group_of(fn)
        if group is None:
            key = f"f{id(fn)}"
            scope = getattr(fn, "_graph_scope", ())
            detail = f"in ∂{scope[-1].name}" if scope and isinstance(scope[-1], _Backward) else ""
            nodes[key] = Node(key, "op", type(fn).__name__, t.shape, detail, [type(fn).__name__], tensor=t)
        else:
            key, title, kind, module = group
            if key not in nodes:
                nodes[key] = Node(key, kind, title, None, module=module)
            nodes[key].functions.append(type(fn).__name__)
        owner[id(fn)] = key
        if id(t) in output_ids:
            nodes[key].is_output = True
            producers.setdefault(key, t.shape)
            nodes[key].tensor = t

    def key_of_tensor(x):
        return owner[id(x)] if x.grad_fn is None else owner[id(x.grad_fn)]

    raw = []
    for t, fn in found:
        if fn is None:
            continue
        dst = owner[id(fn)]
        for x in fn.inputs:
            if x.requires_grad:
                raw.append((key_of_tensor(x), dst, x))

    _absorb_parameters(nodes, raw, param_names)
    seen = set()
    for src, dst, x in raw:
        src = nodes[src].absorbed_into if nodes[src].absorbed_into else src
        if src != dst and x.grad_fn is not None:
            producers.setdefault(src, x.shape)
            if nodes[src].kind in ("module", "backward") and nodes[src].tensor is None:
                nodes[src].tensor = x  # what a box hands on is its value
        if src != dst and (src, dst) not in seen:
            seen.add((src, dst))
            edges.append((src, dst))
    for key, node in nodes.items():
        if node.kind in ("module", "backward"):
            node.shape = producers.get(key)
    nodes = {k: n for k, n in nodes.items() if not n.absorbed_into}
    if values or grads:
        _label_values(nodes, roots[0] if grads else None, values)
    return Graph(nodes, edges)


def _label_values(nodes, loss, values):
    """Set node.value (with ``values``) and node.grad = d loss / d node.tensor (with a ``loss``).

    The gradients come from one backward pass over the whole graph with every node's tensor as
    an input of ``grad`` (so intermediate tensors get theirs too), keeping the graph."""
    labelled = [n for n in nodes.values() if n.tensor is not None]
    if values:
        for n in labelled:
            n.value = backend.to_numpy(n.tensor.data)
    if loss is None:
        return
    tensors = list({id(n.tensor): n.tensor for n in labelled}.values())
    gs = _tensor.grad(loss, tensors, retain_graph=True, allow_unused=True)
    by_id = {id(t): g for t, g in zip(tensors, gs)}
    for n in labelled:
        g = by_id[id(n.tensor)]
        n.grad = backend.to_numpy(g.data) if g is not None else np.zeros(n.tensor.shape)


def _absorb_parameters(nodes, raw, param_names):
    """A parameter of a collapsed module, used only inside that module call's boxes (its forward
    and the backward a gradient penalty records), is drawn inside the forward box."""
    consumers = {}
    for src, dst, _ in raw:
        if nodes[src].kind == "param":
            consumers.setdefault(src, set()).add(dst)
    rank = {f"t{pid}": i for i, pid in enumerate(param_names)}  # the modules' own order of parameters
    for pkey, dsts in sorted(consumers.items(), key=lambda item: rank[item[0]]):
        calls = {d.split(".")[0] for d in dsts if nodes[d].kind in ("module", "backward")}
        if len(calls) != 1 or any(nodes[d].kind not in ("module", "backward") for d in dsts):
            continue
        box = calls.pop() + ".0"
        if box not in nodes:
            continue
        name = nodes[pkey].title
        module = nodes[box].module
        if not any(p is not None and param_names.get(id(p), (None,))[0] == name
                   for m in module.modules() for p in m._parameters.values()):
            continue
        nodes[pkey].absorbed_into = box
        path = nodes[box].title.split(" ")[0]
        short = name[len(path) + 1:] if name.startswith(path + ".") else name
        nodes[box].detail = (nodes[box].detail + ", " if nodes[box].detail else "+ ") + short


__all__ = ["Graph", "Node", "build_graph", "format_shape", "format_values", "layered_layout", "record_modules",
           "record_output_shapes"]
