"""Per-layer gradient and update statistics over training steps: the Monitor,
and ``layer_grad_norms`` for a single look after a backward pass."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from mlp_course.diagnostics.activations import to_numpy
from mlp_course.diagnostics.layers import Layer, activation_layers, check_model, grad_array, weight_array, weight_layers
from mlp_course.diagnostics.probe import _check_input, probe_forward


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.vdot(a, a)))


def _norm_and_std(a: np.ndarray) -> tuple[float, float]:
    """The L2 norm and the standard deviation of all entries, from one sum and
    one dot product (several times faster than ``np.std``); ``np.var`` when
    the mean is so large against the spread that this shortcut would lose
    digits."""
    if not a.flags.c_contiguous and a.T.flags.c_contiguous:
        a = a.T  # torch's layout: the same entries, without a copy
    n = a.size
    square = float(np.vdot(a, a)) / n
    mean = float(a.sum()) / n
    variance = square - mean * mean
    if mean * mean > 0.5 * square:
        variance = float(np.var(a))
    return math.sqrt(square * n), math.sqrt(max(variance, 0.0))


def _divide(top: float, bottom: float) -> float:
    """top / bottom; inf (or NaN for 0 / 0) when bottom is 0."""
    if bottom == 0:
        return math.nan if top == 0 or math.isnan(top) else math.inf
    return top / bottom


def _weight_layers(function: str, model: Any) -> list[Layer]:
    check_model(function, model)
    layers = weight_layers(model)
    if not layers:
        raise ValueError(f"{function}: the model has no weight layer (Linear of mlp_course.scratch or torch.nn)")
    return layers


def layer_grad_norms(model: Any) -> dict[str, float]:
    """The L2 norm of each weight layer's weight gradient (biases left out):
    layer name (e.g. ``"0 Linear"``) -> norm. Call it after the backward pass."""
    layers = _weight_layers("layer_grad_norms", model)
    return {layer.name: _norm(grad_array(layer, "layer_grad_norms")) for layer in layers}


def check_bins(function: str, bins: Any) -> np.ndarray:
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: bins must be a 1-D array of bin edges, got {type(bins).__name__}") from None
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(
            f"{function}: bins must be at least 2 finite, strictly increasing bin edges, "
            f"e.g. np.linspace(-1, 1, 51); got {np.array2string(np.ravel(edges), threshold=6)}"
        )
    return edges


class ClippedHistogram:
    """Counts of values in the bins ``edges`` (half-open bins, the last one
    closed, as ``np.histogram``), with values outside the edges counted in the
    first or last bin. Equal-width bins are counted with one ``np.bincount`` on
    the bin indices (fast; a value within rounding error of an inner edge may
    land in the bin next to the one ``np.histogram`` picks); other bins with
    ``np.searchsorted``."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.n_bins = len(edges) - 1
        widths = np.diff(edges)
        self.uniform = bool(np.allclose(widths, widths[0], rtol=1e-9, atol=0))
        self.low, self.high = float(edges[0]), float(edges[-1])
        self.scale = self.n_bins / (self.high - self.low)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        x = np.clip(np.ravel(values), self.low, self.high)
        if self.uniform:
            x -= self.low  # x is a new array: work in place
            x *= self.scale
            index = x.astype(np.intp)
        else:
            index = np.searchsorted(self.edges, x, side="right") - 1
        np.minimum(index, self.n_bins - 1, out=index)  # the last bin includes its right edge
        return np.bincount(index, minlength=self.n_bins)


class Monitor:
    """Records, at training steps, per weight layer: the gradient norm, the
    grad-to-data ratio std(dW)/std(W), the weight norm and the update-to-data
    ratio std(W_new - W_old)/std(W_old); and every ``every`` recorded steps the
    histogram of every activation layer's output on the ``probe`` batch.

    >>> monitor = Monitor(model, probe=X_probe, bins=np.linspace(-1, 1, 51), every=1)
    >>> # in the loop, after loss.backward():
    >>> monitor.before_step(step)   # gradients, weights, histograms
    >>> optimizer.step()
    >>> monitor.after_step()        # the update the step made

    Results (NumPy arrays): ``steps``; ``grad_norm``, ``grad_to_data``,
    ``update_to_data``, ``weight_norm`` (dicts: weight-layer name -> one value
    per recorded step; ``update_to_data`` is NaN for a step whose
    ``after_step`` was not called); ``histograms`` (activation-layer name ->
    counts of shape ``(len(hist_steps), len(bins) - 1)``; values outside the
    bins are counted in the end bins), ``hist_steps``, ``bins``.
    Histograms are taken at the 1st, (1 + every)-th, ... call of
    ``before_step``. The probe pass changes nothing in the model (see
    :func:`~mlp_course.diagnostics.record_activations`).
    """

    def __init__(self, model: Any, probe: Any = None, bins: Any = None, every: int = 1) -> None:
        self._torch = check_model("Monitor", model)
        self.model = model
        self._weight_layers = _weight_layers("Monitor", model)
        self._activation_layers = activation_layers(model)
        self.bins = check_bins("Monitor", np.linspace(-1, 1, 51) if bins is None else bins)
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"Monitor: every must be a positive integer, got {every!r}")
        self.every = int(every)
        self.probe = None if probe is None else _check_input("Monitor", model, probe, self._torch)
        self._histogram = ClippedHistogram(self.bins)
        names = [layer.name for layer in self._weight_layers]
        self._steps: list[Any] = []
        self._grad_norm: dict[str, list[float]] = {name: [] for name in names}
        self._grad_to_data: dict[str, list[float]] = {name: [] for name in names}
        self._weight_norm: dict[str, list[float]] = {name: [] for name in names}
        self._update_to_data: dict[str, list[float]] = {name: [] for name in names}
        self._hist: dict[str, list[np.ndarray]] = {layer.name: [] for layer in self._activation_layers}
        self._hist_steps: list[Any] = []
        self._snapshot: list[tuple[np.ndarray, float]] | None = None

    # -- names -------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        """The activation layers' names (keys of ``histograms``)."""
        return [layer.name for layer in self._activation_layers]

    @property
    def weight_layer_names(self) -> list[str]:
        """The weight layers' names (keys of the ratio dicts)."""
        return [layer.name for layer in self._weight_layers]

    # -- recording ---------------------------------------------------------------------
    def before_step(self, step: Any) -> None:
        """Call after the backward pass, before ``optimizer.step()``."""
        snapshot = []
        for layer in self._weight_layers:
            w = weight_array(layer)
            g = grad_array(layer, "Monitor.before_step")
            grad_norm, grad_std = _norm_and_std(g)
            weight_norm, weight_std = _norm_and_std(w)
            self._grad_norm[layer.name].append(grad_norm)
            self._grad_to_data[layer.name].append(_divide(grad_std, weight_std))
            self._weight_norm[layer.name].append(weight_norm)
            self._update_to_data[layer.name].append(float("nan"))  # filled in by after_step
            snapshot.append((np.array(w, copy=True, order="K"), weight_std))
        if self.probe is not None and self._activation_layers and len(self._steps) % self.every == 0:
            self._record_histograms()
            self._hist_steps.append(step)
        self._steps.append(step)
        self._snapshot = snapshot

    def _record_histograms(self) -> None:
        counts: dict[str, np.ndarray] = {}

        def count(layer: Layer, output: Any) -> None:
            counts[layer.name] = self._histogram(to_numpy(output))

        probe_forward("Monitor.before_step", self.model, self.probe, self._activation_layers, count,
                      check_input=False)
        for name, values in counts.items():
            self._hist[name].append(values)

    def after_step(self) -> None:
        """Call right after ``optimizer.step()``: records the update-to-data ratio."""
        if self._snapshot is None:
            raise RuntimeError(
                "Monitor.after_step: no weights to compare with; call monitor.before_step(step) "
                "before optimizer.step() and monitor.after_step() after it, once per step"
            )
        for layer, (before, before_std) in zip(self._weight_layers, self._snapshot):
            update_std = _norm_and_std(weight_array(layer) - before)[1]
            self._update_to_data[layer.name][-1] = _divide(update_std, before_std)
        self._snapshot = None

    # -- results -----------------------------------------------------------------------
    @property
    def steps(self) -> np.ndarray:
        return np.asarray(self._steps)

    @property
    def hist_steps(self) -> np.ndarray:
        return np.asarray(self._hist_steps)

    @staticmethod
    def _arrays(values: dict[str, list[float]]) -> dict[str, np.ndarray]:
        return {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}

    @property
    def grad_norm(self) -> dict[str, np.ndarray]:
        return self._arrays(self._grad_norm)

    @property
    def grad_to_data(self) -> dict[str, np.ndarray]:
        return self._arrays(self._grad_to_data)

    @property
    def update_to_data(self) -> dict[str, np.ndarray]:
        return self._arrays(self._update_to_data)

    @property
    def weight_norm(self) -> dict[str, np.ndarray]:
        return self._arrays(self._weight_norm)

    @property
    def histograms(self) -> dict[str, np.ndarray]:
        n_bins = len(self.bins) - 1
        return {name: np.array(v, dtype=np.int64).reshape(len(v), n_bins) for name, v in self._hist.items()}

    def __repr__(self) -> str:
        return (f"Monitor({len(self._steps)} steps, {len(self._weight_layers)} weight layers, "
                f"{len(self._hist_steps)} histograms of {len(self._activation_layers)} activation layers)")
