"""mlp_course.graphs: PNG bytes from dot, graphs drawn side by side in one figure,
the message where dot is missing, and bad arguments."""

from __future__ import annotations

import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import graphviz  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mlp_course import graphs  # noqa: E402

needs_dot = pytest.mark.skipif(not graphs.dot_available(), reason="Graphviz's dot is not installed")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def small(n: int = 2) -> graphviz.Digraph:
    dot = graphviz.Digraph()
    for i in range(n):
        dot.node(f"n{i}", label=f"node {i}")
        if i:
            dot.edge(f"n{i - 1}", f"n{i}")
    return dot


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """Graphviz's dot hidden: PATH is an empty folder."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not graphs.dot_available()


@pytest.fixture
def shown(monkeypatch):
    """The figures plt.show would display (captured, and no warning may escape)."""
    plt.close("all")
    figures = []
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: figures.append(plt.gcf()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
        yield figures
    plt.close("all")


@needs_dot
def test_render_png_returns_png_bytes_and_leaves_the_graph_alone():
    dot = small(3)
    source = dot.source
    png = graphs.render_png(dot)
    assert isinstance(png, bytes) and png.startswith(PNG_SIGNATURE)
    assert dot.source == source  # the dpi goes on a copy


@needs_dot
def test_render_png_dpi_scales_the_image():
    low = plt.imread(io.BytesIO(graphs.render_png(small(3), dpi=48)), format="png")
    high = plt.imread(io.BytesIO(graphs.render_png(small(3), dpi=144)), format="png")
    assert 2.5 < high.shape[0] / low.shape[0] < 3.5 and 2.5 < high.shape[1] / low.shape[1] < 3.5


@needs_dot
def test_show_draws_side_by_side_in_one_figure(shown):
    assert graphs.show(small(2), small(4), titles=["two", "four"]) is None and len(shown) == 1
    assert len(shown) == 1
    axes = shown[0].axes
    assert len(axes) == 2 and [a.get_title() for a in axes] == ["two", "four"]
    assert all(len(a.images) == 1 for a in axes)
    assert plt.get_fignums() == []  # closed after showing


def wide(rows: int, columns: int) -> graphviz.Digraph:
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    for row in range(rows):
        for column in range(columns - 1):
            dot.edge(f"r{row}c{column}", f"r{row}c{column + 1}")
    return dot


@needs_dot
@pytest.mark.parametrize("width", [3, 5.0, 40.0])
def test_show_keeps_the_figure_within_width(shown, width):
    graph = wide(3, 6)
    natural = plt.imread(io.BytesIO(graphs.render_png(graph)), format="png").shape[1] / 96  # inches at 96 dpi
    assert graphs.show(graph, width=width) is None and len(shown) == 1
    figure_width = shown[0].get_size_inches()[0]
    assert figure_width == pytest.approx(min(width, natural + 2 * 0.05), rel=1e-6)  # 0.05 in margins


@needs_dot
def test_show_a_long_chain_without_a_warning(shown):
    assert graphs.show(wide(1, 30)) is None and len(shown) == 1


@needs_dot
def test_show_without_titles(shown):
    assert graphs.show(small()) is None and len(shown) == 1
    assert [a.get_title() for a in shown[0].axes] == [""]


def test_without_dot_show_prints_the_message_and_draws_nothing(no_dot, shown, capsys):
    assert graphs.show(small(), small(), titles=["a", "b"]) is None
    assert capsys.readouterr().out == graphs.DOT_MISSING + "\n"
    assert shown == [] and plt.get_fignums() == []
    assert "apt install graphviz" in graphs.DOT_MISSING and "brew install graphviz" in graphs.DOT_MISSING


def test_without_dot_render_png_raises_graphviz_missing(no_dot):
    with pytest.raises(graphs.GraphvizMissing, match=re.escape(graphs.DOT_MISSING)):
        graphs.render_png(small())
    assert issubclass(graphs.GraphvizMissing, RuntimeError)


def test_a_dot_on_the_path_that_cannot_run_counts_as_missing(monkeypatch, tmp_path, capsys):
    fake = tmp_path / "dot"
    fake.write_text("#!/nonexistent/interpreter\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert graphs.dot_available()
    with pytest.raises(graphs.GraphvizMissing):
        graphs.render_png(small())
    assert graphs.show(small()) is None
    assert graphs.DOT_MISSING in capsys.readouterr().out


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphs.show(), ValueError, "show: give at least one graph"),
    (lambda: graphs.show("digraph {a -> b}"), TypeError, "show: expected a graphviz.Digraph, got str"),
    (lambda: graphs.show(small(), None), TypeError, "show: expected a graphviz.Digraph, got NoneType"),
    (lambda: graphs.show(small(), small(), titles=["one"]), ValueError, "show: expected 2 titles (strings), got ['one']"),
    (lambda: graphs.show(small(), titles=["a", "b"]), ValueError, "show: expected 1 titles (strings), got ['a', 'b']"),
    (lambda: graphs.show(small(), titles=[3]), ValueError, "show: expected 1 titles (strings), got [3]"),
    (lambda: graphs.show(small(), width=0), ValueError, "show: width must be a positive number of inches, got 0"),
    (lambda: graphs.show(small(), width=-2.0), ValueError, "width must be a positive number of inches, got -2.0"),
    (lambda: graphs.show(small(), width="10"), ValueError, "width must be a positive number of inches, got '10'"),
    (lambda: graphs.render_png("digraph {}"), TypeError, "render_png: expected a graphviz.Digraph, got str"),
    (lambda: graphs.render_png(small(), dpi=0), ValueError, "render_png: dpi must be a positive integer, got 0"),
    (lambda: graphs.render_png(small(), dpi=1.5), ValueError, "dpi must be a positive integer, got 1.5"),
    (lambda: graphs.render_png(small(), dpi=True), ValueError, "dpi must be a positive integer, got True"),
])
def test_bad_arguments(call, error, message, shown):
    with pytest.raises(error, match=re.escape(message)):
        call()
    assert shown == []


def test_bad_arguments_are_reported_even_without_dot(no_dot):
    with pytest.raises(ValueError, match="expected 2 titles"):
        graphs.show(small(), small(), titles=["one"])
    with pytest.raises(TypeError, match="expected a graphviz.Digraph"):
        graphs.render_png(3)


def test_a_string_is_not_a_list_of_titles(shown):
    with pytest.raises(ValueError, match="titles"):
        graphs.show(small(), small(), titles="ab")


@pytest.mark.parametrize("width", [float("nan"), True])
def test_width_must_be_a_real_positive_number(shown, width):
    with pytest.raises(ValueError, match="width must be a positive number"):
        graphs.show(small(), width=width)


@needs_dot
def test_show_gives_the_figure_alt_text_that_counts_boxes_and_arrows(shown):
    from mlp_course.figure_text import describe_figure

    graphs.show(small(3), wide(2, 3), titles=["three", "grid"])
    assert describe_figure(shown[0]) == (
        "three: a computation graph drawn by Graphviz, 3 boxes joined by 2 arrows. "
        "grid: a computation graph drawn by Graphviz, 6 boxes joined by 4 arrows.")
