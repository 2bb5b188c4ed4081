"""Drawing Graphviz graphs in a notebook, as PNG, with a clear message where Graphviz is missing.

The computation graphs of chapters 7 and 8 are :class:`graphviz.Digraph` objects
(``mlp_course.autograd.draw_graph`` and ``torchviz.make_dot`` build them). Graphviz's
``dot`` program lays them out. :func:`show` draws one or several side by side in a
single matplotlib figure, so a notebook stores a PNG (small, and skipped by nbval's
comparison) rather than an SVG full of run-dependent ids. Where ``dot`` is not
installed, :func:`show` prints how to install it and returns, so the rest of a
chapter still runs.
"""

from __future__ import annotations

import io
import math
import re
import shutil
from typing import Any, Sequence

from mlp_course.figure_text import set_alt_text

#: Printed by :func:`show` where Graphviz's ``dot`` program is not installed.
DOT_MISSING = (
    "Graphviz's `dot` program is not installed, so this graph cannot be drawn here. "
    "Install Graphviz (Debian/Ubuntu: `apt install graphviz`; macOS: `brew install graphviz`; "
    "conda: `conda install graphviz`) and run this cell again. Nothing else in the chapter needs it."
)


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` program is not installed."""


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the ``PATH``."""
    return shutil.which("dot") is not None


def _as_digraph(graph, where: str):
    import graphviz

    if not isinstance(graph, (graphviz.Digraph, graphviz.Graph)):
        raise TypeError(f"{where}: expected a graphviz.Digraph, got {type(graph).__name__}")
    return graph


def render_png(graph, dpi: int = 96) -> bytes:
    """``graph`` laid out by ``dot`` as PNG bytes; :class:`GraphvizMissing` where ``dot`` is missing."""
    import graphviz

    graph = _as_digraph(graph, "render_png")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or dpi <= 0:
        raise ValueError(f"render_png: dpi must be a positive integer, got {dpi!r}")
    if not dot_available():
        raise GraphvizMissing(DOT_MISSING)
    graph = graph.copy()
    graph.graph_attr["dpi"] = str(dpi)
    try:
        return graph.pipe(format="png")
    except graphviz.ExecutableNotFound as error:  # on the PATH but not runnable
        raise GraphvizMissing(DOT_MISSING) from error


def _describe_graph(graph: Any, title: str | None) -> str:
    """Alt text for one drawn graph: what it is, and how many boxes and arrows it has."""
    name_pattern = r'("[^"]*"|[\w.]+)'
    boxes, arrows = set(), 0
    for line in graph.source.splitlines():
        edge = re.match(rf"\s*{name_pattern}\s*->\s*{name_pattern}", line)
        node = re.match(rf"\s*{name_pattern}\s*(\[|$)", line)
        if edge:
            boxes.update(edge.groups())
            arrows += 1
        elif node and node.group(1) not in ("graph", "node", "edge", "digraph", "}"):
            boxes.add(node.group(1))
    boxes = len(boxes)
    name = f"{title}: a" if title else "A"
    return (f"{name} computation graph drawn by Graphviz, {boxes} box{'es' if boxes != 1 else ''} "
            f"joined by {arrows} arrow{'s' if arrows != 1 else ''}.")


def show(*graphs, titles: Sequence[str] | None = None, width: float = 10.0) -> None:
    """Draw ``graphs`` side by side in one figure (each under its title).

    The figure is at most ``width`` inches wide, and each graph gets a share of it in
    proportion to its own width. Where ``dot`` is missing, prints :data:`DOT_MISSING`
    instead. Returns nothing, so a cell that ends with it shows only the figure.
    """
    if not graphs:
        raise ValueError("show: give at least one graph")
    graphs = tuple(_as_digraph(g, "show") for g in graphs)
    if titles is not None:
        if isinstance(titles, str):
            raise ValueError(f"show: titles must be a list of {len(graphs)} strings, got the string {titles!r}")
        titles = list(titles)
        if len(titles) != len(graphs) or not all(isinstance(t, str) for t in titles):
            raise ValueError(f"show: expected {len(graphs)} titles (strings), got {titles!r}")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not (math.isfinite(width) and width > 0):
        raise ValueError(f"show: width must be a positive number of inches, got {width!r}")
    try:
        pngs = [render_png(g) for g in graphs]
    except GraphvizMissing as missing:
        print(missing)
        return None

    import matplotlib.pyplot as plt

    images = [plt.imread(io.BytesIO(png), format="png") for png in pngs]
    widths = [image.shape[1] for image in images]
    heights = [image.shape[0] for image in images]
    # Margins in inches, fixed rather than computed by tight_layout, which warns when a wide graph
    # leaves the figure flat; a minimum height keeps a long chain readable.
    title_room, margin, gap = (0.35 if titles else 0.0), 0.05, 0.2
    room = max(width - 2 * margin - gap * (len(images) - 1), 0.1)
    scale = min(1.0, room * 96 / sum(widths)) / 96  # inches per pixel, at most the PNG's own 96 dpi
    graph_height = max(max(heights) * scale, 0.5)
    figure_width = sum(widths) * scale + gap * (len(images) - 1) + 2 * margin
    figure_height = graph_height + title_room + 2 * margin
    figure, axes = plt.subplots(
        1, len(images), figsize=(figure_width, figure_height),
        gridspec_kw={"width_ratios": widths}, squeeze=False,
    )
    try:
        figure.subplots_adjust(
            left=margin / figure_width, right=1 - margin / figure_width,
            bottom=margin / figure_height, top=1 - (margin + title_room) / figure_height,
            wspace=gap * len(images) / max(figure_width - 2 * margin, 1e-9),
        )
        for index, (axis, image) in enumerate(zip(axes[0], images)):
            axis.imshow(image, interpolation="antialiased")
            axis.set_axis_off()
            if titles:
                axis.set_title(titles[index])
        set_alt_text(figure, " ".join(_describe_graph(graph, titles[index] if titles else None)
                                      for index, graph in enumerate(graphs)))
        plt.show()
    finally:
        plt.close(figure)
    return None
