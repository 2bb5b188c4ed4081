"""Tests for mlp_course.notebook.setup_notebook."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mlp_course  # noqa: E402
from mlp_course.figure_text import read_png_description  # noqa: E402
from mlp_course.notebook import COLOURS, RC_PARAMS, setup_notebook  # noqa: E402


@pytest.fixture(autouse=True)
def restore_global_state():
    rc = dict(matplotlib.rcParams)
    printoptions = np.get_printoptions()
    yield
    matplotlib.rcParams.update(rc)
    np.set_printoptions(**printoptions)


def test_exported_from_the_package():
    assert mlp_course.setup_notebook is setup_notebook
    assert "setup_notebook" in mlp_course.__all__


def test_same_seed_same_numbers():
    first = setup_notebook(seed=3).normal(size=5), np.random.rand(3)
    second = setup_notebook(seed=3).normal(size=5), np.random.rand(3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(setup_notebook(seed=4).normal(size=5), first[0])


def test_seeds_the_course_generator_and_torch():
    torch = pytest.importorskip("torch")
    rng = setup_notebook(seed=1)
    assert rng is mlp_course.get_rng()
    a = torch.rand(3)
    setup_notebook(seed=1)
    assert torch.equal(a, torch.rand(3))


def test_sets_the_course_style_and_print_options():
    setup_notebook()
    rc = matplotlib.rcParams
    assert tuple(rc["figure.figsize"]) == (6.0, 4.0)
    assert rc["figure.dpi"] == 100
    assert rc["axes.grid"] is True
    assert rc["axes.spines.top"] is False and rc["axes.spines.right"] is False
    for key, value in RC_PARAMS.items():
        if key != "axes.prop_cycle":
            assert rc[key] == (list(value) if isinstance(value, tuple) else value), key
    assert rc["axes.prop_cycle"].by_key() == {"color": list(COLOURS)}
    options = np.get_printoptions()
    assert options["precision"] == 4 and options["suppress"] is True


def test_outside_ipython_it_does_not_need_ipython():
    # Runs under pytest, where no IPython kernel exists: the PNG switch is skipped.
    setup_notebook()


def test_rejects_a_bad_seed():
    with pytest.raises(ValueError, match="non-negative integer"):
        setup_notebook(seed=-1)


def test_the_colours_are_distinct_and_c0_to_c3_keep_their_usual_hues():
    assert len(set(COLOURS)) == len(COLOURS) == 8
    rgb = [matplotlib.colors.to_rgb(colour) for colour in COLOURS[:4]]
    blue, orange, green, red = rgb
    assert blue[2] > max(blue[:2]) and green[1] > max(green[0], green[2])
    assert red[0] > red[1] > red[2] and orange[0] > orange[1] > orange[2]


def test_under_ipython_inline_figures_are_png_with_alt_text(monkeypatch):
    import base64
    import sys
    import types

    import matplotlib.pyplot as plt

    backend_inline = pytest.importorskip("matplotlib_inline.backend_inline")
    from IPython.core.formatters import DisplayFormatter

    calls = []
    shell = types.SimpleNamespace(display_formatter=DisplayFormatter())
    fake_ipython = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setattr(backend_inline, "set_matplotlib_formats", lambda *formats: calls.append(formats))
    setup_notebook()
    assert calls == [("png",)]
    monkeypatch.undo()

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="training")
    ax.set(title="Loss", xlabel="epoch", ylabel="loss")
    ax.legend()
    data, metadata = shell.display_formatter.formatters["image/png"](fig)
    plt.close(fig)
    expected = "Loss (x axis epoch, y axis loss, legend training)"
    assert metadata == {"alt": expected}
    assert read_png_description(base64.b64decode(data)) == expected
