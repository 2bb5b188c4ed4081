"""Each plot returns a Figure with labelled axes, titles, legends or colour
bars, and draws exactly the recorded numbers."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from mlp_course import scratch  # noqa: E402
from mlp_course.diagnostics import (  # noqa: E402
    Monitor,
    plot_activation_histograms,
    plot_dashboard,
    plot_heatmaps,
    plot_histograms,
    plot_layer_grad_norms,
    plot_ratios,
)
from mlp_course.torch_training import TrainHistory  # noqa: E402
from mlp_course.training import History  # noqa: E402

BINS = np.linspace(-1, 1, 11)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def backward(model, X):
    loss_fn = scratch.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(X), np.arange(len(X)) % 3)
    model.backward(loss_fn.backward())


@pytest.fixture
def monitor(model, X):
    optimizer = scratch.SGD(model.parameters(), lr=0.3)
    monitor = Monitor(model, probe=X[:12], bins=BINS, every=2)
    for step in range(5):
        backward(model, X)
        monitor.before_step(step)
        optimizer.step()
        monitor.after_step()
    return monitor


def colorbar_labels(figure):
    return sorted(ax.get_ylabel() for ax in figure.axes if ax.get_label() == "<colorbar>")


def plot_axes(figure):
    return [ax for ax in figure.axes if ax.get_label() != "<colorbar>" and ax.axison]


def test_activation_histograms_show_log_counts_per_layer(monitor):
    figure = plot_activation_histograms(monitor)
    assert isinstance(figure, Figure)
    axes = plot_axes(figure)
    assert [ax.get_title() for ax in axes] == monitor.layer_names
    assert colorbar_labels(figure) == ["log(1 + count)"] * 4
    for ax, (name, counts) in zip(axes, monitor.histograms.items()):
        assert ax.get_xlabel() == "step" and ax.get_ylabel() == "activation value"
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        np.testing.assert_allclose(np.asarray(mesh.get_array()), np.log1p(counts.T))
        coordinates = mesh.get_coordinates()
        np.testing.assert_allclose(coordinates[:, 0, 1], BINS)  # y: the bin edges
        np.testing.assert_allclose(coordinates[0, :, 0], [-1, 1, 3, 5])  # x: around steps 0, 2, 4
    assert figure._suptitle.get_text() == "Activation histograms on the probe batch"


def test_activation_histograms_need_a_probe(model, X):
    monitor = Monitor(model)
    monitor.before_step(0)
    with pytest.raises(ValueError, match=re.escape("plot_activation_histograms: the monitor has recorded no "
                                                   "histogram; create it with a probe batch")):
        plot_activation_histograms(monitor)


@pytest.mark.parametrize("kind, attribute, ylabel", [
    ("update", "update_to_data", "log10(std of update / std of weights)"),
    ("grad", "grad_to_data", "log10(std of gradient / std of weights)"),
])
def test_ratio_plots_draw_log10_of_the_recorded_ratios(monitor, kind, attribute, ylabel):
    figure = plot_ratios(monitor, kind=kind)
    (ax,) = figure.axes
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == ylabel and ax.get_title()
    lines = {line.get_label(): line for line in ax.get_lines()}
    for name, ratio in getattr(monitor, attribute).items():
        np.testing.assert_allclose(lines[name].get_ydata(), np.log10(ratio))
        np.testing.assert_array_equal(lines[name].get_xdata(), monitor.steps)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:5] == list(getattr(monitor, attribute))
    if kind == "update":
        reference = lines["1e-3 (rule of thumb)"]
        np.testing.assert_allclose(reference.get_ydata(), [-3, -3])
        assert legend[-1] == "1e-3 (rule of thumb)"
    else:
        assert "1e-3 (rule of thumb)" not in lines


def test_ratio_plots_refuse_an_unknown_kind(monitor):
    with pytest.raises(ValueError, match=re.escape("plot_ratios: kind must be 'update' or 'grad', got 'data'")):
        plot_ratios(monitor, kind="data")


def test_layer_grad_norms_are_drawn_on_a_log_scale(monitor):
    _, ax = plt.subplots()
    figure = plot_layer_grad_norms(monitor, ax=ax)
    assert figure is ax.figure and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "gradient norm of the weights"
    assert ax.get_title() == "Gradient norm per layer"
    for line, (name, norms) in zip(ax.get_lines(), monitor.grad_norm.items()):
        assert line.get_label() == name
        np.testing.assert_allclose(line.get_ydata(), norms)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(monitor.grad_norm)


def test_plots_of_an_empty_monitor_or_of_something_else_get_clear_errors(model):
    with pytest.raises(ValueError, match=re.escape("plot_ratios: the monitor has recorded no step yet")):
        plot_ratios(Monitor(model))
    with pytest.raises(TypeError, match=re.escape("plot_layer_grad_norms: expected a mlp_course.diagnostics."
                                                  "Monitor, got dict")):
        plot_layer_grad_norms({})


def scratch_history():
    return History(loss=[1.0, 0.6, 0.4], val_loss=[1.1, 0.7, 0.6], accuracy=[0.5, 0.7, 0.8],
                   val_accuracy=[0.45, 0.6, 0.7], grad_norm=[2.0, 1.0, 0.5], weight_norm=[3.0, 3.5, 3.8])


def regression_history():
    return History(loss=[10.0, 1.0, 0.1], val_loss=[12.0, 2.0, 0.5], grad_norm=[1, 1, 1], weight_norm=[1, 1, 1])


def check_dashboard(figure, curves, accuracy):
    a, b, c, d = plot_axes(figure)
    assert [ax.get_title() for ax in (a, b, c, d)] == [
        "(a) Loss", "(b) Accuracy", "(c) Regression run: MSE", "(d) Gradient norm against weight norm"]
    lines = {line.get_label(): line.get_ydata() for line in a.get_lines()}
    np.testing.assert_allclose(lines["train"], curves["loss"])
    np.testing.assert_allclose(lines["validation"], curves["val_loss"])
    assert a.get_xlabel() == "epoch" and a.get_ylabel() == "loss" and a.get_legend() is not None
    drawn = {line.get_label(): line.get_ydata() for line in b.get_lines()}
    assert drawn.keys() == accuracy.keys()
    for label, values in accuracy.items():
        np.testing.assert_allclose(drawn[label], values)
    assert b.get_xlabel() == "epoch" and b.get_ylabel() == "accuracy" and b.get_legend() is not None
    assert c.get_yscale() == "log" and c.get_ylabel() == "MSE (log scale)" and c.get_xlabel() == "epoch"
    mse = {line.get_label(): line.get_ydata() for line in c.get_lines()}
    np.testing.assert_allclose(mse["train"], [10.0, 1.0, 0.1])
    np.testing.assert_allclose(mse["validation"], [12.0, 2.0, 0.5])
    (points,) = [col for col in d.collections if isinstance(col, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([curves["weight_norm"], curves["grad_norm"]]))
    np.testing.assert_allclose(points.get_array(), np.arange(1, len(curves["grad_norm"]) + 1))
    assert d.get_xlabel() == "weight norm" and d.get_ylabel() == "gradient norm"
    assert d.get_legend() is not None
    assert colorbar_labels(figure) == ["epoch"]


def test_the_dashboard_of_a_scratch_history(monitor):
    history = scratch_history()
    figure = plot_dashboard(history, regression_history())
    check_dashboard(figure, vars(history), {"train": history.accuracy, "validation": history.val_accuracy})


def test_the_dashboard_of_a_torch_history():
    history = TrainHistory(loss=[0.9, 0.5, 0.3, 0.2], grad_norm=[1.5, 1.0, 0.8, 0.6], val_loss=[1.0, 0.6, 0.5, 0.5],
                           metrics={"accuracy": [0.6, 0.7, 0.75, 0.8]})
    history.weight_norm = [2.0, 2.5, 2.7, 2.8]
    figure = plot_dashboard(history, regression_history())
    check_dashboard(figure, {"loss": history.loss, "val_loss": history.val_loss, "grad_norm": history.grad_norm,
                             "weight_norm": history.weight_norm}, {"validation": history.metrics["accuracy"]})


def test_the_dashboard_without_regression_run_or_accuracy_says_so():
    history = regression_history()
    figure = plot_dashboard(history)
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert "no regression run given" in texts and "no accuracy recorded\n(a regression loss)" in texts


def test_the_dashboard_needs_weight_norms():
    history = TrainHistory(loss=[0.9, 0.5], grad_norm=[1.0, 0.5], val_loss=[1.0, 0.6])
    if hasattr(history, "weight_norm"):
        history.weight_norm = []
    with pytest.raises(ValueError, match=re.escape("plot_dashboard: history has no weight_norm values, needed "
                                                   "for panel (d)")):
        plot_dashboard(history)
    with pytest.raises(ValueError, match=re.escape("plot_dashboard: history must have one grad_norm and one "
                                                   "weight_norm per epoch, got 2 and 3")):
        plot_dashboard({"loss": [1, 2], "grad_norm": [1, 2], "weight_norm": [1, 2, 3]})
    with pytest.raises(TypeError, match=re.escape("plot_dashboard: history must be a History")):
        plot_dashboard([1, 2, 3])


def test_the_dashboard_draws_on_given_axes():
    figure, grid = plt.subplots(2, 2)
    assert plot_dashboard(scratch_history(), axes=grid) is figure
    with pytest.raises(ValueError, match=re.escape("plot_dashboard: axes must hold 4 matplotlib Axes, got 2")):
        plot_dashboard(scratch_history(), axes=grid[0])


@pytest.mark.parametrize("torch_model", [False, True])
def test_weight_and_gradient_histograms_count_every_entry(model, X, torch_model):
    backward(model, X)
    net = scratch.to_torch(model) if torch_model else model
    if torch_model:
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(np.arange(len(X)) % 3)).backward()
    figure = plot_histograms(net, bins=12)
    axes = plot_axes(figure)
    linears = [m for m in model if isinstance(m, scratch.Linear)]
    assert len(axes) == 2 * len(linears)
    for k, layer in enumerate(linears):
        for ax, values, what in ((axes[k], layer.weight.data, "weight"), (axes[len(linears) + k], layer.weight.grad,
                                                                          "gradient")):
            heights = [patch.get_height() for patch in ax.patches]
            np.testing.assert_allclose(heights, np.histogram(values, bins=12)[0], atol=1e-9)
            assert sum(heights) == values.size
            assert ax.get_xlabel() == f"{what} value" and ax.get_ylabel() == "count"
            assert ax.get_title() == f"{['0', '3', '6', '8', '10'][k]} Linear: {what}s"
            assert ax.get_legend().get_texts()[0].get_text() == f"std {np.std(values):.3g}"


@pytest.mark.parametrize("kind", ["weight", "grad"])
@pytest.mark.parametrize("torch_model", [False, True])
def test_heatmaps_show_each_matrix_in_the_course_layout(model, X, kind, torch_model):
    backward(model, X)
    net = scratch.to_torch(model) if torch_model else model
    if torch_model:
        for theirs, ours in zip([m for m in net if isinstance(m, torch.nn.Linear)],
                                [m for m in model if isinstance(m, scratch.Linear)]):
            theirs.weight.grad = torch.from_numpy(ours.weight.grad.T.copy())
    figure = plot_heatmaps(net, kind=kind)
    axes = plot_axes(figure)
    label = "weight" if kind == "weight" else "gradient"
    assert colorbar_labels(figure) == [label] * 5
    for ax, layer in zip(axes, [m for m in model if isinstance(m, scratch.Linear)]):
        matrix = layer.weight.data if kind == "weight" else layer.weight.grad
        (image,) = [im for im in ax.get_images() if isinstance(im, AxesImage)]
        np.testing.assert_allclose(np.asarray(image.get_array()), matrix, rtol=1e-12)
        low, high = image.get_clim()
        assert high == -low == pytest.approx(np.abs(matrix).max())
        assert ax.get_xlabel() == "output unit" and ax.get_ylabel() == "input unit"
        assert ax.get_title().endswith(f"{label}s {matrix.shape[0]}\u00d7{matrix.shape[1]}")


def test_heatmaps_refuse_an_unknown_kind_and_torch_layers_without_gradients(model):
    with pytest.raises(ValueError, match=re.escape("plot_heatmaps: kind must be 'weight' or 'grad', got 'bias'")):
        plot_heatmaps(model, kind="bias")
    with pytest.raises(RuntimeError, match=re.escape("plot_heatmaps: layer '0 Linear' has no gradient yet")):
        plot_heatmaps(scratch.to_torch(model), kind="grad")
    with pytest.raises(RuntimeError, match=re.escape("plot_histograms: layer '0 Linear' has no gradient yet")):
        plot_histograms(scratch.to_torch(model))
