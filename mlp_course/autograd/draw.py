"""The computation graph of a :class:`~mlp_course.autograd.engine.Value` as a Graphviz drawing.

Display it with ``mlp_course.graphs.show(draw_graph(c))``, which draws a PNG (and
prints how to install Graphviz where its ``dot`` program is missing).
"""

from __future__ import annotations

import numbers

from mlp_course.autograd.engine import Value

RANKDIRS = ("LR", "RL", "TB", "BT")


def _record_text(text: str) -> str:
    """``text`` escaped for a field of a Graphviz record label."""
    for special in "\\{}|<>\"":
        text = text.replace(special, "\\" + special)
    return text


def draw_graph(root: Value, rankdir: str = "LR", *, max_nodes: int = 200):
    """A ``graphviz.Digraph`` of every Value ``root`` depends on.

    One box per Value (``label | data 1.2345 | grad 0.5000``, the label left out when
    empty) and a small operator node (its ``_op``) between each Value and its children.
    Nodes are named ``v0, v1, ...`` in topological order, so the same graph always gives
    the same source. ``rankdir`` is ``"LR"`` (left to right, the default), ``"RL"``,
    ``"TB"`` or ``"BT"``.
    """
    import graphviz

    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {', '.join(map(repr, RANKDIRS))}, got {rankdir!r}")
    if not isinstance(max_nodes, numbers.Integral) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive integer, got {max_nodes!r}")
    order = root.topological_order()
    if len(order) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(order)} Values, more than max_nodes={max_nodes}; "
            "draw a smaller graph (one neuron, or a network with fewer inputs or neurons), "
            "or pass a larger max_nodes"
        )
    dot = graphviz.Digraph(format="png", graph_attr={"rankdir": rankdir})
    # In a left-to-right drawing, braces lay the fields of a record side by side.
    braces = ("{ ", " }") if rankdir in ("LR", "RL") else ("", "")
    names = {node: f"v{index}" for index, node in enumerate(order)}
    for node in order:
        name = names[node]
        fields = [_record_text(node.label)] if node.label else []
        fields += [f"data {node.data:.4f}", f"grad {node.grad:.4f}"]
        dot.node(name, label=braces[0] + " | ".join(fields) + braces[1], shape="record")
        target = name
        if node._op:
            target = name + "_op"
            dot.node(target, label=node._op, shape="ellipse", fontsize="10", width="0.3", height="0.3")
            dot.edge(target, name)
        for child in node._prev:
            dot.edge(names[child], target)
    return dot
