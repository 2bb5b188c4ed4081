"""draw_graph: one record per Value with its label, data and grad, an operator node
per operation, deterministic source, the max_nodes limit and bad input."""

from __future__ import annotations

import re

import graphviz
import pytest

from mlp_course.autograd import MLP, Value, draw_graph
from mlp_course.graphs import dot_available, render_png


def example() -> Value:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    h = a * b
    h.label = "h"
    c = (h + a**2).tanh()
    c.label = "c"
    return c


def records(source: str) -> dict[str, str]:
    """Node name -> label of every record node in ``source``."""
    return dict(re.findall(r'^\s*(\w+) \[label="([^"]*)" shape=record\]', source, flags=re.M))


def op_nodes(source: str) -> dict[str, str]:
    return dict(re.findall(r'^\s*(\w+_op) \[label="?([^" ]*)"?', source, flags=re.M))


def edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)


def test_one_record_per_value_with_label_data_and_grad():
    c = example()
    c.backward()
    dot = draw_graph(c)
    assert isinstance(dot, graphviz.Digraph)
    order = c.topological_order()
    nodes = records(dot.source)
    assert len(nodes) == len(order) == 6
    assert list(nodes) == [f"v{i}" for i in range(6)]
    for name, node in zip(nodes, order):
        fields = ([node.label] if node.label else []) + [f"data {node.data:.4f}", f"grad {node.grad:.4f}"]
        assert nodes[name] == "{ " + " | ".join(fields) + " }"
    assert nodes["v0"] == "{ a | data 2.0000 | grad 0.0707 }"
    assert nodes["v5"] == "{ c | data -0.9640 | grad 1.0000 }"
    assert "{ data 4.0000 | grad 0.0707 }" in nodes.values()  # a ** 2 has no label
    assert "rankdir=LR" in dot.source


def test_an_operator_node_between_each_value_and_its_children():
    c = example()
    source = draw_graph(c).source
    order = c.topological_order()
    ops = op_nodes(source)
    assert sorted(ops.values()) == sorted(n._op for n in order if n._op) == sorted(["*", "**2", "+", "tanh"])
    expected = []
    for index, node in enumerate(order):
        if node._op:
            expected.append((f"v{index}_op", f"v{index}"))
            expected += [(f"v{order.index(child)}", f"v{index}_op") for child in node._prev]
    assert sorted(edges(source)) == sorted(expected)


def test_a_value_used_twice_and_a_value_without_an_operation():
    a = Value(3.0, label="a")
    out = a * a
    source = draw_graph(out).source
    assert edges(source).count(("v0", "v1_op")) == 2
    assert len(records(source)) == 2
    custom = Value(5.0, (a,), label="no op")  # children but no _op: edges go straight to it
    source = draw_graph(custom).source
    assert edges(source) == [("v0", "v1")] and op_nodes(source) == {}
    leaf = draw_graph(Value(1.5)).source
    assert list(records(leaf).values()) == ["{ data 1.5000 | grad 0.0000 }"] and edges(leaf) == []


def test_the_source_is_deterministic():
    first, second = example(), example()
    assert draw_graph(first).source == draw_graph(second).source == draw_graph(first).source
    mlp1, mlp2 = MLP(2, [2, 1], rng=0), MLP(2, [2, 1], rng=0)
    assert draw_graph(mlp1([1.0, 2.0])).source == draw_graph(mlp2([1.0, 2.0])).source


def test_drawing_changes_nothing():
    c = example()
    c.backward()
    before = [(n.data, n.grad, n._prev, n._op, n.label) for n in c.topological_order()]
    draw_graph(c)
    assert [(n.data, n.grad, n._prev, n._op, n.label) for n in c.topological_order()] == before


def test_top_to_bottom_lays_the_fields_side_by_side():
    source = draw_graph(example(), "TB").source
    assert "rankdir=TB" in source
    assert records(source)["v0"] == "a | data 2.0000 | grad 0.0000"
    assert "rankdir=RL" in draw_graph(example(), rankdir="RL").source


def test_labels_with_record_characters_are_escaped():
    v = Value(1.0, label="x|{y}<z>")
    source = draw_graph(v).source
    assert "x\\|\\{y\\}\\<z\\>" in source


def test_max_nodes():
    c = example()  # 6 Values
    assert len(records(draw_graph(c, max_nodes=6).source)) == 6
    with pytest.raises(ValueError, match=re.escape("draw_graph: the graph has 6 Values, more than max_nodes=5; "
                                                   "draw a smaller graph")):
        draw_graph(c, max_nodes=5)
    loss = MLP(4, [8, 8, 1], rng=0)([1.0, 2.0, 3.0, 4.0])
    n = len(loss.topological_order())
    assert n > 200
    with pytest.raises(ValueError, match=f"the graph has {n} Values, more than max_nodes=200"):
        draw_graph(loss)
    assert len(records(draw_graph(loss, max_nodes=n).source)) == n


@pytest.mark.parametrize("call, error, message", [
    (lambda: draw_graph(2.0), TypeError, "draw_graph needs a Value, got float"),
    (lambda: draw_graph([Value(1.0)]), TypeError, "draw_graph needs a Value, got list"),
    (lambda: draw_graph(Value(1.0), "lr"), ValueError, "draw_graph: rankdir must be one of 'LR', 'RL', 'TB', 'BT', got 'lr'"),
    (lambda: draw_graph(Value(1.0), max_nodes=0), ValueError, "draw_graph: max_nodes must be a positive integer, got 0"),
    (lambda: draw_graph(Value(1.0), max_nodes=2.5), ValueError, "max_nodes must be a positive integer, got 2.5"),
    (lambda: draw_graph(Value(1.0), max_nodes=True), ValueError, "max_nodes must be a positive integer, got True"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


@pytest.mark.skipif(not dot_available(), reason="Graphviz's dot is not installed")
def test_renders_as_png():
    c = example()
    c.backward()
    png = render_png(draw_graph(c))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
