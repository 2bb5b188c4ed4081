"""Figures the chapters draw again and again: network diagrams, decision
boundaries and training curves.

matplotlib is imported inside the functions, so ``import mlp_course`` stays light.
Every function draws on the Axes it is given (or on a new figure) and returns
what it drew on, so a chapter can add to the figure afterwards.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    from matplotlib.axes import Axes

_INPUT_COLOUR = "#0072B2"   # the course palette (mlp_course.notebook.COLOURS): C0, C2, C3
_HIDDEN_COLOUR = "#009E73"
_OUTPUT_COLOUR = "#D55E00"
_BIAS_COLOUR = "#8C8C8C"


def _new_axes(figsize: tuple[float, float] | None = None) -> "Axes":
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_axes(function: str, ax: Any) -> None:
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"{function}: ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def _is_positive_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= 1


# --------------------------------------------------------------------------
# Network diagrams
# --------------------------------------------------------------------------


def _default_layer_names(n_layers: int) -> list[str]:
    if n_layers == 2:
        return ["input", "output"]
    return ["input"] + [f"hidden {k}" for k in range(1, n_layers - 1)] + ["output"]


def _shown_positions(size: int, max_neurons: int) -> tuple[np.ndarray, float | None]:
    """Vertical positions of the circles drawn for a layer of ``size`` neurons,
    centred on 0, and where the ellipsis goes (``None`` when all are drawn)."""
    if size <= max_neurons:
        return np.arange(size)[::-1] - (size - 1) / 2, None
    top = (max_neurons + 1) // 2
    bottom = max_neurons - top
    # One empty slot between the two groups holds the vertical ellipsis.
    slots = np.arange(max_neurons + 1)[::-1] - max_neurons / 2
    return np.concatenate([slots[:top], slots[top + 1:]]), float(slots[top])


def _check_node_labels(node_labels: Any, sizes: list[int], max_neurons: int) -> list[list[str] | None]:
    if node_labels is None:
        return [None] * len(sizes)
    per_layer = list(node_labels)
    if len(per_layer) != len(sizes):
        raise ValueError(
            f"draw_network: node_labels must hold {len(sizes)} entries, one per layer (None for a "
            f"layer without labels), got {len(per_layer)}"
        )
    checked: list[list[str] | None] = []
    for k, (texts, size) in enumerate(zip(per_layer, sizes)):
        if texts is None:
            checked.append(None)
            continue
        texts = list(texts)
        if len(texts) != size or not all(isinstance(t, str) for t in texts):
            raise ValueError(
                f"draw_network: node_labels[{k}] must be {size} strings, one per neuron, got {texts!r}"
            )
        if size > max_neurons:
            raise ValueError(
                f"draw_network: layer {k} has {size} neurons but only {max_neurons} are drawn; "
                f"label only layers drawn in full"
            )
        checked.append(texts)
    return checked


def _check_weight_labels(
    weight_labels: Any, sizes: list[int], max_neurons: int, show_bias: bool
) -> dict[tuple[int, int | str, int], str]:
    if weight_labels is None:
        return {}
    if not isinstance(weight_labels, Mapping):
        raise TypeError(
            f"draw_network: weight_labels must be a dict {{(layer, from, to): text}}, "
            f"got {type(weight_labels).__name__}"
        )
    checked = {}
    for key, text in weight_labels.items():
        ok = isinstance(key, tuple) and len(key) == 3 and isinstance(text, str)
        if ok:
            k, i, j = key
            ok = (isinstance(k, int) and 0 <= k < len(sizes) - 1
                  and isinstance(j, int) and 0 <= j < sizes[k + 1]
                  and (i == "bias" or (isinstance(i, int) and 0 <= i < sizes[k])))
        if not ok:
            raise ValueError(
                f"draw_network: weight_labels key {key!r} must be (layer k, neuron i of layer k or "
                f"'bias', neuron j of layer k + 1), with a string as its text; got {key!r}: {text!r}"
            )
        if i == "bias" and not show_bias:
            raise ValueError("draw_network: a weight label for a bias line needs show_bias=True")
        if sizes[k + 1] > max_neurons or (i != "bias" and sizes[k] > max_neurons):
            raise ValueError(
                f"draw_network: weight_labels key {key!r} is in a layer not drawn in full "
                f"(more than max_neurons={max_neurons} neurons)"
            )
        checked[(k, i, j)] = text
    return checked


def draw_network(
    layer_sizes: Sequence[int],
    ax: "Axes | None" = None,
    labels: Sequence[str] | None = None,
    max_neurons: int = 8,
    title: str | None = None,
    show_bias: bool = False,
    node_labels: Sequence[Sequence[str] | None] | None = None,
    weight_labels: Mapping[tuple[int, int | str, int], str] | None = None,
) -> "Axes":
    """Draw a fully connected network: one circle per neuron, one line per weight.

    * ``layer_sizes``: neurons per layer, input first, e.g. ``[784, 512, 10]``.
    * ``labels``: a name per layer; the default is ``input``, ``hidden 1``, ...,
      ``output``. The true size is always added below the name, e.g. ``(784)``.
    * ``max_neurons``: a layer with more neurons shows this many circles and a
      vertical ellipsis in the middle (at least 2).
    * ``show_bias``: add a bias node "1" above every layer but the last, wired
      to every neuron of the next layer with dashed lines.
    * ``node_labels``: per layer, ``None`` or one text per neuron, written in
      its circle, e.g. ``[["$x_1$", "$x_2$"], None]``. A labelled layer must be
      drawn in full (at most ``max_neurons`` neurons).
    * ``weight_labels``: texts written on lines, keyed ``(k, i, j)`` for the
      weight from neuron ``i`` of layer ``k`` to neuron ``j`` of layer ``k + 1``
      (all counted from 0); ``i = "bias"`` names the dashed line from the bias
      node (needs ``show_bias``). E.g. ``{(0, 0, 0): "$w_1$", (0, "bias", 0): "$b$"}``.

    Solid lines are weights, dashed lines biases. Returns the Axes (a new
    figure is made when ``ax`` is ``None``).
    """
    if isinstance(layer_sizes, np.ndarray) and layer_sizes.ndim == 1:
        layer_sizes = layer_sizes.tolist()
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(
            f"draw_network: layer_sizes must be a list of positive integers such as [2, 4, 1], "
            f"got {type(layer_sizes).__name__} {layer_sizes!r}"
        )
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"draw_network: a network needs at least an input and an output layer, "
            f"got layer_sizes={sizes!r}"
        )
    bad = [s for s in sizes if not _is_positive_int(s)]
    if bad:
        raise ValueError(
            f"draw_network: every layer size must be a positive integer, got {bad[0]!r} in {sizes!r}"
        )
    if not _is_positive_int(max_neurons) or max_neurons < 2:
        raise ValueError(f"draw_network: max_neurons must be an integer >= 2, got {max_neurons!r}")
    if labels is None:
        names = _default_layer_names(len(sizes))
    else:
        names = list(labels)
        if len(names) != len(sizes) or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"draw_network: labels must be {len(sizes)} strings, one per layer, got {labels!r}"
            )
    node_texts = _check_node_labels(node_labels, sizes, max_neurons)
    edge_texts = _check_weight_labels(weight_labels, sizes, max_neurons, show_bias)
    _check_axes("draw_network", ax)
    if ax is None:
        ax = _new_axes((max(4.0, 1.6 * len(sizes)), 3.6))

    shown = [_shown_positions(int(s), max_neurons) for s in sizes]
    tallest = max(len(ys) + (gap is not None) for ys, gap in shown)
    marker_size = float(np.clip(2200 / tallest, 60, 400))
    colours = [_INPUT_COLOUR] + [_HIDDEN_COLOUR] * (len(sizes) - 2) + [_OUTPUT_COLOUR]

    for x, ((ys, _), (next_ys, _)) in enumerate(zip(shown[:-1], shown[1:])):
        for y0 in ys:
            for y1 in next_ys:
                ax.plot([x, x + 1], [y0, y1], color="0.6", lw=0.6, alpha=0.7, zorder=1)
    top = max(ys.max() for ys, _ in shown)
    if show_bias:
        bias_y = top + 1.2
        for x, (next_ys, _) in enumerate(shown[1:]):
            for y1 in next_ys:
                ax.plot([x, x + 1], [bias_y, y1], color=_BIAS_COLOUR, lw=0.6, ls="--", alpha=0.7, zorder=1)
            ax.scatter([x], [bias_y], s=marker_size, marker="s", color="white",
                       edgecolors=_BIAS_COLOUR, linewidths=1.5, zorder=3)
            ax.text(x, bias_y, "1", ha="center", va="center", fontsize=9, color=_BIAS_COLOUR, zorder=4)
        ax.text(0, bias_y + 0.6, "bias", ha="center", va="bottom", fontsize=9, color=_BIAS_COLOUR)
        top = bias_y + 0.8
    bottom = min(ys.min() for ys, _ in shown)
    for x, ((ys, gap), colour, name, size) in enumerate(zip(shown, colours, names, sizes)):
        ax.scatter(np.full(len(ys), x), ys, s=marker_size, color=colour,
                   edgecolors="black", linewidths=0.8, zorder=3)
        if gap is not None:
            ax.text(x, gap, "\u22ee", ha="center", va="center", fontsize=16, zorder=4)
        ax.text(x, bottom - 0.9, f"{name}\n({size:,})", ha="center", va="top", fontsize=10)
        for y_neuron, text in zip(ys, node_texts[x] or ()):
            ax.text(x, y_neuron, text, ha="center", va="center", fontsize=11, color="white", zorder=4)
    for (k, i, j), text in edge_texts.items():
        y0 = bias_y if i == "bias" else shown[k][0][i]
        y1 = shown[k + 1][0][j]
        # Where the line is along its length: 40% of the way, so that the
        # labels of lines that meet in one neuron do not pile up there.
        t = 0.4
        ax.text(k + t, y0 + t * (y1 - y0), text, ha="center", va="center", fontsize=10, zorder=5,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))

    ax.set_xlim(-0.6, len(sizes) - 0.4)
    ax.set_ylim(bottom - 2.6, top + 0.8)
    ax.set_axis_off()
    ax.set_title(title if title is not None else "Architecture " + "-".join(str(s) for s in sizes))
    return ax


# --------------------------------------------------------------------------
# Decision boundaries
# --------------------------------------------------------------------------


def _check_xy(function: str, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray):
        raise TypeError(
            f"{function}: X and y must be NumPy arrays, got {type(X).__name__} and {type(y).__name__}"
        )
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{function}: X must have shape (n_samples, 2) (two features to plot), got {X.shape}"
        )
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"{function}: y must have shape ({len(X)},), one label per row of X, got {y.shape}"
        )
    if len(X) == 0:
        raise ValueError(f"{function}: X is empty")
    if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
        raise ValueError(f"{function}: X must hold finite numbers")
    return X, y


def _grid_predictions(predict: Callable, grid: np.ndarray) -> np.ndarray:
    out = np.asarray(predict(grid))
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    elif out.ndim == 2 and out.shape == (len(grid), out.shape[1]):
        out = np.argmax(out, axis=1)  # one score per class: take the best class
    if out.shape != (len(grid),):
        raise ValueError(
            f"plot_decision_boundary: predict must return one value per row, shape ({len(grid)},) "
            f"or ({len(grid)}, 1) (or one score per class), got shape {out.shape}"
        )
    if not np.issubdtype(out.dtype, np.number) and out.dtype != bool:
        raise ValueError(f"plot_decision_boundary: predict must return numbers, got dtype {out.dtype}")
    return out.astype(np.float64)


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    ax: "Axes | None" = None,
    resolution: int = 200,
    title: str | None = None,
    feature_names: tuple[str, str] = ("$x_1$", "$x_2$"),
    class_names: Sequence[str] | None = None,
    colorbar: bool = True,
    colorbar_label: str = "P(class 1 | x)",
) -> "Axes":
    """Colour the plane by ``predict`` and draw the data on top.

    ``predict`` takes an array of shape ``(m, 2)`` and returns, for every row,
    either the probability of class 1 (two classes; the 0.5 contour is drawn as
    the decision boundary, and a colour bar labelled ``colorbar_label`` explains
    the shading), a class label, or a row of class scores (the arg-max is used).
    The grid covers the data with a margin.
    """
    if not callable(predict):
        raise TypeError(f"plot_decision_boundary: predict must be a function, got {type(predict).__name__}")
    X, y = _check_xy("plot_decision_boundary", X, y)
    if not _is_positive_int(resolution) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an integer >= 2, got {resolution!r}")
    classes = np.unique(y)
    if class_names is not None and len(class_names) != len(classes):
        raise ValueError(
            f"plot_decision_boundary: class_names must name the {len(classes)} classes in y "
            f"({classes.tolist()}), got {len(class_names)} names"
        )
    _check_axes("plot_decision_boundary", ax)
    if ax is None:
        ax = _new_axes()
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    lows, highs = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * np.maximum(highs - lows, 1e-9) + 0.25
    g1 = np.linspace(lows[0] - margin[0], highs[0] + margin[0], resolution)
    g2 = np.linspace(lows[1] - margin[1], highs[1] + margin[1], resolution)
    G1, G2 = np.meshgrid(g1, g2)
    grid = np.column_stack([G1.ravel(), G2.ravel()]).astype(X.dtype if X.dtype.kind == "f" else np.float64)
    values = _grid_predictions(predict, grid).reshape(G1.shape)

    two_classes = len(classes) <= 2
    cmap = plt.get_cmap("RdBu_r")
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]  # the course's COLOURS after setup_notebook

    def class_colour(i: int):
        return cmap(0.05 if i == 0 else 0.95) if two_classes else cycle[i % len(cycle)]

    extra_handles = []
    probabilities = two_classes and values.min() >= 0 and values.max() <= 1
    if probabilities:
        filled = ax.contourf(G1, G2, values, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.55)
        if values.min() < 0.5 < values.max():
            ax.contour(G1, G2, values, levels=[0.5], colors="black", linewidths=1.5)
            extra_handles.append(Line2D([], [], color="black", lw=1.5, label="decision boundary"))
        if colorbar:
            ax.figure.colorbar(filled, ax=ax, label=colorbar_label, ticks=np.linspace(0, 1, 6))
    else:
        edges = np.concatenate([[classes[0] - 0.5], (classes[:-1] + classes[1:]) / 2, [classes[-1] + 0.5]])
        ax.contourf(G1, G2, values, levels=edges, colors=[class_colour(i) for i in range(len(classes))],
                    alpha=0.35)

    markers = "os^vDP*X"
    for i, c in enumerate(classes):
        colour = class_colour(i)
        name = class_names[i] if class_names is not None else f"class {c}"
        ax.scatter(X[y == c, 0], X[y == c, 1], s=28, color=colour, marker=markers[i % len(markers)],
                   edgecolors="black", linewidths=0.6, label=name, zorder=3)
    ax.set_xlim(g1[0], g1[-1])
    ax.set_ylim(g2[0], g2[-1])
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.grid(False)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + extra_handles, loc="best", framealpha=0.9)
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------

_METRIC_LABELS = {
    "loss": "loss",
    "accuracy": "accuracy",
    "grad_norm": "gradient norm",
    "weight_norm": "weight norm",
}


def _history_values(history: Any, key: str) -> list[float]:
    if isinstance(history, Mapping):
        return list(history.get(key, []))
    return list(getattr(history, key, []) or [])


def plot_history(
    history: Any,
    metrics: Sequence[str] = ("loss", "accuracy"),
    axes: "Axes | Sequence[Axes] | None" = None,
    label: str | None = None,
    first_epoch: int = 1,
) -> list["Axes"]:
    """Plot training curves of a :class:`mlp_course.training.History`, one Axes per metric.

    Training values are solid, validation values (``val_<metric>``) dashed in
    the same colour. Call it again with the returned axes and another ``label``
    to overlay a second run. ``history`` may also be a dict of lists with the
    same keys. Metrics: ``loss``, ``accuracy``, ``grad_norm``, ``weight_norm``.

    The values of each list belong to epochs ``first_epoch``, ``first_epoch + 1``,
    ...: 1 (the default) for values measured after each epoch, as ``fit``
    records them; 0 for a list that starts with the value before training.
    A legend is drawn only when there is something to tell apart: validation
    curves, or runs with a ``label``.
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = list(metrics)
    if not metrics:
        raise ValueError("plot_history: metrics is empty; name at least one, e.g. ('loss',)")
    unknown = [m for m in metrics if m not in _METRIC_LABELS]
    if unknown:
        raise ValueError(
            f"plot_history: unknown metric {unknown[0]!r}; choose from {sorted(_METRIC_LABELS)}"
        )
    if not isinstance(history, Mapping) and not hasattr(history, "loss"):
        raise TypeError(
            f"plot_history: history must be a History (from mlp_course.training.fit) or a dict "
            f"of lists, got {type(history).__name__}"
        )
    if isinstance(first_epoch, bool) or not isinstance(first_epoch, numbers.Integral) or first_epoch < 0:
        raise ValueError(f"plot_history: first_epoch must be an integer >= 0, got {first_epoch!r}")
    for metric in metrics:
        if not _history_values(history, metric) and not _history_values(history, "val_" + metric):
            raise ValueError(
                f"plot_history: history has no {metric!r} values"
                + (" (accuracy is only recorded for classification losses)" if metric == "accuracy" else "")
            )
    if axes is None:
        import matplotlib.pyplot as plt

        _, new_axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4),
                                   layout="constrained", squeeze=False)
        axes_list = list(new_axes[0])
    else:
        from matplotlib.axes import Axes

        axes_list = [axes] if isinstance(axes, Axes) else list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes_list) != len(metrics) or not all(isinstance(a, Axes) for a in axes_list):
            raise ValueError(
                f"plot_history: axes must hold one matplotlib Axes per metric "
                f"({len(metrics)} for {metrics}), got {len(axes_list)} item(s)"
            )

    prefix = f"{label} " if label else ""
    for ax, metric in zip(axes_list, metrics):
        train = _history_values(history, metric)
        val = _history_values(history, "val_" + metric)
        colour = None
        if train:
            # Without validation values "train" tells nothing apart: only a run label is shown.
            train_label = f"{prefix}train" if val else label
            (line,) = ax.plot(first_epoch + np.arange(len(train)), train, label=train_label)
            colour = line.get_color()
        if val:
            ax.plot(first_epoch + np.arange(len(val)), val, ls="--", color=colour, label=f"{prefix}validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(_METRIC_LABELS[metric])
        ax.set_title(_METRIC_LABELS[metric].capitalize())
        if ax.get_legend_handles_labels()[1]:
            ax.legend()
    return axes_list


# --------------------------------------------------------------------------
# Image grids
# --------------------------------------------------------------------------


def show_images(
    images: Any,
    labels: Sequence[Any] | None = None,
    *,
    image_shape: tuple[int, int] = (28, 28),
    ncols: int = 10,
    predictions: Sequence[Any] | None = None,
    title: str | None = None,
    cmap: str = "gray_r",
) -> np.ndarray:
    """Draw flattened images in a grid, each titled by its label.

    ``images`` has shape ``(n, height * width)`` (or ``(n, height, width)``).
    With ``predictions`` each title reads ``label -> prediction``, in red when
    they differ. Returns the 2-D array of Axes.
    """
    import matplotlib.pyplot as plt

    array = np.asarray(images)
    height, width = image_shape
    if array.ndim == 2 and array.shape[1] == height * width:
        array = array.reshape(len(array), height, width)
    if array.ndim != 3 or array.shape[1:] != (height, width) or len(array) == 0:
        raise ValueError(
            f"show_images: images must have shape (n, {height * width}) or (n, {height}, {width}) "
            f"with n >= 1, got {np.shape(images)}"
        )
    n = len(array)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and len(values) != n:
            raise ValueError(f"show_images: {name} must have one entry per image ({n}), got {len(values)}")
    if not _is_positive_int(ncols):
        raise ValueError(f"show_images: ncols must be a positive integer, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.3 * nrows + (0.3 if title else 0)),
                             squeeze=False, layout="constrained")
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(array[k], cmap=cmap)
        if labels is not None and predictions is not None:
            wrong = predictions[k] != labels[k]
            ax.set_title(f"{labels[k]} \u2192 {predictions[k]}", fontsize=9, color="C3" if wrong else "black")
        elif labels is not None:
            ax.set_title(str(labels[k]), fontsize=9)
    if title:
        fig.suptitle(title)
    return axes
