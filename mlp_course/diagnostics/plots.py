"""Figures of the diagnostics: activation histograms over training, update and
gradient ratios, per-layer gradient norms, the training dashboard, weight and
gradient histograms and heatmaps. Each function returns the Figure; pass
``ax``/``axes`` to draw on existing Axes. matplotlib is imported inside the
functions, as in :mod:`mlp_course.plotting`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlp_course.diagnostics.layers import check_model, grad_array, weight_array
from mlp_course.diagnostics.monitor import Monitor, _weight_layers
from mlp_course.plotting import plot_history

#: The rule of thumb for the update-to-data ratio (about 1e-3 per step).
UPDATE_REFERENCE = 1e-3


def _check_monitor(function: str, monitor: Any) -> Monitor:
    if not isinstance(monitor, Monitor):
        raise TypeError(f"{function}: expected a mlp_course.diagnostics.Monitor, got {type(monitor).__name__}")
    if len(monitor.steps) == 0:
        raise ValueError(f"{function}: the monitor has recorded no step yet; call monitor.before_step(step) "
                         f"in the training loop first")
    return monitor


def _axes(function: str, axes: Any, n: int, nrows: int = 1, size: tuple[float, float] = (4.0, 3.2)) -> list:
    """``n`` Axes: the ones given (one Axes or a sequence), or a new figure of ``nrows`` rows."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if axes is None:
        ncols = -(-n // nrows)
        fig, grid = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                                 layout="constrained")
        flat = list(grid.flat)
        for extra in flat[n:]:
            extra.set_axis_off()
        return flat[:n]
    flat = [axes] if isinstance(axes, Axes) else list(np.ravel(np.asarray(axes, dtype=object)))
    if len(flat) != n or not all(isinstance(a, Axes) for a in flat):
        raise ValueError(f"{function}: axes must hold {n} matplotlib Axes, got {len(flat)} item(s) "
                         f"of type(s) {sorted({type(a).__name__ for a in flat})}")
    return flat


def _step_edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges around each step (half-way between neighbours), for pcolormesh."""
    steps = np.asarray(steps, dtype=np.float64)
    if len(steps) == 1:
        return np.array([steps[0] - 0.5, steps[0] + 0.5])
    middle = (steps[1:] + steps[:-1]) / 2
    return np.concatenate([[2 * steps[0] - middle[0]], middle, [2 * steps[-1] - middle[-1]]])


def plot_activation_histograms(monitor: Monitor, axes: Any = None):
    """One image per activation layer: x = step, y = activation value (the
    monitor's bins), colour = log(1 + count) of the probe's outputs."""
    function = "plot_activation_histograms"
    _check_monitor(function, monitor)
    histograms = monitor.histograms
    if not histograms or len(monitor.hist_steps) == 0:
        raise ValueError(f"{function}: the monitor has recorded no histogram; create it with a probe batch, "
                         f"Monitor(model, probe=X_probe), and a model with activation layers")
    names = list(histograms)
    axes_list = _axes(function, axes, len(names), size=(3.6, 3.2))
    edges = _step_edges(monitor.hist_steps)
    for ax, name in zip(axes_list, names):
        image = np.log1p(histograms[name].T.astype(np.float64))
        mesh = ax.pcolormesh(edges, monitor.bins, image, cmap="magma", shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label="log(1 + count)")
        ax.set_xlabel("step")
        ax.set_ylabel("activation value")
        ax.set_title(name)
    figure = axes_list[0].figure
    if axes is None:
        figure.suptitle("Activation histograms on the probe batch")
    return figure


_RATIO_KINDS = {
    "update": ("update_to_data", "log10(std of update / std of weights)", "Update-to-data ratio per layer"),
    "grad": ("grad_to_data", "log10(std of gradient / std of weights)", "Gradient-to-data ratio per layer"),
}


def plot_ratios(monitor: Monitor, kind: str = "update", ax: Any = None):
    """log10 of the update-to-data (``kind="update"``) or gradient-to-data
    (``kind="grad"``) ratio of each weight layer over the steps; the update
    plot has the 1e-3 reference line."""
    function = "plot_ratios"
    if kind not in _RATIO_KINDS:
        raise ValueError(f"{function}: kind must be 'update' or 'grad', got {kind!r}")
    _check_monitor(function, monitor)
    attribute, ylabel, title = _RATIO_KINDS[kind]
    (ax,) = _axes(function, ax, 1, size=(6.0, 3.6))
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, ratio in getattr(monitor, attribute).items():
            ax.plot(monitor.steps, np.log10(ratio), label=name)
    if kind == "update":
        ax.axhline(np.log10(UPDATE_REFERENCE), color="black", ls="--", lw=1, label="1e-3 (rule of thumb)")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax.figure


def plot_layer_grad_norms(monitor: Monitor, ax: Any = None):
    """The gradient norm of each weight layer over the steps, on a log scale."""
    function = "plot_layer_grad_norms"
    _check_monitor(function, monitor)
    (ax,) = _axes(function, ax, 1, size=(6.0, 3.6))
    for name, norms in monitor.grad_norm.items():
        ax.plot(monitor.steps, norms, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm of the weights")
    ax.set_title("Gradient norm per layer")
    ax.legend(fontsize="small")
    return ax.figure


def _curves(function: str, history: Any, name: str) -> dict[str, list[float]]:
    """The curves of a scratch History, a torch TrainHistory or a dict of lists."""
    if isinstance(history, Mapping):
        curves = {key: list(values) for key, values in history.items()}
    elif hasattr(history, "as_dict"):  # torch_training.TrainHistory
        curves = history.as_dict()
        curves["weight_norm"] = list(getattr(history, "weight_norm", None) or [])
    elif hasattr(history, "loss"):
        curves = {key: list(getattr(history, key, None) or [])
                  for key in ("loss", "val_loss", "accuracy", "val_accuracy", "grad_norm", "weight_norm")}
    else:
        raise TypeError(f"{function}: {name} must be a History (mlp_course.training.fit), a TrainHistory "
                        f"(mlp_course.torch_training.fit) or a dict of lists, got {type(history).__name__}")
    if not curves.get("loss"):
        raise ValueError(f"{function}: {name} has no loss values (no epoch recorded)")
    return curves


def _placeholder(ax: Any, title: str, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_dashboard(history: Any, regression_history: Any = None, axes: Any = None):
    """The 2x2 training dashboard: (a) train/validation loss, (b) train/validation
    accuracy, (c) a regression run's train/validation MSE on a log y-scale,
    (d) gradient norm against weight norm, one point per epoch coloured by epoch.

    ``history`` (and ``regression_history``): a scratch ``History``, a torch
    ``TrainHistory`` (with ``weight_norm``) or a dict of lists with the same keys.
    """
    function = "plot_dashboard"
    curves = _curves(function, history, "history")
    grad, weight = curves.get("grad_norm") or [], curves.get("weight_norm") or []
    if not weight:
        raise ValueError(f"{function}: history has no weight_norm values, needed for panel (d); a History from "
                         f"mlp_course.training.fit or a TrainHistory from mlp_course.torch_training.fit "
                         f"(release 0.4.0) records them")
    if len(grad) != len(weight):
        raise ValueError(f"{function}: history must have one grad_norm and one weight_norm per epoch, got "
                         f"{len(grad)} and {len(weight)}")
    regression = None if regression_history is None else _curves(function, regression_history, "regression_history")
    a, b, c, d = _axes(function, axes, 4, nrows=2, size=(5.0, 3.6))

    plot_history(curves, ("loss",), axes=a)
    a.set_title("(a) Loss")
    if curves.get("accuracy") or curves.get("val_accuracy"):
        plot_history(curves, ("accuracy",), axes=b)
        b.set_title("(b) Accuracy")
    else:
        _placeholder(b, "(b) Accuracy", "no accuracy recorded\n(a regression loss)")
    if regression is not None:
        plot_history(regression, ("loss",), axes=c)
        c.set_yscale("log")
        c.set_ylabel("MSE (log scale)")
        c.set_title("(c) Regression run: MSE")
    else:
        _placeholder(c, "(c) Regression run: MSE", "no regression run given")
    epochs = np.arange(1, len(grad) + 1)
    d.plot(weight, grad, color="0.7", lw=0.8, zorder=1)
    points = d.scatter(weight, grad, c=epochs, cmap="viridis", s=22, zorder=2, label="one point per epoch")
    d.figure.colorbar(points, ax=d, label="epoch")
    d.set_xlabel("weight norm")
    d.set_ylabel("gradient norm")
    d.set_title("(d) Gradient norm against weight norm")
    d.legend(fontsize="small")
    return a.figure


def plot_histograms(model: Any, bins: int | Sequence[float] = 30, axes: Any = None):
    """Histograms of every weight layer's weights (top row) and weight
    gradients (bottom row); the legend gives each standard deviation."""
    function = "plot_histograms"
    check_model(function, model)
    layers = _weight_layers(function, model)
    grads = [grad_array(layer, function) for layer in layers]
    axes_list = _axes(function, axes, 2 * len(layers), nrows=2, size=(3.4, 2.8))
    top, bottom = axes_list[:len(layers)], axes_list[len(layers):]
    for layer, grad, ax_w, ax_g in zip(layers, grads, top, bottom):
        for ax, values, what, colour in ((ax_w, weight_array(layer), "weight", "C0"),
                                         (ax_g, grad, "gradient", "C1")):
            values = np.ravel(values)
            ax.hist(values, bins=bins, color=colour, label=f"std {np.std(values):.3g}")
            ax.set_xlabel(f"{what} value")
            ax.set_ylabel("count")
            ax.set_title(f"{layer.name}: {what}s")
            ax.locator_params(axis="x", nbins=4)
            ax.legend(fontsize="small")
    if axes is None:
        top[0].figure.suptitle("Weights and their gradients, per layer")
    return top[0].figure


def plot_heatmaps(model: Any, kind: str = "weight", axes: Any = None):
    """One heatmap per weight layer of its weights (``kind="weight"``) or their
    gradients (``kind="grad"``), in the course's layout: rows = inputs,
    columns = outputs; a colour scale symmetric around 0."""
    function = "plot_heatmaps"
    if kind not in ("weight", "grad"):
        raise ValueError(f"{function}: kind must be 'weight' or 'grad', got {kind!r}")
    check_model(function, model)
    layers = _weight_layers(function, model)
    matrices = [weight_array(layer) if kind == "weight" else grad_array(layer, function) for layer in layers]
    axes_list = _axes(function, axes, len(layers), size=(3.4, 3.2))
    label = "weight" if kind == "weight" else "gradient"
    for layer, matrix, ax in zip(layers, matrices, axes_list):
        vmax = float(np.max(np.abs(matrix))) or 1.0
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.figure.colorbar(image, ax=ax, label=label)
        ax.set_xlabel("output unit")
        ax.set_ylabel("input unit")
        ax.set_title(f"{layer.name}: {label}s {matrix.shape[0]}\u00d7{matrix.shape[1]}")
    if axes is None:
        axes_list[0].figure.suptitle(f"{label.capitalize()}s per layer (rows: inputs, columns: outputs)")
    return axes_list[0].figure
